// command: backup — takes the cluster's datastore (and its token or secrets), seals them with a manifest
// into one age-encrypted file and uploads it as the artifact `<cluster>-backup`. Nothing on the cluster
// changes (a K3s on-demand snapshot is deleted from the node once it is in the artifact).
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from '../../errors.js'
import type { PhaseContext } from '../../phases/types.js'
import { lifecycleOf } from '../kind-lifecycle.js'
import {
  artifactNameOf,
  BUNDLE_FILE,
  manifestFor,
  PASSPHRASE_BUNDLE_FILE,
  sealBackup,
  type PartInput
} from './bundle.js'
import type { BackupManifest } from './manifest.js'

export const BACKUP_KEY = 'backup'

export interface BackupResult {
  artifact: string
  id?: number
  /** The sealed files (absolute paths, under the run's temp dir). */
  files: string[]
  bytes: number
  manifest: BackupManifest
  ms: number
}

/** `<cluster>-<run id>`, or `<cluster>-<UTC time>` outside a workflow: a valid k3s snapshot name. */
export function backupName(cluster: string, runId: string | undefined, now = new Date()): string {
  return `${cluster}-${runId ?? now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}`
}

export async function runBackup(ctx: PhaseContext): Promise<BackupResult> {
  const started = Date.now()
  const { cluster, settings, reporter } = ctx
  const recipients = settings.secrets.artifactRecipients
  const passphrase = settings.secrets.artifactPassphrase
  if (!recipients.length && !passphrase)
    throw new ConfigError([
      {
        code: 'BackupUnencrypted',
        severity: 'error',
        path: 'artifact-recipients',
        message:
          'a backup is encrypted before it leaves the runner: set artifact-recipients (age public keys) or artifact-passphrase'
      }
    ])
  const hooks = lifecycleOf(ctx, {
    phase: 'backup',
    what: 'backup',
    code: 'BackupUnsupported',
    byHand: "take one with the kind's own tools (etcd snapshot and the cluster's secrets) and keep it encrypted"
  })
  const name = backupName(cluster.name, settings.runId)
  const { parts, datastore, versions } = await hooks.backup(ctx, name)
  const manifest = manifestFor(
    {
      cluster: cluster.name,
      kind: cluster.kind,
      datastore,
      createdAt: new Date().toISOString(),
      name,
      versions,
      nodes: cluster.nodes.map((n) => ({ id: n.id, role: n.role, board: n.board, slot: n.slot, ip: n.ip }))
    },
    parts
  )
  const artifact = artifactNameOf(cluster.name)
  const folder = join(settings.tempDir, 'encrypted-artifacts', artifact)
  await mkdir(folder, { recursive: true, mode: 0o700 })
  const files: string[] = []
  if (recipients.length) files.push(await seal(join(folder, BUNDLE_FILE), manifest, parts, { recipients }))
  if (passphrase) files.push(await seal(join(folder, PASSPHRASE_BUNDLE_FILE), manifest, parts, { passphrase }))
  let id: number | undefined
  let bytes = 0
  for (const f of files) bytes += (await stat(f)).size
  if (ctx.deps.artifacts) {
    const up = await ctx.deps.artifacts.upload(
      artifact,
      files,
      folder,
      settings.retentionDays ? { retentionDays: settings.retentionDays } : {}
    )
    id = up.id
    reporter.info(
      `artifact ${up.name}: ${files.map((f) => f.split('/').pop()).join(', ')} (age-encrypted, ${bytes} bytes${id !== undefined ? `, id ${id}` : ''})`
    )
  } else reporter.info(`backup written to ${files.join(', ')} (no artifact destination configured)`)
  const result: BackupResult = {
    artifact,
    ...(id !== undefined ? { id } : {}),
    files,
    bytes,
    manifest,
    ms: Date.now() - started
  }
  ctx.outputs.values[BACKUP_KEY] = result
  reporter.info(
    `backup ${name}: ${manifest.parts.map((p) => `${p.path} ${p.bytes} B sha256:${p.sha256.slice(0, 12)}…`).join(', ')}`
  )
  return result
}

async function seal(
  path: string,
  manifest: BackupManifest,
  parts: PartInput[],
  encryption: Parameters<typeof sealBackup>[2]
): Promise<string> {
  await writeFile(path, await sealBackup(manifest, parts, encryption), { mode: 0o600 })
  await chmod(path, 0o600)
  return path
}
