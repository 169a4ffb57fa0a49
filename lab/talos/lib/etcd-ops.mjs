// A real etcd (Debian's etcd 3.4, through lab/etcd) behind each emulated Talos control plane: bootstrap
// starts a one-member cluster (or one recovered from a snapshot), the other control planes join it as
// members, `etcd snapshot` is a real snapshot, and the cluster's Kubernetes ConfigMaps live in it (lab/kube's
// etcd.json). The member runs on the node's loopback address, ports 2379/2380, with its data in
// <node>/talos/etcd — the node's /var/lib/etcd on EPHEMERAL: a reset of EPHEMERAL or a reflash wipes it, a
// power-off or reboot stops the process and the next boot starts it again on its data.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import {
  attachEtcd,
  joinPeers,
  memberList,
  memberRemove,
  snapshotRestore,
  snapshotSave,
  startEtcdMember,
  waitHealthy
} from '../../etcd/index.mjs'
import * as registry from './cluster.mjs'

const run = promisify(execFile)
const CLIENT_PORT = 2379
const PEER_PORT = 2380
const rpc = (code, desc) => ({ error: { code, desc } })

/** Running members by node address (a reboot makes a new TalosNodeApi for the same node). */
const members = new Map()
/** The lab/kube data folder of each cluster (on the control plane that bootstrapped it). */
const kubeDirs = new Map()
/** Joins under way, so a node is never added twice. */
const joining = new Map()

export const etcdDataDir = (api) => join(api.dir, 'etcd')
const urls = (api) => ({
  clientUrl: `http://${api.o.host}:${CLIENT_PORT}`,
  peerUrl: `http://${api.o.host}:${PEER_PORT}`
})
const base = (api) => ({
  name: api.hostname,
  host: api.o.host,
  dataDir: etcdDataDir(api),
  clientPort: CLIENT_PORT,
  peerPort: PEER_PORT
})
const hasData = (api) => existsSync(join(etcdDataDir(api), 'member'))

export function etcdRunning(api) {
  return members.get(api.o.host)?.running === true
}

/** Client URLs of the cluster's running members (the ones another node can reach now). */
export function clusterEndpoints(clusterId) {
  return [...registry.clusterMembers(clusterId).values()]
    .filter((n) => n.role === 'controlplane' && etcdRunning(n))
    .map((n) => urls(n).clientUrl)
}

/**
 * Points the cluster's Kubernetes store at its running members. With none running the store keeps the last
 * ones, so the API fails as an apiserver does without etcd instead of answering from elsewhere.
 */
export function refreshKube(clusterId) {
  const dir = kubeDirs.get(clusterId)
  const endpoints = clusterEndpoints(clusterId)
  if (dir && existsSync(dir) && endpoints.length) attachEtcd(dir, endpoints)
}

function remember(api, member) {
  member.proc.unref()
  members.set(api.o.host, member)
  writeFileSync(join(api.dir, 'etcd.pid'), `${member.proc.pid}\n`)
  member.proc.once('exit', () => {
    if (members.get(api.o.host) === member) members.delete(api.o.host)
  })
}

async function startOn(api, options, healthMs = 15_000) {
  mkdirSync(api.dir, { recursive: true })
  const member = await startEtcdMember({ ...base(api), ...options })
  remember(api, member)
  if (!(await waitHealthy(member.clientUrl, healthMs)))
    throw new Error(`etcd member ${api.hostname} on ${member.clientUrl} does not reach quorum`)
  return member
}

/**
 * At boot: a control plane with etcd data starts its member on it; one without data in a bootstrapped
 * cluster joins (etcd `Preparing` until then). Runs in the background; failures are console lines.
 */
export async function etcdAtBoot(api) {
  if (api.role !== 'controlplane' || !api.configured) return
  try {
    if (api.state.etcd && hasData(api)) {
      await startOn(api, { clusterState: 'existing' })
      refreshKube(api.clusterId)
    } else if (registry.bootstrapped(api.clusterId)) await joinRetrying(api)
  } catch (e) {
    api.o.uart(`[talos] service[etcd](Failed): ${String(e.message).split('\n')[0]}`)
  }
}

/** Adds this control plane to the running members and starts it with clusterState existing. */
export function joinEtcd(api) {
  const host = api.o.host
  if (joining.has(host)) return joining.get(host)
  const p = (async () => {
    const known = clusterEndpoints(api.clusterId).filter((u) => u !== urls(api).clientUrl)
    if (!known.length) return
    rmSync(etcdDataDir(api), { recursive: true, force: true })
    const { peerUrl } = urls(api)
    // A member of this peer URL that had started holds data this node no longer has: replace it. One that
    // never started (a failed earlier join) is started instead of added again (joinPeers).
    const listed = await memberList(known)
    const mine = listed.find((m) => m.peerUrls.includes(peerUrl))
    if (mine?.name) await memberRemove(known, mine.name)
    const initialCluster = await joinPeers(known, api.hostname, peerUrl, mine?.name ? undefined : listed)
    // A joined member serves reads once it has caught up with the leader: slower than a restart under load.
    await startOn(api, { initialCluster, clusterState: 'existing' }, 60_000)
    api.state.etcd = true
    api.save()
    api.o.uart('[talos] service[etcd](Running): Health check successful')
    refreshKube(api.clusterId)
  })().finally(() => joining.delete(host))
  joining.set(host, p)
  return p
}

/**
 * Talos's etcd service restarts a failed join until it succeeds (a member add refused while another
 * member starts, a slow start under load); the lab retries while this boot of the node lasts, a bounded
 * number of times. Each failure is a console line, as the service's state change is.
 */
async function joinRetrying(api, attempts = 8) {
  for (let i = 1; ; i++) {
    try {
      return await joinEtcd(api)
    } catch (e) {
      if (i >= attempts || !api.server || api.stage !== 'running' || api.state.etcd) throw e
      api.o.uart(`[talos] service[etcd](Failed): ${String(e.message).split('\n')[0]}; retrying`)
      await stopEtcd(api)
      await new Promise((r) => setTimeout(r, 2000))
    }
  }
}

/** etcdctl snapshot status of a file: { hash, revision, totalKey, totalSize }. */
export async function snapshotInfo(file) {
  const { stdout } = await run('etcdctl', ['snapshot', 'status', file, '-w', 'json'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' }
  })
  return JSON.parse(stdout)
}

/**
 * `talosctl bootstrap [--recover-from]`: a new one-member cluster on this control plane, or one rebuilt
 * from the snapshot (etcdctl checks its hash unless skipHashCheck); the other control planes join it
 * afterwards (joinOthers).
 */
export async function bootstrapEtcd(api, { recoverFrom, skipHashCheck = false } = {}) {
  const dataDir = etcdDataDir(api)
  let info
  if (recoverFrom) {
    const file = join(api.dir, 'etcd.snapshot')
    writeFileSync(file, Buffer.from(recoverFrom, 'base64'), { mode: 0o600 })
    try {
      info = await snapshotInfo(file)
      const { peerUrl } = urls(api)
      await snapshotRestore(file, {
        name: api.hostname,
        dataDir,
        peerUrl,
        initialCluster: [{ name: api.hostname, peerUrl }],
        skipHashCheck
      })
    } catch (e) {
      rmSync(dataDir, { recursive: true, force: true })
      return rpc('InvalidArgument', `failed to recover etcd from snapshot: ${String(e.stderr || e.message).trim()}`)
    } finally {
      rmSync(file, { force: true })
    }
    api.o.uart(
      `recovering etcd from snapshot: hash ${Number(info.hash).toString(16)}, revision ${info.revision}, total keys ${info.totalKey}, total size ${info.totalSize}`
    )
    await startOn(api, { clusterState: 'existing' })
  } else {
    rmSync(dataDir, { recursive: true, force: true })
    await startOn(api, { clusterState: 'new' })
  }
  api.state.etcd = true
  api.save()
  const kubeDir = join(api.dir, 'kube')
  mkdirSync(kubeDir, { recursive: true })
  kubeDirs.set(api.clusterId, kubeDir)
  refreshKube(api.clusterId)
  return {}
}

/**
 * After a bootstrap: the other running control planes join, one at a time, in the background. Called once
 * Kubernetes is up on the bootstrapped node, as Talos's control planes join "once Kubernetes is bootstrapped"
 * (and so no lab apiserver starts while a member was added but not yet started: no quorum then).
 */
export function joinOthers(api) {
  const others = [...registry.clusterMembers(api.clusterId).values()].filter(
    (n) => n !== api && n.role === 'controlplane' && !n.state.etcd && n.stage === 'running'
  )
  void (async () => {
    for (const n of others) await joinRetrying(n).catch((e) => n.o.uart(`[talos] etcd join failed: ${e.message}`))
  })()
}

/** The member stops (power-off, reboot, halt); its data stays. */
export async function stopEtcd(api) {
  const m = members.get(api.o.host)
  if (!m) return
  members.delete(api.o.host)
  await m.kill()
  if (api.clusterId) refreshKube(api.clusterId)
}

/** EPHEMERAL wiped: the member stops and /var/lib/etcd is gone; the node waits for bootstrap or a join. */
export async function wipeEtcd(api) {
  await stopEtcd(api)
  rmSync(etcdDataDir(api), { recursive: true, force: true })
  rmSync(join(api.dir, 'etcd.pid'), { force: true })
  api.state.etcd = false
  api.save()
}

/** A graceful reset leaves etcd: the member is removed through the others; the last member cannot leave. */
export async function leaveEtcd(api) {
  if (!etcdRunning(api)) return undefined
  const others = clusterEndpoints(api.clusterId).filter((u) => u !== urls(api).clientUrl)
  if (!others.length) return 'failed to leave etcd: this node is the only etcd member; reset it with --graceful=false'
  await memberRemove(others, api.hostname)
  await wipeEtcd(api)
  return undefined
}

export async function etcdSnapshot(api) {
  if (api.role !== 'controlplane') return rpc('FailedPrecondition', 'etcd is not running on worker nodes')
  if (!etcdRunning(api)) return rpc('Unavailable', 'etcd service is not running')
  const file = join(api.dir, `snapshot-${Date.now()}.db`)
  try {
    await snapshotSave(urls(api).clientUrl, file)
    const info = await snapshotInfo(file)
    return { data: readFileSync(file).toString('base64'), info }
  } catch (e) {
    return rpc('Unavailable', `failed to take etcd snapshot: ${String(e.stderr || e.message).trim()}`)
  } finally {
    rmSync(file, { force: true })
  }
}

export async function etcdMembers(api) {
  if (api.role !== 'controlplane' || !etcdRunning(api)) return rpc('Unavailable', 'etcd service is not running')
  return { members: await memberList(urls(api).clientUrl) }
}

/**
 * `talosctl service etcd`: Running with a member, Failed with data but no member, Preparing while a control
 * plane waits for bootstrap or a join (no data).
 */
export function etcdService(api) {
  if (api.role !== 'controlplane') return rpc('NotFound', 'service "etcd" not found')
  if (etcdRunning(api))
    return { id: 'etcd', state: 'Running', health: 'OK', events: ['[Running]: Health check successful'] }
  // Data but no process: etcd crashed or its data went bad; only a reset of EPHEMERAL brings Preparing back.
  if (api.state.etcd)
    return {
      id: 'etcd',
      state: 'Failed',
      health: 'Fail',
      events: ['[Failed]: Failed running service: etcd exited', '[Running]: Health check successful']
    }
  return {
    id: 'etcd',
    state: 'Preparing',
    health: '?',
    events: ['[Preparing]: Running pre state', '[Waiting]: Waiting for service "cri" to be "up", time sync']
  }
}
