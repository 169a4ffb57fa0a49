// Talos restore, the disaster-recovery procedure of the Talos docs: every control plane of the file has its
// EPHEMERAL partition reset (etcd's data goes, the machine config stays) and reboots; once each reports
// etcd `Preparing`, the first is bootstrapped with `--recover-from` the backup's snapshot (its hash
// checked), the others join it, and the run waits for `talosctl health`. Workers keep running. Called only
// after every check of the bundle passed.
import { chmod, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { NodeSpec } from '../../../config/model.js'
import { PhaseError } from '../../../errors.js'
import type { BackupManifest } from '../../../lifecycle/backup/manifest.js'
import type { PhaseContext } from '../../../phases/types.js'
import { bootstrapRetryable } from '../answers.js'
import { talosCtx } from '../factory.js'
import { waitHealthy } from '../join-phase.js'
import { workDir } from '../secrets.js'
import { pollUntil, talosAccess, type TalosAccess } from './access.js'
import { lastLines, recoveredFrom, serviceState } from './answers.js'
import { etcdServiceArgv, recoverArgv, resetArgv } from './argv.js'

const PHASE = 'restore'
const RESUME =
  're-run the restore with the same backup: control planes still Preparing are bootstrapped from it, and a reset is repeated only where etcd runs'

const bytesOf = (manifest: BackupManifest, files: ReadonlyMap<string, Buffer>, kind: string): Buffer =>
  files.get(manifest.parts.find((p) => p.kind === kind)!.path)!

async function etcdState(a: TalosAccess, node: NodeSpec): Promise<{ state?: string; seen: string }> {
  const r = await a.talosctl.run(etcdServiceArgv(node.ip, a.talosconfig), { timeoutMs: 30_000 })
  return { state: r.code === 0 ? serviceState(r.stdout) : undefined, seen: lastLines(`${r.stdout}\n${r.stderr}`, 1) }
}

export async function restoreTalos(
  ctx: PhaseContext,
  manifest: BackupManifest,
  files: ReadonlyMap<string, Buffer>
): Promise<string[]> {
  const c = talosCtx(ctx).cluster
  const cps = c.nodes.filter((n) => n.role === 'controlplane')
  const first = cps[0]!
  const bundle = bytesOf(manifest, files, 'talos-secrets').toString('utf8')
  // The nodes run the PKI of the talos-secrets input; a backup under another PKI would not be trusted by
  // them (nor its snapshot's service-account keys by the apiserver): refused before anything changes.
  const input = ctx.settings.secrets.talosSecrets
  if (input && input.trim() !== bundle.trim())
    throw new PhaseError(
      PHASE,
      undefined,
      "restore refused before any change: the backup's secrets bundle (talos/secrets.yaml) is not the talos-secrets input, so the backup is of a cluster with another PKI than the nodes of this file",
      "restore a backup of this cluster; for a cluster rebuilt after a loss, deploy it (reflash: true) with the backup's talos/secrets.yaml as the talos-secrets input, then restore",
      { code: 'RestoreRefused' }
    )
  const a = await talosAccess(ctx, PHASE, bundle)
  const done: string[] = []
  const step = (s: string): void => {
    done.push(s)
    ctx.reporter.info(s)
  }
  // Every control plane is reset at once: one left running would take the others back into the old cluster.
  const before = await Promise.all(cps.map((n) => etcdState(a, n)))
  const resets = await Promise.all(
    cps.map((n, i) =>
      before[i]!.state === 'Preparing'
        ? Promise.resolve(undefined)
        : a.talosctl.run(
            resetArgv({ ip: n.ip, talosconfig: a.talosconfig, graceful: false, reboot: true, labels: ['EPHEMERAL'] }),
            { timeoutMs: 120_000 }
          )
    )
  )
  for (const [i, r] of resets.entries())
    if (r && r.code !== 0)
      throw new PhaseError(
        PHASE,
        cps[i]!.id,
        `talosctl reset --system-labels-to-wipe EPHEMERAL on ${cps[i]!.ip} failed (exit ${r.code}): ${lastLines(`${r.stdout}\n${r.stderr}`)}`,
        RESUME,
        { code: 'TalosReset' }
      )
  // The reset happens after the API answered: wait for each to come back with etcd waiting for a bootstrap.
  await Promise.all(
    cps.map(async (n) => {
      let last = { seen: 'no answer yet' } as { state?: string; seen: string }
      const ok = await pollUntil(ctx, c.boot_timeout * 1000, async () => {
        last = await etcdState(a, n)
        return last.state === 'Preparing'
      })
      if (!ok)
        throw new PhaseError(
          PHASE,
          n.id,
          `etcd on ${n.ip} did not reach Preparing within boot_timeout ${c.boot_timeout} s after the EPHEMERAL reset; last seen: ${last.state ? `STATE ${last.state}` : last.seen}`,
          RESUME,
          { code: 'TalosNotPreparing' }
        )
      step(`${n.id}: EPHEMERAL reset, etcd Preparing`)
    })
  )
  const file = join(await workDir(ctx), 'recover.snapshot')
  await writeFile(file, bytesOf(manifest, files, 'etcd-snapshot'), { mode: 0o600 })
  await chmod(file, 0o600)
  try {
    const end = Date.now() + c.bootstrap_timeout * 1000
    for (;;) {
      const r = await a.talosctl.run(recoverArgv(first.ip, a.talosconfig, file), { timeoutMs: 300_000 })
      const text = `${r.stdout}\n${r.stderr}`
      if (r.code === 0) {
        step(
          `${first.id}: etcd recovered from the ${manifest.name} snapshot (${recoveredFrom(r.stdout) ?? 'hash checked'})`
        )
        break
      }
      if (!bootstrapRetryable(text) || Date.now() >= end)
        throw new PhaseError(
          PHASE,
          first.id,
          `talosctl bootstrap --recover-from on ${first.ip} failed (exit ${r.code}): ${lastLines(text)}`,
          RESUME,
          { code: 'TalosRecover' }
        )
      await ctx.deps.sleep(3000)
    }
  } finally {
    await rm(file, { force: true })
  }
  const record = ctx.state.cluster()
  record.talosBootstrapped = first.ip
  await ctx.state.save()
  await waitHealthy(ctx, a.talosctl, a.talosconfig)
  step(`cluster healthy: ${cps.length} control plane(s) in etcd, ${c.nodes.length} node(s) ready`)
  return done
}
