// What a backup holds and how restore proves it is the right one, whole and usable before touching anything:
// manifest.json names the cluster, its kind and versions, its nodes, when it was taken, and the sha256 of
// every other file in the bundle.
import { createHash } from 'node:crypto'
import type { Cluster } from '../../config/model.js'

export const BACKUP_FORMAT = 'turingpi-cluster-backup/1'
export const MANIFEST = 'manifest.json'

export type PartKind = 'etcd-snapshot' | 'sqlite-datastore' | 'k3s-token' | 'talos-secrets' | 'machine-config'

export interface BackupPart {
  /** Path inside the bundle: etcd/snapshot.db, k3s/token, talos/secrets.yaml, talos/<node>.yaml. */
  path: string
  kind: PartKind
  /** The node it came from (snapshot, datastore) or belongs to (machine config). */
  node?: string
  bytes: number
  sha256: string
}

export interface BackupManifest {
  format: typeof BACKUP_FORMAT
  cluster: string
  kind: Cluster['kind']
  /** K3s: etcd (embedded, HA) or sqlite (a single server); Talos: always etcd. */
  datastore: 'etcd' | 'sqlite'
  createdAt: string
  /** `<cluster>-<run>`: the etcd snapshot name on the node, and the workflow run that took it. */
  name: string
  versions: { k3s?: string; talos?: string; kubernetes?: string; action?: string }
  nodes: { id: string; role: 'controlplane' | 'worker'; board: string; slot: number; ip: string }[]
  parts: BackupPart[]
}

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

/** major.minor of a version string (v1.31.3+k3s1 → 1.31), undefined when it has none. */
export function minorOf(version: string | undefined): string | undefined {
  const m = /^v?(\d+)\.(\d+)/.exec(version ?? '')
  return m ? `${m[1]}.${m[2]}` : undefined
}

export interface RestoreExpectation {
  /** The cluster file's name. */
  cluster: string
  /** The `confirm` input: must equal the cluster name. */
  confirm?: string
  kind: Cluster['kind']
  /** The kind's own checks (ClusterKind.lifecycle.restoreProblems), asked when the backup is of this kind. */
  kindProblems?: (manifest: BackupManifest, files: ReadonlyMap<string, Buffer>) => string[]
}

/**
 * Every reason this bundle must not be restored onto this cluster, each naming what was found and what was
 * expected; an empty list means restore may start. Nothing here touches a node. The checks every kind shares
 * are here (confirm, format, cluster, kind, digests); what a kind's restore needs is its own (kindProblems).
 */
export function restoreProblems(
  files: ReadonlyMap<string, Buffer>,
  want: RestoreExpectation
): { manifest?: BackupManifest; problems: string[] } {
  const problems: string[] = []
  if (want.confirm !== want.cluster)
    problems.push(
      `confirm is ${want.confirm ? JSON.stringify(want.confirm) : 'not set'}; a restore replaces the cluster's datastore, so set confirm to the cluster name "${want.cluster}"`
    )
  const raw = files.get(MANIFEST)
  if (!raw)
    return { problems: [...problems, `the backup has no ${MANIFEST}; expected a bundle written by command: backup`] }
  let manifest: BackupManifest
  try {
    manifest = JSON.parse(raw.toString('utf8')) as BackupManifest
  } catch (e) {
    return { problems: [...problems, `${MANIFEST} is not JSON (${(e as Error).message})`] }
  }
  if (manifest.format !== BACKUP_FORMAT)
    problems.push(`${MANIFEST} format is ${JSON.stringify(manifest.format)}, expected "${BACKUP_FORMAT}"`)
  if (manifest.cluster !== want.cluster)
    problems.push(`the backup is of cluster "${manifest.cluster}", the cluster file is "${want.cluster}"`)
  if (manifest.kind !== want.kind)
    problems.push(`the backup is of a ${manifest.kind} cluster, the cluster file is ${want.kind}`)
  const listed = new Set<string>()
  for (const part of manifest.parts ?? []) {
    listed.add(part.path)
    const data = files.get(part.path)
    if (!data) problems.push(`part ${part.path} (${part.kind}) is listed in the manifest but missing from the bundle`)
    else if (sha256(data) !== part.sha256 || data.length !== part.bytes)
      problems.push(
        `part ${part.path} has sha256 ${sha256(data)} (${data.length} bytes), the manifest says ${part.sha256} (${part.bytes} bytes): it was changed after the backup`
      )
  }
  for (const path of files.keys())
    if (path !== MANIFEST && !listed.has(path)) problems.push(`${path} is in the bundle but not in the manifest`)
  if (manifest.kind === want.kind && want.kindProblems) problems.push(...want.kindProblems(manifest, files))
  return { manifest, problems }
}

/** The part of this kind in the manifest whose bytes are in the bundle and not blank, if there is one. */
export function partOf(
  manifest: BackupManifest,
  files: ReadonlyMap<string, Buffer>,
  kind: PartKind
): { part: BackupPart; data: Buffer } | undefined {
  const part = manifest.parts?.find((p) => p.kind === kind)
  const data = part && files.get(part.path)
  return part && data?.toString('utf8').trim() ? { part, data } : undefined
}
