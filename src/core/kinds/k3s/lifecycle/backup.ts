// K3s backup: an etcd snapshot from the first server (embedded etcd) or a consistent copy of a single
// server's SQLite datastore, plus the server token, read over SSH and handed back as bundle parts.
import { PhaseError } from '../../../errors.js'
import type { PartInput } from '../../../lifecycle/backup/bundle.js'
import type { PhaseContext } from '../../../phases/types.js'
import { parseFacts } from '../../../remote/script.js'
import { runChecked, withPool } from '../../../remote/shells.js'
import type { KindBackup } from '../../types.js'
import { topology, type K3sCluster } from '../config.js'
import { etcdSnapshotScript, observeServerScript, readServerTokenScript, sqliteCopyScript } from './scripts.js'

const PHASE = 'backup'
const RESUME = 're-run the backup; nothing on the cluster was changed'

export async function backupK3s(ctx: PhaseContext, name: string): Promise<KindBackup> {
  const cluster = ctx.cluster as K3sCluster
  const first = topology(cluster).first
  return withPool(ctx, PHASE, async (pool) => {
    const shell = await pool.shell(first)
    const facts = parseFacts(
      (await runChecked(shell, PHASE, first, 'looking at the datastore', observeServerScript(), { timeoutMs: 30_000 }))
        .stdout
    )
    if (facts.token !== 'yes')
      throw new PhaseError(
        PHASE,
        first.id,
        'the server has no token (/var/lib/rancher/k3s/server/token): K3s is not installed or never started',
        'deploy the cluster first'
      )
    const token = (
      await runChecked(shell, PHASE, first, 'reading the server token', readServerTokenScript(), { timeoutMs: 30_000 })
    ).stdout.trim()
    ctx.reporter.secret(token)
    const parts: PartInput[] = [{ path: 'k3s/token', kind: 'k3s-token', data: Buffer.from(token + '\n') }]
    let datastore: 'etcd' | 'sqlite'
    if (facts.datastore === 'etcd') {
      datastore = 'etcd'
      const file = (
        await runChecked(shell, PHASE, first, `k3s etcd-snapshot save --name ${name}`, etcdSnapshotScript(name), {
          timeoutMs: 300_000
        })
      ).stdout
        .trim()
        .split('\n')
        .pop()!
      const data = await shell.get(file)
      // An on-demand snapshot is not pruned by k3s's retention: it is in the artifact now, so it goes.
      await shell.exec(`rm -f '${file.replace(/'/g, `'\\''`)}'`, { timeoutMs: 30_000 })
      parts.push({ path: 'etcd/snapshot.db', kind: 'etcd-snapshot', node: first.id, data })
      ctx.reporter.info(`${first.id}: etcd snapshot ${file.split('/').pop()} (${data.length} bytes)`)
    } else if (facts.datastore === 'sqlite') {
      datastore = 'sqlite'
      const dest = `/var/lib/rancher/k3s/server/db/turingpi-backup-${name}.db`
      await runChecked(shell, PHASE, first, 'copying the SQLite datastore', sqliteCopyScript(dest), {
        timeoutMs: 300_000
      })
      const data = await shell.get(dest)
      await shell.exec(`rm -f '${dest}' '${dest}-wal'`, { timeoutMs: 30_000 })
      parts.push({ path: 'sqlite/state.db', kind: 'sqlite-datastore', node: first.id, data })
      ctx.reporter.info(`${first.id}: SQLite datastore copy (${data.length} bytes)`)
    } else {
      throw new PhaseError(
        PHASE,
        first.id,
        'no datastore found: neither server/db/etcd nor server/db/state.db exists',
        RESUME
      )
    }
    const version = facts.version || cluster.k3s_version
    return { datastore, versions: { k3s: version, kubernetes: version.replace(/\+.*$/, '') }, parts }
  })
}
