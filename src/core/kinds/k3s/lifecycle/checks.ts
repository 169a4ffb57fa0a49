// What a K3s restore needs from a backup before it touches a node: the server token the datastore is
// encrypted with, the datastore itself, and the same minor version as the cluster file.
import type { Cluster } from '../../../config/model.js'
import { minorOf, partOf, type BackupManifest } from '../../../lifecycle/backup/manifest.js'
import type { K3sCluster } from '../config.js'

export function k3sRestoreProblems(
  cluster: Cluster,
  manifest: BackupManifest,
  files: ReadonlyMap<string, Buffer>
): string[] {
  const problems: string[] = []
  if (!partOf(manifest, files, 'k3s-token'))
    problems.push(
      'the backup has no K3s server token; a datastore restored without the token it was encrypted with fails ("bootstrap data already found and encrypted with different token"), so it is refused'
    )
  const sqlite = manifest.datastore === 'sqlite'
  if (!manifest.parts?.some((p) => p.kind === (sqlite ? 'sqlite-datastore' : 'etcd-snapshot')))
    problems.push(`the backup has no ${sqlite ? 'SQLite datastore' : 'etcd snapshot'}`)
  const servers = cluster.nodes.filter((n) => n.role === 'controlplane').length
  if (sqlite && servers !== 1)
    problems.push(
      `the backup holds a single server's SQLite datastore, the cluster file has ${servers} servers (embedded etcd); restore it onto a file with one server`
    )
  const have = manifest.versions?.k3s
  const want = (cluster as K3sCluster).k3s_version
  if (minorOf(have) !== minorOf(want))
    problems.push(
      `the backup was taken on k3s ${have ?? '(unknown)'}, the cluster file has ${want}; restore onto the same minor version (${minorOf(have) ?? '?'}), then upgrade`
    )
  return problems
}
