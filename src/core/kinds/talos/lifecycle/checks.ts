// What a Talos restore needs from a backup before it touches a node: the etcd snapshot, the secrets bundle
// (the control planes' PKI: etcd and the apiserver trust nothing else, and the restore reaches the nodes
// with it), and the same Talos minor as the cluster file. Pure.
import { parse } from 'yaml'
import type { Cluster } from '../../../config/model.js'
import { minorOf, partOf, type BackupManifest } from '../../../lifecycle/backup/manifest.js'

type TalosCluster = Extract<Cluster, { kind: 'talos' }>

function looksLikeBundle(data: Buffer): boolean {
  try {
    const doc = parse(data.toString('utf8')) as { cluster?: { id?: unknown }; certs?: { etcd?: unknown } }
    return typeof doc?.cluster?.id === 'string' && doc.certs?.etcd !== undefined
  } catch {
    return false
  }
}

export function talosRestoreProblems(
  cluster: Cluster,
  manifest: BackupManifest,
  files: ReadonlyMap<string, Buffer>
): string[] {
  const problems: string[] = []
  if (!partOf(manifest, files, 'etcd-snapshot')) problems.push('the backup has no etcd snapshot')
  const bundle = partOf(manifest, files, 'talos-secrets')?.data
  if (!bundle)
    problems.push(
      'the backup has no Talos secrets bundle; the control planes trust only the PKI the snapshot was taken under, and the restore reaches them with it, so it is refused'
    )
  else if (!looksLikeBundle(bundle))
    problems.push(
      'the backup\'s talos/secrets.yaml is not a Talos secrets bundle (no cluster.id or certs.etcd); expected the output of "talosctl gen secrets"'
    )
  const have = manifest.versions?.talos
  const want = (cluster as TalosCluster).talos_version
  if (minorOf(have) !== minorOf(want))
    problems.push(
      `the backup was taken on talos ${have ?? '(unknown)'}, the cluster file has ${want}; restore onto the same minor version (${minorOf(have) ?? '?'}), then upgrade`
    )
  return problems
}
