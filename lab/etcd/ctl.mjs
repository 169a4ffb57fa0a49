// etcdctl (the real one, API v3) against lab members: membership, health, snapshots, and a small key/value
// interface. The key/value calls are synchronous on purpose: lab/kube's store is synchronous (stand-ins on
// simulated nodes call it as a plain function), and etcd is another process, so blocking here cannot stall it.
import { execFile, execFileSync } from 'node:child_process'
import { mkdirSync, rmSync } from 'node:fs'
import { dirname } from 'node:path'
import { promisify } from 'node:util'
import { initialClusterFlag } from './member.mjs'

const run = promisify(execFile)
const TIMEOUT = ['--command-timeout=2s', '--dial-timeout=1s']
// Only what etcdctl needs: no lab or runner secrets in a child's environment.
const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', ETCDCTL_API: '3' })

const endpointsFlag = (endpoints) => `--endpoints=${[].concat(endpoints).join(',')}`

async function ctl(endpoints, args) {
  const { stdout } = await run('etcdctl', [endpointsFlag(endpoints), ...TIMEOUT, ...args], {
    env: env(),
    maxBuffer: 64 << 20
  })
  return stdout
}

/** [{ id (hex), name, peerUrls, clientUrls, isLearner }] */
export async function memberList(endpoints) {
  // Member IDs are uint64: quote them before JSON.parse rounds them to a double.
  const text = (await ctl(endpoints, ['member', 'list', '-w', 'json'])).replace(
    /"(ID|cluster_id|member_id)":(\d+)/g,
    '"$1":"$2"'
  )
  const out = JSON.parse(text)
  return (out.members ?? []).map((m) => ({
    id: BigInt(m.ID).toString(16),
    name: m.name ?? '',
    peerUrls: m.peerURLs ?? [],
    clientUrls: m.clientURLs ?? [],
    isLearner: !!m.isLearner
  }))
}

/** Adds a member (it must then be started with clusterState 'existing'); returns the new member list. */
// etcd refuses a reconfiguration until every voting member has been connected for its health interval (5 s)
// ("unhealthy cluster", "not enough started members"); a joining K3s server retries, and so does this.
async function reconfigure(endpoints, args, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await ctl(endpoints, args)
    } catch (e) {
      if (!/unhealthy cluster|not enough started members/.test(String(e.message)) || Date.now() > deadline) throw e
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}

export async function memberAdd(endpoints, name, peerUrl, timeoutMs = 60_000) {
  await reconfigure(endpoints, ['member', 'add', name, `--peer-urls=${peerUrl}`], timeoutMs)
  return memberList(endpoints)
}

/**
 * A joining member's --initial-cluster peers. A member listed with this peer URL and no name was added
 * by an earlier join that never started it: it is started now rather than added again, which etcd would
 * refuse as an unhealthy cluster. listed: the member list when the caller already read it.
 */
export async function joinPeers(endpoints, name, peerUrl, listed) {
  const members = listed ?? (await memberList(endpoints))
  const unstarted = members.some((m) => !m.name && m.peerUrls.includes(peerUrl))
  return (unstarted ? members : await memberAdd(endpoints, name, peerUrl))
    .map((m) => ({ name: m.name || name, peerUrl: m.peerUrls[0] }))
    .filter((m) => m.peerUrl)
}

/** Removes the member with this name; a member that is not listed is an error naming the ones that are. */
export async function memberRemove(endpoints, name, timeoutMs = 60_000) {
  const members = await memberList(endpoints)
  const m = members.find((x) => x.name === name)
  if (!m)
    throw new Error(`lab etcd: no member named ${name}, members: ${members.map((x) => x.name).join(', ') || 'none'}`)
  await reconfigure(endpoints, ['member', 'remove', m.id], timeoutMs)
  return memberList(endpoints)
}

/** True when the cluster commits a read (a quorum answers) through these endpoints within the timeout. */
export async function healthy(endpoints) {
  try {
    await ctl(endpoints, ['endpoint', 'health', '--cluster=false'])
    await ctl(endpoints, ['get', 'health-probe', '--consistency=l'])
    return true
  } catch {
    return false
  }
}

/**
 * True when a quorum commits a read through this endpoint: one linearizable get, which etcd serves only
 * after confirming its leader with a majority (the same proof as healthy(), in one etcdctl process).
 */
export async function readCommits(endpoint) {
  try {
    await ctl(endpoint, ['get', 'health-probe', '--consistency=l'])
    return true
  } catch {
    return false
  }
}

/** Polls healthy() until true or timeoutMs; returns the last answer. A joined member counts once it serves reads. */
export async function waitHealthy(endpoints, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await healthy(endpoints)) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** etcdctl snapshot save <file> from one endpoint (a snapshot is taken from one member). */
export async function snapshotSave(endpoint, file) {
  mkdirSync(dirname(file), { recursive: true })
  await ctl(endpoint, ['snapshot', 'save', file])
  return file
}

/**
 * etcdctl snapshot restore into a new data folder (removed first) for one member of the rebuilt cluster:
 * { name, dataDir, peerUrl, initialCluster [{name, peerUrl}], clusterToken?, skipHashCheck? }.
 */
export async function snapshotRestore(file, o) {
  rmSync(o.dataDir, { recursive: true, force: true })
  mkdirSync(dirname(o.dataDir), { recursive: true })
  const args = [
    'snapshot',
    'restore',
    file,
    `--name=${o.name}`,
    `--data-dir=${o.dataDir}`,
    `--initial-advertise-peer-urls=${o.peerUrl}`,
    `--initial-cluster=${initialClusterFlag(o.initialCluster ?? [{ name: o.name, peerUrl: o.peerUrl }])}`,
    `--initial-cluster-token=${o.clusterToken ?? 'lab-etcd'}`
  ]
  if (o.skipHashCheck) args.push('--skip-hash-check')
  await run('etcdctl', args, { env: env() })
}

function ctlSync(endpoints, args, input) {
  return execFileSync('etcdctl', [endpointsFlag(endpoints), ...TIMEOUT, ...args], {
    env: env(),
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 << 20
  })
}

/** Every key under prefix → its value (utf8). Throws when no quorum answers (as an apiserver would fail). */
export function getPrefixSync(endpoints, prefix) {
  const out = JSON.parse(ctlSync(endpoints, ['get', '--prefix', prefix, '-w', 'json']).toString('utf8'))
  const kv = {}
  for (const x of out.kvs ?? [])
    kv[Buffer.from(x.key, 'base64').toString('utf8')] = Buffer.from(x.value ?? '', 'base64').toString('utf8')
  return kv
}

/** Puts one value (through stdin, so a value never shows on a command line). */
export function putSync(endpoints, key, value) {
  ctlSync(endpoints, ['put', key], value)
}

export function delSync(endpoints, key) {
  ctlSync(endpoints, ['del', key])
}
