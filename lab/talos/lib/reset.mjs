// `talosctl reset` on an emulated Talos node. The API answers first and the node resets after, as Talos
// does (a caller must wait for what it needs: etcd Preparing, the API gone). graceful (the default) leaves
// etcd first (a control plane's member is removed through the others; the only member cannot leave);
// --system-labels-to-wipe wipes only those partitions (EPHEMERAL: etcd data and what Kubernetes kept there;
// STATE: the machine config), otherwise every partition is wiped and the node comes back in maintenance
// mode. --reboot boots again; without it the node shuts down (its API goes away; the BMC still reports
// the slot powered, so the caller powers it off).
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { leaveEtcd, wipeEtcd } from './etcd-ops.mjs'

const rpc = (code, desc) => ({ error: { code, desc } })
const LABELS = ['STATE', 'EPHEMERAL', 'META']

export async function resetNode(api, { graceful = true, reboot = false, systemLabelsToWipe = [] } = {}) {
  const unknown = systemLabelsToWipe.filter((l) => !LABELS.includes(l))
  if (unknown.length) return rpc('InvalidArgument', `failed to reset: system partition "${unknown[0]}" not found`)
  if (graceful && api.role === 'controlplane') {
    const refused = await leaveEtcd(api).catch((e) => `failed to leave etcd: ${e.message.split('\n')[0]}`)
    if (refused) return rpc('FailedPrecondition', refused)
  }
  const wipe = systemLabelsToWipe.length ? systemLabelsToWipe : LABELS
  api.o.uart(`[talos] reset request received: graceful ${graceful}, reboot ${reboot}, wipe ${wipe.join(',')}`)
  setTimeout(() => void finish(api, wipe, reboot), 5)
  return {}
}

async function finish(api, wipe, reboot) {
  // Off the cluster first (the registry keys on the config the wipe may remove), then the partitions.
  await api.stop()
  if (wipe.includes('EPHEMERAL')) {
    // The cluster's ConfigMaps live in etcd and go with it. The lab Kubernetes API's token and serving
    // certificate stay: on Talos they come from the machine config's PKI (STATE), not from EPHEMERAL.
    await wipeEtcd(api)
    rmSync(join(api.dir, 'not-ready'), { force: true })
  }
  if (wipe.includes('STATE')) {
    api.state = { config: undefined, staged: undefined, etcd: false, applies: 0 }
    api.save()
  }
  if (reboot) api.o.onReboot('reset')
  else api.o.uart('[talos] shutdown sequence complete, powering off')
}
