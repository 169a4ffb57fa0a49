// Talos backup: a consistent etcd snapshot from the first control plane (`talosctl etcd snapshot`), the
// secrets bundle the cluster's PKI comes from, and each node's rendered machine config, as bundle parts.
// Nothing stays on a node (the snapshot streams to the runner) and nothing on the cluster changes.
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { BackupManifest } from '../../../lifecycle/backup/manifest.js'
import type { PartInput } from '../../../lifecycle/backup/bundle.js'
import { PhaseError } from '../../../errors.js'
import type { PhaseContext } from '../../../phases/types.js'
import { serverTag } from '../answers.js'
import { serverVersionArgv } from '../argv.js'
import { renderConfigs } from '../configs.js'
import { talosCtx } from '../factory.js'
import { workDir } from '../secrets.js'
import { talosAccess } from './access.js'
import { lastLines, parseSnapshotSaved } from './answers.js'
import { etcdSnapshotArgv } from './argv.js'

const PHASE = 'backup'
const RESUME = 're-run the backup; nothing on the cluster was changed'

export interface TalosBackup {
  datastore: 'etcd'
  versions: BackupManifest['versions']
  parts: PartInput[]
}

export async function backupTalos(ctx: PhaseContext, name: string): Promise<TalosBackup> {
  const c = talosCtx(ctx).cluster
  const first = c.nodes.find((n) => n.role === 'controlplane') ?? c.nodes[0]
  const a = await talosAccess(ctx, PHASE)
  const file = join(await workDir(ctx), `${name}.snapshot`)
  await rm(file, { force: true })
  const r = await a.talosctl.run(etcdSnapshotArgv(first.ip, a.talosconfig, file), { timeoutMs: 300_000 })
  const saved = r.code === 0 ? parseSnapshotSaved(r.stdout) : undefined
  if (!saved)
    throw new PhaseError(
      PHASE,
      first.id,
      `talosctl etcd snapshot on ${first.ip} failed (exit ${r.code}): ${lastLines(`${r.stdout}\n${r.stderr}`)}`,
      RESUME,
      { code: 'TalosSnapshot' }
    )
  const snapshot = await readFile(file)
  await rm(file, { force: true })
  if (snapshot.length !== saved.bytes)
    throw new PhaseError(
      PHASE,
      first.id,
      `talosctl said ${saved.bytes} bytes were saved but the snapshot file holds ${snapshot.length}`,
      RESUME,
      { code: 'TalosSnapshot' }
    )
  ctx.reporter.info(
    `${first.id}: etcd snapshot, ${snapshot.length} bytes (hash ${saved.hash}, revision ${saved.revision}, ${saved.keys} keys)`
  )
  const version = await a.talosctl.run(serverVersionArgv(first.ip, a.talosconfig), { timeoutMs: 60_000 })
  const talos = (version.code === 0 && serverTag(version.stdout)) || c.talos_version
  // The configs a deploy of this file applies, so a lost node can be configured again by hand.
  const configs = await renderConfigs(ctx, a.talosctl, a.bundlePath, c.nodes)
  const parts: PartInput[] = [
    { path: 'etcd/snapshot.db', kind: 'etcd-snapshot', node: first.id, data: snapshot },
    { path: 'talos/secrets.yaml', kind: 'talos-secrets', data: await readFile(a.bundlePath) }
  ]
  for (const n of c.nodes)
    parts.push({
      path: `talos/${n.id}.yaml`,
      kind: 'machine-config',
      node: n.id,
      data: await readFile(configs.get(n.id)!.path)
    })
  return {
    datastore: 'etcd',
    versions: { talos, ...(c.kubernetes_version ? { kubernetes: c.kubernetes_version } : {}) },
    parts
  }
}
