// `k3s etcd-snapshot save` and `k3s server --cluster-reset` of the stand-in, on the node's real etcd member
// (lab/etcd). Wording of the log lines follows k3s's; the checks are k3s's: no etcd on a SQLite server, no
// reset while this server's k3s still runs, and the token the datastore was created with.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { bootstrapKey, k3sClusterReset, k3sSnapshotSave, ETCD_DATA } from '../../../etcd/k3s.mjs'
import { journal } from './server.mjs'
import { loadCluster, nodeIdentity, nodePath, readText, updateCluster } from './store.mjs'

function flag(args, name) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) return args[i + 1] ?? ''
    if (args[i].startsWith(`--${name}=`)) return args[i].slice(name.length + 3)
  }
  return undefined
}

/** k3s etcd-snapshot [save] --name N → 0, or 1 with k3s's fatal line. */
export async function etcdSnapshot(args) {
  const rest = args[0] === 'save' ? args.slice(1) : args
  const { name } = nodeIdentity()
  if (!existsSync(nodePath(`${ETCD_DATA}/member`))) {
    journal('fatal', 'Error: etcd datastore disabled')
    return 1
  }
  const snapshotName = flag(rest, 'name') ?? 'on-demand'
  try {
    const file = await k3sSnapshotSave({ name, snapshotName, nodePath })
    journal('info', `Saving etcd snapshot to ${file}`)
    journal('info', `Snapshot ${file.split('/').pop()} saved.`)
    process.stdout.write(`${file}\n`)
    return 0
  } catch (e) {
    journal('fatal', `Error: failed to save snapshot: ${String(e.message).split('\n').pop()}`)
    return 1
  }
}

const DIFFERENT_TOKEN =
  'starting kubernetes: preparing server: bootstrap data already found and encrypted with different token'

/**
 * k3s server --cluster-reset [--cluster-reset-restore-path=F]: resets this member and exits, like k3s. The
 * token must open the bootstrap data of the datastore it ends with: the snapshot's when one is restored (a
 * freshly installed server takes the old cluster's token, as k3s documents for restoring onto new nodes),
 * else this server's own. A restored snapshot's token becomes the cluster's token.
 */
export async function clusterReset(args) {
  const { config, name, serverIp } = nodeIdentity()
  const token = (flag(args, 'token') ?? (config['token-file'] ? readText(config['token-file']) : config.token))?.trim()
  const cluster = loadCluster(serverIp)
  const restorePath = flag(args, 'cluster-reset-restore-path')
  if (!token) {
    // k3s#4522: a reset without a token fails with an empty message.
    journal('fatal', 'starting kubernetes: preparing server: ')
    return 1
  }
  const ownToken =
    !cluster?.token ||
    token === cluster.token ||
    token === cluster.fullToken ||
    token.endsWith(`::server:${cluster.token}`)
  if (!restorePath && !ownToken) {
    journal('fatal', DIFFERENT_TOKEN)
    return 1
  }
  let bootstrap
  try {
    bootstrap = await k3sClusterReset({ name, restorePath, nodePath })
  } catch (e) {
    journal('fatal', `starting kubernetes: preparing server: ${String(e.message).split('\n').pop()}`)
    return 1
  }
  if (restorePath) {
    // A snapshot without bootstrap data (none written yet) is judged by this server's own token.
    if (bootstrap.length ? !bootstrap.includes(bootstrapKey(token)) : !ownToken) {
      journal('fatal', DIFFERENT_TOKEN)
      return 1
    }
    const password = token.includes('::server:') ? token.split('::server:')[1] : token
    await updateCluster(serverIp, (c) => {
      if (c.token && c.token !== password) {
        c.token = password
        c.fullToken = `K10${createHash('sha256').update(`ca ${password}`).digest('hex')}::server:${password}`
      }
    })
  }
  journal(
    'info',
    `Managed etcd cluster membership has been reset, restart without --cluster-reset flag now. Backup and delete \${datadir}/server/db on each peer etcd server and rejoin the nodes`
  )
  return 0
}
