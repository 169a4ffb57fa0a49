// What a Talos upgrade needs from the lab, on both sides of the emulated API:
// - node side (called from node-api.mjs): `upgrade` honours the faults a test set on the node (the new
//   image does not boot and the A/B scheme falls back to the old one; the node never comes back),
//   `bootid` (a new id each boot, what talosctl's --wait compares), `etcdstatus` (this member's view) and
//   `upgradek8s` (the Kubernetes version of every member's kubelet and control-plane images, live);
// - client side (called from command.mjs): `talosctl upgrade --wait --timeout`, `talosctl etcd status`
//   and `talosctl upgrade-k8s --to`.
// The node's etcd data flag lives in its state and survives the upgrade reboot, so it rejoins etcd as the
// member it was (membership kept); a reflash still wipes it.
// Before it reboots, the node cordons and drains itself in the cluster's Kubernetes objects, as Talos' upgrade
// sequence does: an eviction a PodDisruptionBudget refuses is retried every 5 s until the drain time-out,
// then Talos logs a warning and goes on (the pod dies with the reboot); talosctl sees none of it, its --wait
// simply runs into its --timeout meanwhile. Once the node is back, the cordon Talos made is lifted.
import { randomUUID } from 'node:crypto'
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { splitConfig, joinConfig } from './docs.mjs'
import * as registry from './cluster.mjs'
import { STATE_FILE, updateState } from '../../kube/store.mjs'
import { budgetStatus } from '../../upgrade/kubectl-verbs.mjs'

const rpc = (code, desc) => ({ error: { code, desc } })
const DEFAULT_SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'

// ---- faults ------------------------------------------------------------------------------------------

const faultFile = (stateDir) => join(stateDir, 'talos', 'upgrade-fault')

/** 'fallback': the next upgrades reboot into the old image; 'never-back': the node does not come back. */
export function setUpgradeFault(stateDir, fault) {
  mkdirSync(join(stateDir, 'talos'), { recursive: true })
  writeFileSync(faultFile(stateDir), fault)
}
export function clearUpgradeFault(stateDir) {
  rmSync(faultFile(stateDir), { force: true })
}
const faultOf = (stateDir) => (existsSync(faultFile(stateDir)) ? readFileSync(faultFile(stateDir), 'utf8').trim() : '')

/** A node that did not come back from an upgrade serves nothing until it is powered off and on again. */
export function halted(api) {
  return api.state.halted === true
}
/** Power off: the next boot is a clean one (the fault, if still set, applies to the next upgrade only). */
export function clearHalt(stateDir) {
  const file = join(stateDir, 'talos', 'state.json')
  if (!existsSync(file)) return
  const state = JSON.parse(readFileSync(file, 'utf8'))
  delete state.halted
  writeFileSync(file, JSON.stringify(state, null, 2))
  rmSync(join(stateDir, 'talos', 'not-ready'), { force: true })
}

// ---- node side ---------------------------------------------------------------------------------------

export function bootId(api) {
  api.bootId ??= randomUUID()
  return { bootId: api.bootId, tag: api.version }
}

/**
 * The installer image names the version (tag) and, from the factory, the schematic; the config stays.
 * With the fallback fault the image is "installed" but the node boots its previous system again, as
 * Talos' A/B scheme does when the new one fails to boot.
 */
export function upgrade(api, { image }) {
  const version = /:(v\d+\.\d+\.\d+[^:/]*)$/.exec(image ?? '')?.[1]
  if (!version) return rpc('InvalidArgument', `invalid installer image reference: "${image}"`)
  if (api.role === 'controlplane' && !etcdQuorumKeptWithout(api))
    return rpc('FailedPrecondition', 'etcd quorum would be lost if this member goes down: upgrade refused')
  api.o.uart(`[talos] upgrade request received: "${image}"`)
  const kubeDir = kubeDirOf(api)
  if (!kubeDir) {
    install(api, image, version)
    return { ack: 'Upgrade request received' }
  }
  // The request is acknowledged at once; the sequence (cordon, drain, install, reboot) runs on its own.
  const cordoned = cordonNode(kubeDir, api.hostname)
  void drainNode(api, kubeDir).then(() => {
    install(api, image, version)
    if (cordoned) uncordonWhenBack(api, kubeDir)
  })
  return { ack: 'Upgrade request received' }
}

function install(api, image, version) {
  const schematicId = /^factory\.talos\.dev\/[a-z-]*installer\/([0-9a-f]{64}):/.exec(image)?.[1] ?? DEFAULT_SCHEMATIC
  const fault = faultOf(api.o.stateDir)
  if (fault === 'fallback') {
    api.o.uart('[talos] the new image failed to boot: falling back to the previous boot entry')
  } else {
    api.state.upgraded = { version, schematicId }
  }
  if (fault === 'never-back') {
    api.state.halted = true
    mkdirSync(api.dir, { recursive: true })
    writeFileSync(join(api.dir, 'not-ready'), '')
  }
  api.save()
  setTimeout(() => api.o.onReboot('upgrade'), 5)
}

// ---- the node's own cordon and drain -----------------------------------------------------------------

/** Talos' drain: evictions refused by a budget are retried every retryMs, until timeoutMs (tests shorten both). */
export const drainTiming = { retryMs: 5_000, timeoutMs: 5 * 60_000 }
const CORDONED = 'talos.dev/cordoned'

/** The cluster's Kubernetes objects (lab/talos/kube.ts keeps them under the bootstrap node's folder). */
function kubeDirOf(api) {
  for (const m of registry.clusterMembers(api.clusterId).values()) {
    const dir = join(m.o.stateDir, 'talos', 'kube')
    if (existsSync(join(dir, STATE_FILE))) return dir
  }
  return undefined
}

/** Marks the node unschedulable, noting that Talos did it; false when it already was (someone else's). */
function cordonNode(kubeDir, name) {
  return updateState(kubeDir, (state) => {
    const node = state.objects[`/nodes//${name}`]
    if (!node || node.spec?.unschedulable) return false
    node.spec = { ...(node.spec ?? {}), unschedulable: true }
    node.metadata.annotations = { ...(node.metadata.annotations ?? {}), [CORDONED]: 'true' }
    state.resourceVersion += 1
    node.metadata.resourceVersion = String(state.resourceVersion)
    return true
  })
}

const selects = (pdb, pod) =>
  Object.entries(pdb.spec?.selector?.matchLabels ?? {}).every(([k, v]) => pod.metadata.labels?.[k] === v)

/**
 * One pass over the node's pods: evicts (deletes) each pod with a controller other than a DaemonSet whose
 * budgets allow a disruption; returns the ones a budget refused ("namespace/name").
 */
function evictPass(kubeDir, name) {
  return updateState(kubeDir, (state) => {
    const refused = []
    for (const [key, pod] of Object.entries(state.objects)) {
      if (!key.startsWith('/pods/') || pod.spec?.nodeName !== name) continue
      const owner = (pod.metadata.ownerReferences ?? []).find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0]
      if (!owner || owner.kind === 'DaemonSet') continue
      const budgets = Object.entries(state.objects)
        .filter(([k]) => k.startsWith(`policy/poddisruptionbudgets/${pod.metadata.namespace}/`))
        .map(([, b]) => b)
        .filter((b) => selects(b, pod))
      if (budgets.some((b) => budgetStatus(state, b).disruptionsAllowed < 1)) {
        refused.push(`${pod.metadata.namespace}/${pod.metadata.name}`)
        continue
      }
      delete state.objects[key]
      state.resourceVersion += 1
    }
    return refused
  })
}

async function drainNode(api, kubeDir) {
  const deadline = Date.now() + drainTiming.timeoutMs
  for (;;) {
    const refused = evictPass(kubeDir, api.hostname)
    if (!refused.length) return
    if (Date.now() >= deadline) {
      for (const pod of refused)
        api.o.uart(`[talos] WARNING: failed to evict pod: failed to evict pod ${pod}: context deadline exceeded`)
      return
    }
    await new Promise((r) => setTimeout(r, Math.min(drainTiming.retryMs, Math.max(1, deadline - Date.now()))))
  }
}

/** Talos lifts its own cordon once the node is back and Ready (a node that never comes back keeps it). */
function uncordonWhenBack(api, kubeDir) {
  const ip = api.o.lanIp()
  const id = api.clusterId
  const give = Date.now() + 10 * 60_000
  const look = () => {
    const now = registry.clusterMembers(id).get(ip)
    // Each boot is a new node API object: the one that asked for the upgrade is the old boot.
    if (now && now !== api && now.stage === 'running' && !now.notReady() && !halted(now)) {
      updateState(kubeDir, (state) => {
        const node = state.objects[`/nodes//${now.hostname}`]
        if (node?.metadata.annotations?.[CORDONED] !== 'true') return
        delete node.spec.unschedulable
        delete node.metadata.annotations[CORDONED]
        state.resourceVersion += 1
        node.metadata.resourceVersion = String(state.resourceVersion)
      })
      return
    }
    if (Date.now() < give) setTimeout(look, 100).unref()
  }
  setTimeout(look, 50).unref()
}

/** Members of this node's cluster that are control planes holding etcd data (running or not known). */
function etcdMembers(api) {
  return [...registry.clusterMembers(api.clusterId).values()].filter((n) => n.hasEtcd())
}

/** Talos refuses an upgrade that would take etcd below quorum (its own etcd health check). */
function etcdQuorumKeptWithout(api) {
  const running = etcdMembers(api).filter((n) => n.stage === 'running')
  const total = Math.max(running.length, api.state.etcdMembers ?? 0)
  return total === 1 || running.filter((n) => n !== api).length >= Math.floor(total / 2) + 1
}

/** The lowest kubelet version among the members (what upgrade-k8s detects when --from is not given). */
export function lowestKubernetes(api) {
  const versions = [...registry.clusterMembers(api.clusterId).values()].map(kubernetesOf).filter(Boolean)
  const key = (v) => v.slice(1).split('.').map(Number)
  versions.sort((a, b) => {
    const [x, y] = [key(a), key(b)]
    return x[0] - y[0] || x[1] - y[1] || x[2] - y[2]
  })
  return { version: versions[0] ?? 'unknown' }
}

export function etcdStatus(api) {
  if (api.role !== 'controlplane') return rpc('FailedPrecondition', 'etcd is not available on worker nodes')
  if (!api.hasEtcd()) return rpc('Unavailable', 'etcd is not running on this node')
  const members = etcdMembers(api)
  // Remembered so a later quorum check knows the member count while some members reboot.
  api.state.etcdMembers = Math.max(api.state.etcdMembers ?? 0, members.length)
  api.save()
  const leader = members.map((m) => m.o.lanIp()).sort()[0]
  return {
    memberId: memberId(api.o.lanIp()),
    dbSize: '2.1 MB',
    inUse: '1.4 MB (66%)',
    leader: memberId(leader),
    raftIndex: 4000 + api.state.applies,
    raftTerm: 2,
    learner: false,
    errors: members.length < Math.floor((api.state.etcdMembers ?? 1) / 2) + 1 ? ['etcdserver: no leader'] : []
  }
}

const memberId = (ip) =>
  [...String(ip)]
    .reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
    .toString(16)
    .padStart(16, '0')

/**
 * upgrade-k8s: every member's kubelet image and, on control planes, the control-plane component images
 * move to `to` (a live config change, as upgrade-k8s patches the running machine configs). Nodes already
 * there are left alone, so a re-run resumes. Answers the per-node lines talosctl prints.
 */
export function upgradeK8s(api, { from, to }) {
  if (api.role !== 'controlplane') return rpc('FailedPrecondition', 'upgrade-k8s must target a control plane node')
  const lines = [`automatically detected the lowest Kubernetes version ${from}`, `upgrading ${from} -> ${to}`]
  const members = [...registry.clusterMembers(api.clusterId).values()]
  const order = [
    ...members.filter((m) => m.role === 'controlplane'),
    ...members.filter((m) => m.role !== 'controlplane')
  ]
  for (const m of order) {
    const { main, typed } = splitConfig(m.state.config)
    const kubelet = main.machine.kubelet ?? (main.machine.kubelet = {})
    const current = /:(v[\d.]+)$/.exec(String(kubelet.image ?? ''))?.[1]
    if (current === to) {
      lines.push(` > "${m.o.lanIp()}": kubelet is already at ${to}, skipped`)
      continue
    }
    kubelet.image = `ghcr.io/siderolabs/kubelet:${to}`
    if (m.role === 'controlplane')
      for (const [key, repo] of [
        ['apiServer', 'registry.k8s.io/kube-apiserver'],
        ['controllerManager', 'registry.k8s.io/kube-controller-manager'],
        ['scheduler', 'registry.k8s.io/kube-scheduler'],
        ['proxy', 'registry.k8s.io/kube-proxy']
      ]) {
        main.cluster[key] = { ...(main.cluster[key] ?? {}), image: `${repo}:${to}` }
      }
    m.state.config = joinConfig(main, typed)
    m.state.applies++
    m.save()
    m.o.onChange?.(m)
    lines.push(` > "${m.o.lanIp()}": kubelet image updated to ${to}`)
  }
  return { lines }
}

export function kubernetesOf(api) {
  return /:(v[\d.]+)$/.exec(String(splitConfig(api.state.config ?? '').main?.machine?.kubelet?.image ?? ''))?.[1]
}

// ---- client side (talosctl) ---------------------------------------------------------------------------

/**
 * talosctl upgrade. With --wait (talosctl's legacy path, Talos < 1.13): wait until the node's boot id
 * changed and it is ready again, or fail at --timeout; without it, the acknowledgement table.
 */
export async function upgradeCommand(io, flags, { call, auth, nodesOf, fail, table, sleep, duration, RpcError }) {
  if (!flags.image) fail('required flag(s) "image" not set')
  const a = auth(io, flags)
  const rows = []
  for (const node of nodesOf(flags, a)) {
    const before = flags.wait ? await call(node, 'bootid', {}, a, io.env) : undefined
    try {
      await call(node, 'upgrade', { image: flags.image }, a, io.env)
    } catch (e) {
      if (e instanceof RpcError) fail(`error performing upgrade: ${e.message}`)
      throw e
    }
    if (flags.wait) {
      const end = Date.now() + duration(flags.timeout ?? '30m0s')
      io.out(`${node}: upgrade request received\n`)
      for (;;) {
        const now = await call(node, 'bootid', {}, a, io.env).catch(() => undefined)
        if (now && now.bootId !== before.bootId) {
          const status = await call(node, 'machinestatus', {}, a, io.env).catch(() => undefined)
          if (status?.ready) {
            io.out(`${node}: post check passed\n`)
            break
          }
        }
        if (Date.now() >= end || io.signal?.aborted)
          fail(`1 error occurred:\n\t* ${node}: context deadline exceeded (waiting for the node to come back)`)
        await sleep(Number(io.env.TALOSCTL_LAB_HEALTH_POLL_MS ?? 200), io.signal)
      }
      continue
    }
    rows.push([
      node,
      'Upgrade request received',
      new Date()
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' +0000 UTC')
    ])
  }
  if (!flags.wait) io.out(table(['NODE', 'ACK', 'STARTED'], rows))
}

/** talosctl etcd status: one row per node asked; a node that cannot answer is an error after the table. */
export async function etcdStatusCommand(io, flags, { call, auth, nodesOf, fail, table }) {
  const a = auth(io, flags)
  const rows = []
  const errors = []
  for (const node of nodesOf(flags, a)) {
    try {
      const s = await call(node, 'etcdstatus', {}, a, io.env)
      rows.push([
        node,
        s.memberId,
        s.dbSize,
        s.inUse,
        s.leader,
        String(s.raftIndex),
        String(s.raftTerm),
        String(s.raftIndex),
        String(s.learner),
        s.errors.join(', ')
      ])
    } catch (e) {
      errors.push(`${node}: ${e.message}`)
    }
  }
  io.out(
    table(
      [
        'NODE',
        'MEMBER',
        'DB SIZE',
        'IN USE',
        'LEADER',
        'RAFT INDEX',
        'RAFT TERM',
        'RAFT APPLIED INDEX',
        'LEARNER',
        'ERRORS'
      ],
      rows
    )
  )
  if (errors.length) fail(`${errors.length} error(s) occurred:\n\t* ${errors.join('\n\t* ')}`)
}

/** talosctl upgrade-k8s --to [--from]: against one control plane, which walks every member. */
export async function upgradeK8sCommand(io, flags, { call, auth, nodesOf, fail }) {
  if (!flags.to) fail('required flag(s) "to" not set')
  const a = auth(io, flags)
  const [node] = nodesOf(flags, a)
  const to = flags.to.startsWith('v') ? flags.to : `v${flags.to}`
  const from = flags.from ?? (await call(node, 'kubernetes', {}, a, io.env)).version
  try {
    const r = await call(node, 'upgradek8s', { from, to }, a, io.env)
    io.out(r.lines.join('\n') + '\n')
  } catch (e) {
    fail(`error upgrading Kubernetes: ${e.message}`)
  }
}
