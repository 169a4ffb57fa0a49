// K3s embedded etcd in the lab: what `k3s server` does with etcd when the cluster is HA (cluster-init on the
// first server, `server:` on the others), `k3s etcd-snapshot save`, and `k3s server --cluster-reset
// [--cluster-reset-restore-path]`. Called by lab/k3s's stand-in with the node's paths; the member runs on the
// node's loopback address (TPI_NODE_ADDR) on etcd's ports 2379/2380 with its data on the node's disk, so a
// reflash wipes it and a power-off (the node kills everything carrying its tag) takes it down.
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { attachEtcd, etcdConfig } from './kube-store.mjs'
import { createHash } from 'node:crypto'
import { getPrefixSync, joinPeers, memberList, putSync, snapshotRestore, snapshotSave, waitHealthy } from './ctl.mjs'
import { startEtcdMember, stopAllEtcd } from './member.mjs'

export const ETCD_DATA = '/var/lib/rancher/k3s/server/db/etcd'
export const SNAPSHOT_DIR = '/var/lib/rancher/k3s/server/db/snapshots'
const CLIENT_PORT = 2379
const PEER_PORT = 2380

const host = () => process.env.TPI_NODE_ADDR || '127.0.0.1'
const urls = (h) => ({ clientUrl: `http://${h}:${CLIENT_PORT}`, peerUrl: `http://${h}:${PEER_PORT}` })

/**
 * Starts this server's etcd member and points the cluster's Kubernetes store (kubeDir) at the members.
 * o: { name, first, kubeDir, nodePath(path), pidFile (systemd's unit pid file, so `systemctl stop k3s`
 * stops etcd too) }. A first server without data starts a new one-member cluster; a joining server without
 * data is added through the members the store knows; a server with data starts on it.
 */
export async function serveK3sEtcd(o) {
  const dataDir = o.nodePath(ETCD_DATA)
  const h = host()
  const { peerUrl } = urls(h)
  const base = { name: o.name, host: h, dataDir, clientPort: CLIENT_PORT, peerPort: PEER_PORT }
  let member
  if (existsSync(join(dataDir, 'member'))) member = await startEtcdMember({ ...base, clusterState: 'existing' })
  else if (o.first) member = await startEtcdMember({ ...base, clusterState: 'new' })
  else member = await joinRetrying(o, base, peerUrl)
  member.proc.unref()
  if (o.pidFile) {
    mkdirSync(join(o.pidFile, '..'), { recursive: true })
    writeFileSync(o.pidFile, `${member.proc.pid}\n`)
  }
  if (!(await waitHealthy(member.clientUrl, 15_000)))
    throw new Error(`etcd: member ${o.name} on ${member.clientUrl} does not reach quorum`)
  const endpoints = (await memberList(member.clientUrl)).flatMap((m) => m.clientUrls)
  attachEtcd(o.kubeDir, endpoints.length ? endpoints : [member.clientUrl])
  return member
}

/**
 * A joining server adds itself through the members the store knows, or starts the member an earlier
 * attempt added (joinPeers), as k3s does when it finds its own peer URL listed.
 */
async function joinOnce(o, base, peerUrl) {
  const known = etcdConfig(o.kubeDir)?.endpoints
  if (!known?.length) throw new Error('etcd: no member to join yet (the first server has not started etcd)')
  const initialCluster = await joinPeers(known, o.name, peerUrl)
  rmSync(o.nodePath(ETCD_DATA), { recursive: true, force: true })
  const member = await startEtcdMember({ ...base, initialCluster, clusterState: 'existing' })
  // A joined member serves reads once it has caught up with the leader: slower than a restart under load.
  if (!(await waitHealthy(member.clientUrl, 60_000))) {
    await member.kill()
    throw new Error(`member ${o.name} on ${member.clientUrl} does not reach quorum`)
  }
  return member
}

/**
 * A failed join makes real k3s exit and systemd start it again (Restart=always, RestartSec=5s). The lab's
 * systemctl starts k3s once, so the stand-in retries the join itself, a bounded number of times, 5 s
 * apart, and journals each failure as k3s logs the fatal error it exits with.
 */
async function joinRetrying(o, base, peerUrl, attempts = 8) {
  for (let i = 1; ; i++) {
    try {
      return await joinOnce(o, base, peerUrl)
    } catch (e) {
      await stopAllEtcd() // this stand-in's own member only: each node's k3s is its own process
      if (i >= attempts) throw e
      o.log?.(`etcd join failed (attempt ${i} of ${attempts}): ${String(e.message).split('\n')[0]}; restarting`)
      await new Promise((r) => setTimeout(r, 5000))
    }
  }
}

/**
 * k3s keeps its bootstrap data (CA, keys) in the datastore under /bootstrap/<first 12 hex of sha256(token)>,
 * encrypted with the token; the lab keeps only the key, so a snapshot carries which token it belongs to.
 * `token` is the server token's password part (after `::server:`) or the whole token.
 */
export const bootstrapKey = (token) => {
  const password = token.includes('::server:') ? token.split('::server:')[1] : token
  return `/bootstrap/${createHash('sha256').update(password).digest('hex').slice(0, 12)}`
}

/** Writes the cluster's bootstrap key once, on the first server of a new HA cluster. */
export function writeBootstrap(clientUrl, token) {
  if (!Object.keys(getPrefixSync(clientUrl, '/bootstrap/')).length) putSync(clientUrl, bootstrapKey(token), '{}')
}

/** `k3s etcd-snapshot save --name N`: <snapshot dir>/<N>-<node>-<unix seconds>, as k3s names it. Returns the path. */
export async function k3sSnapshotSave(o) {
  const file = join(o.nodePath(SNAPSHOT_DIR), `${o.snapshotName}-${o.name}-${Math.floor(Date.now() / 1000)}`)
  await snapshotSave(urls(host()).clientUrl, file)
  return file
}

/**
 * `k3s server --cluster-reset [--cluster-reset-restore-path=F]`: rebuilds this member's data as the only
 * member (from the snapshot when given, else from its own data), as k3s does before it asks for a restart.
 * Returns the bootstrap keys of the restored data (which token its bootstrap data belongs to).
 */
export async function k3sClusterReset(o) {
  const dataDir = o.nodePath(ETCD_DATA)
  const { peerUrl } = urls(host())
  let source = o.restorePath && o.nodePath(o.restorePath)
  if (!source) {
    if (!existsSync(join(dataDir, 'member')))
      throw new Error('etcd: no data to reset and no --cluster-reset-restore-path')
    // Without a snapshot k3s keeps the data and drops the other members: snapshot our own db first.
    const tmp = o.nodePath(`${SNAPSHOT_DIR}/.reset-${Date.now()}`)
    const member = await startEtcdMember({
      name: o.name,
      host: host(),
      dataDir,
      clientPort: CLIENT_PORT,
      peerPort: PEER_PORT,
      clusterState: 'existing'
    })
    try {
      await snapshotSave(member.clientUrl, tmp)
    } finally {
      await member.kill()
    }
    source = tmp
  }
  if (!existsSync(source)) throw new Error(`etcd: restore file ${o.restorePath} does not exist`)
  await snapshotRestore(source, {
    name: o.name,
    dataDir,
    peerUrl,
    initialCluster: [{ name: o.name, peerUrl }],
    skipHashCheck: false
  })
  // k3s reads the restored bootstrap data with the given token before it exits: look at the restored keys.
  const member = await startEtcdMember({
    name: o.name,
    host: host(),
    dataDir,
    clientPort: CLIENT_PORT,
    peerPort: PEER_PORT,
    clusterState: 'existing'
  })
  try {
    if (!(await waitHealthy(member.clientUrl, 15_000))) throw new Error('etcd: the restored member does not start')
    return Object.keys(getPrefixSync(member.clientUrl, '/bootstrap/'))
  } finally {
    await member.kill()
  }
}

/** Snapshots on the node, newest last (for tests). */
export function listSnapshots(nodePath) {
  const dir = nodePath(SNAPSHOT_DIR)
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((f) => !f.startsWith('.'))
        .sort()
    : []
}

/** What `rm -rf /var/lib/rancher/k3s/server/db` does to etcd's part, for tests. */
export function wipeK3sEtcd(nodePath) {
  rmSync(nodePath(ETCD_DATA), { recursive: true, force: true })
}
