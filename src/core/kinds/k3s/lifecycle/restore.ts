// K3s restore from a checked bundle, in the documented order: every server stopped, the first reset from
// the snapshot with the backup's token, the other servers' datastores cleared so they rejoin, then the
// agents restarted (a single server on SQLite: its state.db replaced while k3s is stopped, then the agents); the cluster is Ready again before the run ends. The node-password Secrets of nodes
// flashed since the backup are deleted before they rejoin, and the kubeconfig is read again afterwards:
// the restored datastore brings back the CA of the backed-up cluster, so the one a deploy published is stale.
import type { NodeSpec } from '../../../config/model.js'
import { partOf, type BackupManifest } from '../../../lifecycle/backup/manifest.js'
import type { PhaseContext } from '../../../phases/types.js'
import { script } from '../../../remote/script.js'
import { runChecked, withPool } from '../../../remote/shells.js'
import { credentialsDir } from '../../../state/credentials.js'
import { waitForApi, waitForCluster } from '../cluster-ops.js'
import { topology, type K3sCluster } from '../config.js'
import { rewriteKubeconfig, writeKubeconfig } from '../kubeconfig.js'
import { changing, firstServerKubeconfig } from '../observation.js'
import { reflashedSince } from './node-passwords.js'
import {
  clusterResetScript,
  DB_DIR,
  deleteNodePasswordsScript,
  rejoinServerScript,
  RESTORE_FILE,
  restartAgentScript,
  SNAPSHOT_DIR,
  SQLITE_RESTORE_FILE,
  sqliteRestoreScript,
  stopScript
} from './scripts.js'

const PHASE = 'restore'

export async function restoreK3s(
  ctx: PhaseContext,
  manifest: BackupManifest,
  files: ReadonlyMap<string, Buffer>
): Promise<string[]> {
  const cluster = ctx.cluster as K3sCluster
  // Both were checked present by k3sRestoreProblems before this runs.
  const token = partOf(manifest, files, 'k3s-token')!.data.toString('utf8').trim()
  ctx.reporter.secret(token)
  const sqlite = manifest.datastore === 'sqlite'
  const datastore = partOf(manifest, files, sqlite ? 'sqlite-datastore' : 'etcd-snapshot')!.data
  const { first } = topology(cluster)
  const servers = cluster.nodes.filter((n) => n.role === 'controlplane')
  const agents = cluster.nodes.filter((n) => n.role === 'worker')
  const done: string[] = []
  // What this run observed before the restore is stale once it starts (kubeconfig, nodes, token).
  for (const node of cluster.nodes) changing(ctx, node)
  const reflashed = reflashedSince(cluster.nodes, ctx.state, manifest)
  await withPool(ctx, PHASE, async (pool) => {
    const step = async (node: NodeSpec, what: string, text: string, stdin?: string): Promise<void> => {
      const started = Date.now()
      await runChecked(await pool.shell(node), PHASE, node, what, text, {
        timeoutMs: 300_000,
        ...(stdin !== undefined ? { stdin } : {})
      })
      done.push(`${node.id}: ${what}`)
      ctx.reporter.info(`${node.id}: ${what} (${((Date.now() - started) / 1000).toFixed(1)} s)`)
    }
    if (sqlite) {
      // A single server (checked): its datastore file replaced while k3s is stopped, the old one kept aside.
      await runChecked(
        await pool.shell(first),
        PHASE,
        first,
        'preparing the datastore folder',
        script({ DIR: DB_DIR }, 'mkdir -p -m 0700 "$DIR"'),
        { timeoutMs: 30_000 }
      )
      await (await pool.shell(first)).put(SQLITE_RESTORE_FILE, datastore, { mode: 0o600 })
      await step(
        first,
        `SQLite datastore replaced by the ${manifest.name} copy (the old one kept as state.db.before-restore-*), started`,
        sqliteRestoreScript(),
        token + '\n'
      )
    } else {
      for (const s of servers) await step(s, 'stopped k3s', stopScript('k3s'))
      // A freshly flashed first server (a lost board, redeployed) has no snapshot folder yet.
      await runChecked(
        await pool.shell(first),
        PHASE,
        first,
        'preparing the snapshot folder',
        script({ DIR: SNAPSHOT_DIR }, 'mkdir -p -m 0700 "$DIR"'),
        { timeoutMs: 30_000 }
      )
      await (await pool.shell(first)).put(RESTORE_FILE, datastore, { mode: 0o600 })
      await step(first, `cluster-reset from the ${manifest.name} snapshot, started`, clusterResetScript(), token + '\n')
    }
    await waitForApi(ctx, pool, PHASE)
    // Before any other node registers again: the Secrets of nodes flashed since the backup are the old install's.
    if (reflashed.length)
      await step(
        first,
        `node-password Secrets of ${reflashed.map((n) => n.id).join(', ')} (flashed after the backup) deleted`,
        deleteNodePasswordsScript(reflashed.map((n) => n.hostname))
      )
    // One at a time: each joins the restored member set before the next asks to.
    for (const s of servers.filter((n) => n.id !== first.id))
      await step(s, 'datastore cleared, rejoined', rejoinServerScript(), token + '\n')
    for (const a of agents) await step(a, 'k3s-agent restarted', restartAgentScript(), token + '\n')
    await waitForCluster(ctx, pool, PHASE)
    const raw = await firstServerKubeconfig(ctx, pool, PHASE)
    ctx.outputs.kubeconfigPath = await writeKubeconfig(
      await credentialsDir(ctx.settings),
      rewriteKubeconfig(raw, ctx.cluster.apiEndpoint)
    )
    done.push(`${first.id}: kubeconfig read again (the restored cluster's CA)`)
  })
  return done
}
