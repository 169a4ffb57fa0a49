// A converged rerun of the example 4-node K3s cluster against its first deploy, on the lab and through
// the shipped bundle (a new `deploy` job, main and post step, as a workflow_dispatch runs it): every
// phase observes every node over real SSH — flash and boot ask the emulated BMC, os-bootstrap, install,
// join and npu run their check scripts on the simulated Armbian nodes, addons ask helm — and changes
// nothing. Target: <= 3 s, at most one SSH exec per node, <= 3 runner processes (helm, kubectl) and 0 bytes
// downloaded, as the action's own adapters count them (its `adapter counts` debug line) and the mirror's log.
import { runLabAction, setupLabAction, type ActionRun } from '../lab/action.js'
import { startLab } from '../lab/lab.js'
import { countsFromLog, type BenchResult, type RunCounts } from './lib/result.js'

const ROUNDS = 3
const FILE = 'examples/k3s-cluster.yaml'

const tail = (r: ActionRun): string =>
  r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
    .slice(-30)
    .join('\n')
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function bench(): Promise<BenchResult[]> {
  const lab = await startLab({ bootDelayMs: 100 })
  try {
    const setup = await setupLabAction(lab, FILE)
    const fresh = await runLabAction(lab, setup, { command: 'deploy' })
    if (fresh.code !== 0) throw new Error(`first deploy failed (exit ${fresh.code}):\n${tail(fresh)}`)
    const rounds: number[] = []
    let requests = 0
    let bytes = 0
    // The counts of every round; they do not depend on the machine, so the largest is reported.
    const counted: (RunCounts & { sshExecsPerNode: Record<string, number> })[] = []
    for (let i = 0; i < ROUNDS; i++) {
      lab.mirror.clearLog()
      const r = await runLabAction(lab, setup, { command: 'deploy' })
      if (r.code !== 0) throw new Error(`rerun ${i + 1} failed (exit ${r.code}):\n${tail(r)}`)
      for (const phase of ['os-bootstrap', 'install', 'join']) {
        if (!new RegExp(`${phase}: unchanged`).test(r.log))
          throw new Error(`rerun ${i + 1}: ${phase} was not unchanged:\n${tail(r)}`)
      }
      if (/flashing /.test(r.log)) throw new Error(`rerun ${i + 1} flashed a node`)
      requests += lab.mirror.requests.length
      bytes += lab.mirror.bytesServed()
      rounds.push(r.ms)
      counted.push(countsFromLog(r.log))
    }
    const rerun = median(rounds)
    const most = (f: (c: RunCounts) => number): number => Math.max(...counted.map(f))
    // downloadBytes: what the adapters fetched, and what the lab's mirror served (both must be 0).
    const counts: RunCounts = {
      sshExecs: most((c) => c.sshExecs),
      runnerProcesses: most((c) => c.runnerProcesses),
      downloadBytes: Math.max(
        most((c) => c.downloadBytes),
        bytes
      )
    }
    const perNode = counted.at(-1)!.sshExecsPerNode
    return [
      {
        name: 'k3s-converged-rerun-4-nodes',
        figure: Math.round(rerun) / 1000,
        unit: 's',
        baseline: { name: 'k3s-fresh-deploy-4-nodes', figure: Math.round(fresh.ms) / 1000 },
        ratio: rerun / fresh.ms,
        target: '<= 3 s, <= 1 SSH exec per node, <= 3 runner processes, 0 bytes downloaded',
        counts,
        notes:
          `lab, dist bundle (${FILE}: 1 server, 3 agents, every addon, NPU with rkllama): a whole deploy job per round, median of ${ROUNDS}; ` +
          `rounds [${rounds.map(Math.round).join(', ')}] ms; the reruns made ${requests} mirror request(s), ${bytes} bytes; ` +
          `SSH execs per node (last round) ${JSON.stringify(perNode)}`
      }
    ]
  } finally {
    await lab.stop()
  }
}
