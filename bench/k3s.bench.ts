// A converged rerun of the example 4-node K3s cluster against its first deploy, on the lab and through
// the shipped bundle (a new `deploy` job, main and post step, as a workflow_dispatch runs it): flash and
// boot ask the emulated BMC, each node is observed once over real SSH (os-bootstrap, install, join and npu
// decide from that), addons read Helm's release Secrets and MetalLB's pool in one kubectl call — and
// nothing changes. Target: <= 3 s, at most one SSH exec per node, <= 3 runner processes and 0 bytes
// downloaded, as the action's own adapters count them (its `adapter counts` debug line) and the mirror's
// log. The Talos example's converged rerun is measured the same way (its target adds <= 1 talosctl call
// per node; one `get machineconfig` and one `version` over all four nodes).
import { runLabAction, setupLabAction, type ActionRun } from '../lab/action.js'
import { startLab } from '../lab/lab.js'
import { countsFromLog, type BenchResult, type LoggedCounts, type RunCounts } from './lib/result.js'

const ROUNDS = 3

const tail = (r: ActionRun): string =>
  r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
    .slice(-30)
    .join('\n')
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

interface Rerun {
  fresh: number
  rounds: number[]
  counts: RunCounts
  last: LoggedCounts
  requests: number
  bytes: number
}

async function convergedRerun(file: string, unchanged: string[], rounds = ROUNDS): Promise<Rerun> {
  const lab = await startLab({ bootDelayMs: 100 })
  try {
    const setup = await setupLabAction(lab, file)
    const fresh = await runLabAction(lab, setup, { command: 'deploy' })
    if (fresh.code !== 0) throw new Error(`${file}: first deploy failed (exit ${fresh.code}):\n${tail(fresh)}`)
    const times: number[] = []
    let requests = 0
    let bytes = 0
    // The counts of every round; they do not depend on the machine, so the largest is reported.
    const counted: LoggedCounts[] = []
    for (let i = 0; i < rounds; i++) {
      lab.mirror.clearLog()
      const r = await runLabAction(lab, setup, { command: 'deploy' })
      if (r.code !== 0) throw new Error(`${file}: rerun ${i + 1} failed (exit ${r.code}):\n${tail(r)}`)
      for (const phase of unchanged) {
        if (!new RegExp(`${phase}: unchanged`).test(r.log))
          throw new Error(`${file}: rerun ${i + 1}: ${phase} was not unchanged:\n${tail(r)}`)
      }
      if (/flashing /.test(r.log)) throw new Error(`${file}: rerun ${i + 1} flashed a node`)
      requests += lab.mirror.requests.length
      bytes += lab.mirror.bytesServed()
      times.push(r.ms)
      counted.push(countsFromLog(r.log))
    }
    const most = (f: (c: RunCounts) => number): number => Math.max(...counted.map(f))
    return {
      fresh: fresh.ms,
      rounds: times,
      // downloadBytes: what the adapters fetched, and what the lab's mirror served (both must be 0).
      counts: {
        sshExecs: most((c) => c.sshExecs),
        runnerProcesses: most((c) => c.runnerProcesses),
        downloadBytes: Math.max(
          most((c) => c.downloadBytes),
          bytes
        )
      },
      last: counted.at(-1)!,
      requests,
      bytes
    }
  } finally {
    await lab.stop()
  }
}

function result(name: string, file: string, what: string, target: string, r: Rerun, why = ''): BenchResult {
  const figure = median(r.rounds)
  return {
    name,
    figure: Math.round(figure) / 1000,
    unit: 's',
    baseline: { name: name.replace('converged-rerun', 'fresh-deploy'), figure: Math.round(r.fresh) / 1000 },
    ratio: figure / r.fresh,
    target,
    counts: r.counts,
    notes:
      `lab, dist bundle (${file}: ${what}): a whole deploy job per round, median of ${r.rounds.length}; ` +
      `rounds [${r.rounds.map(Math.round).join(', ')}] ms; the reruns made ${r.requests} mirror request(s), ${r.bytes} bytes; ` +
      `last round: SSH execs per node ${JSON.stringify(r.last.sshExecsPerNode)}, runner processes per program ${JSON.stringify(r.last.runnerProcessesPerProgram)}` +
      why
  }
}

export async function bench(): Promise<BenchResult[]> {
  const talosFile = 'examples/talos-cluster.yaml'
  const talos = await convergedRerun(talosFile, ['install'])
  const talosResult = result(
    'talos-converged-rerun-4-nodes',
    talosFile,
    '1 control plane, 3 workers, MetalLB, Traefik, Longhorn, Prometheus',
    '<= 3 s, <= 1 talosctl call per node, <= 3 runner processes, 0 bytes downloaded',
    talos,
    // A Talos node has no shell to bundle reads into one exec: its applied configs and its versions are two
    // API calls (talosctl get machineconfig, talosctl version, each over all nodes at once); the addons
    // phase reads Helm's release Secrets and MetalLB's pool in one kubectl call.
    '; runner processes for Talos: 2 talosctl (get machineconfig and version, all nodes per call) + 1 kubectl (the addons phase); ' +
      'kubectl is a node-process stand-in in the lab (0.1 s of CPU or more, where the Go binary starts in milliseconds), talosctl goes through the lab talosctl server'
  )
  // BENCH_ONLY=talos measures the Talos example alone (its own figures do not depend on the K3s run).
  if (process.env.BENCH_ONLY === 'talos') return [talosResult]
  const k3sFile = 'examples/k3s-cluster.yaml'
  const k3s = await convergedRerun(k3sFile, ['os-bootstrap', 'install', 'join'])
  return [
    result(
      'k3s-converged-rerun-4-nodes',
      k3sFile,
      '1 server, 3 agents, every addon, NPU with rkllama',
      '<= 3 s, <= 1 SSH exec per node, <= 3 runner processes, 0 bytes downloaded',
      k3s
    ),
    talosResult
  ]
}
