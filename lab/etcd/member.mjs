// A real etcd member (Debian's etcd 3.4) behind one simulated control plane: its own process group, loopback
// only, data under the lab's temp folders, output to a log file (never a pipe: a lab process that blocks on a
// synchronous etcdctl call must not stall etcd on a full pipe). Timings are shortened so elections and
// quorum loss show in well under a second, as they would on a LAN in a few.
import { spawn } from 'node:child_process'
import { mkdirSync, openSync, closeSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'

/** A free TCP port on host (bind :0, read it back, close). */
export async function freePort(host) {
  const srv = createServer()
  await new Promise((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, host, resolve)
  })
  const { port } = srv.address()
  await new Promise((resolve) => srv.close(resolve))
  return port
}

function assertLoopback(host) {
  if (!/^127\.\d+\.\d+\.\d+$/.test(host))
    throw new Error(`lab etcd: host ${host} is not a loopback address (127.x.y.z); the lab never listens elsewhere`)
}

/** --initial-cluster value from [{ name, peerUrl }]. */
export function initialClusterFlag(peers) {
  return peers.map((p) => `${p.name}=${p.peerUrl}`).join(',')
}

/** The argv of one member; pure, so tests can assert it. */
export function etcdArgs(o) {
  return [
    '--name',
    o.name,
    '--data-dir',
    o.dataDir,
    '--listen-client-urls',
    o.clientUrl,
    '--advertise-client-urls',
    o.clientUrl,
    '--listen-peer-urls',
    o.peerUrl,
    '--initial-advertise-peer-urls',
    o.peerUrl,
    '--initial-cluster',
    initialClusterFlag(o.initialCluster ?? [{ name: o.name, peerUrl: o.peerUrl }]),
    '--initial-cluster-state',
    o.clusterState ?? 'new',
    '--initial-cluster-token',
    o.clusterToken ?? 'lab-etcd',
    '--heartbeat-interval',
    '50',
    '--election-timeout',
    '500',
    '--enable-v2=false',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr'
  ]
}

/** Live processes, so a test or the lab can kill every member at the end (stopAllEtcd). */
const live = new Set()

/**
 * Starts a member and waits until its client port answers. options: { name, host (127.x), dataDir,
 * clientPort?, peerPort? (0/undefined = random free port), initialCluster? [{name, peerUrl}] (default: alone),
 * clusterState? 'new'|'existing', clusterToken? }. Returns an EtcdMember (see index.d.mts).
 */
export async function startEtcdMember(options) {
  assertLoopback(options.host)
  const clientPort = options.clientPort || (await freePort(options.host))
  const peerPort = options.peerPort || (await freePort(options.host))
  const member = {
    name: options.name,
    host: options.host,
    dataDir: options.dataDir,
    clientUrl: `http://${options.host}:${clientPort}`,
    peerUrl: `http://${options.host}:${peerPort}`,
    logFile: join(options.dataDir, '..', `${options.name}.etcd.log`),
    proc: undefined,
    get running() {
      return member.proc !== undefined && member.proc.exitCode === null && member.proc.signalCode === null
    }
  }
  const args = { ...options, clientUrl: member.clientUrl, peerUrl: member.peerUrl }
  if (!options.initialCluster) args.initialCluster = [{ name: member.name, peerUrl: member.peerUrl }]
  member.start = async (clusterState = 'existing') => launch(member, { ...args, clusterState })
  member.stop = (signal = 'SIGTERM') => halt(member, signal)
  member.kill = () => halt(member, 'SIGKILL')
  await launch(member, args)
  return member
}

async function launch(member, args) {
  if (member.running) return
  mkdirSync(member.dataDir, { recursive: true, mode: 0o700 })
  const log = openSync(member.logFile, 'a')
  const proc = spawn('etcd', etcdArgs(args), { stdio: ['ignore', log, log], detached: true })
  closeSync(log)
  member.proc = proc
  live.add(member)
  proc.once('exit', () => live.delete(member))
  await waitClientPort(member)
}

async function waitClientPort(member, timeoutMs = 15_000) {
  const { connect } = await import('node:net')
  const url = new URL(member.clientUrl)
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!member.running)
      throw new Error(`lab etcd: member ${member.name} exited (code ${member.proc?.exitCode}); see ${member.logFile}`)
    const ok = await new Promise((resolve) => {
      const s = connect(Number(url.port), url.hostname)
      s.once('connect', () => (s.destroy(), resolve(true)))
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline)
      throw new Error(
        `lab etcd: member ${member.name} does not listen on ${member.clientUrl} after ${timeoutMs} ms; see ${member.logFile}`
      )
    await new Promise((r) => setTimeout(r, 25))
  }
}

async function halt(member, signal) {
  const proc = member.proc
  if (!proc || !member.running) return
  const exited = new Promise((resolve) => proc.once('exit', resolve))
  try {
    process.kill(-proc.pid, signal)
  } catch {}
  await exited
}

/** Kills every member this process started (the lab's stop, a test's afterAll). */
export async function stopAllEtcd() {
  await Promise.all([...live].map((m) => m.kill()))
}
