// A whole fresh deploy of the example 4-node K3s cluster (examples/k3s-cluster.yaml: 1 server, 3
// agents, every addon, NPU with rkllama) on the lab, through the shipped bundle, from bare slots to a
// `drift` that finds the cluster in sync, against its floor read from the same run's own step spans
// (the job summary's timeline):
//   floor = Σ over nodes (flash upload + CRC read-back)   the BMC moves one transfer at a time
//         + max over nodes (boot + os-bootstrap + npu)     the longest chain a node has after its flash
//         + Σ cluster-scoped phases (upgrade, install, join, addons)
// The figure is the deploy job's wall time (main + post step), so the job's own start, lock, credential
// upload and post step count against it, not the floor. Target: <= 1.15 x the floor.
// DEPLOY_BENCH_SERIAL=1 adds a deploy with node-concurrency 1 (node-scoped phases one node after
// another, as before #17) on a fresh lab, for the parallel-vs-serial figure.
import { loadavg } from 'node:os'
import { runLabAction, setupLabAction, type ActionRun } from '../lab/action.js'
import { startLab } from '../lab/lab.js'
import type { BenchResult } from './lib/result.js'
import { spansFromSummary, type SummarySpan } from './lib/spans.js'

const FILE = 'examples/k3s-cluster.yaml'
const CHAIN = ['boot', 'os-bootstrap', 'npu']

const tail = (r: ActionRun): string =>
  r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
    .slice(-30)
    .join('\n')
const dur = (s: SummarySpan): number => s.end - s.start
const sum = (xs: number[]): number => xs.reduce((a, x) => a + x, 0)

interface Measured {
  ms: number
  driftMs: number
  floor: { flash: number; chain: number; chainNode: string; cluster: number; total: number }
  /** First flash step's start to its upload: the image and the live-member rule's look at the bare slots. */
  beforeUpload: number
  phases: Record<string, number>
  npuOverlap: boolean
  load: string
}

/** Wall time of each node-scoped phase from its first start to its last end, and each cluster phase. */
function phaseWalls(spans: SummarySpan[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const phase of new Set(spans.map((s) => s.phase))) {
    const own = spans.filter((s) => s.phase === phase && !s.stage)
    out[phase] = Math.max(...own.map((s) => s.end)) - Math.min(...own.map((s) => s.start))
  }
  return out
}

export function floorOf(spans: SummarySpan[]): Measured['floor'] {
  const flash = sum(spans.filter((s) => s.phase === 'flash' && s.stage).map(dur))
  const nodes = [...new Set(spans.filter((s) => s.node).map((s) => s.node!))]
  const chains = nodes.map((node) => ({
    node,
    ms: sum(spans.filter((s) => s.node === node && !s.stage && CHAIN.includes(s.phase)).map(dur))
  }))
  const longest = chains.sort((a, b) => b.ms - a.ms)[0] ?? { node: '-', ms: 0 }
  const cluster = sum(spans.filter((s) => !s.node).map(dur))
  return { flash, chain: longest.ms, chainNode: longest.node, cluster, total: flash + longest.ms + cluster }
}

async function deployOnce(nodeConcurrency?: number): Promise<Measured> {
  const lab = await startLab({ bootDelayMs: 100 })
  try {
    const setup = await setupLabAction(lab, FILE)
    const load = loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')
    const r = await runLabAction(lab, setup, {
      command: 'deploy',
      ...(nodeConcurrency ? { 'node-concurrency': String(nodeConcurrency) } : {})
    })
    if (r.code !== 0) throw new Error(`deploy failed (exit ${r.code}):\n${tail(r)}`)
    const spans = spansFromSummary(r.summary)
    const flashes = spans.filter((s) => s.phase === 'flash' && !s.stage && s.outcome === 'changed')
    if (flashes.length !== setup.cluster.nodes.length)
      throw new Error(`bench: ${flashes.length} of ${setup.cluster.nodes.length} nodes flashed; slots were not bare`)
    const drift = await runLabAction(lab, setup, { command: 'drift' })
    if (drift.code !== 0 || drift.outputs.drift !== '[]')
      throw new Error(
        `drift after the deploy is not in sync (exit ${drift.code}): ${drift.outputs.drift}\n${tail(drift)}`
      )
    const npu = spans.filter((s) => s.phase === 'npu' && !s.stage)
    const npuOverlap = npu.some((a) => npu.some((b) => a !== b && a.start < b.end && b.start < a.end))
    const first = flashes.sort((a, b) => a.start - b.start)[0]!
    const upload = spans.find((s) => s.phase === 'flash' && s.node === first.node && s.stage === 'upload')
    const beforeUpload = upload ? upload.start - first.start : 0
    return {
      ms: r.ms,
      driftMs: drift.ms,
      floor: floorOf(spans),
      phases: phaseWalls(spans),
      npuOverlap,
      load,
      beforeUpload
    }
  } finally {
    await lab.stop()
  }
}

const s1 = (ms: number): string => (ms / 1000).toFixed(1)

export async function bench(): Promise<BenchResult[]> {
  const run = await deployOnce()
  const f = run.floor
  const phases = Object.entries(run.phases)
    .map(([p, ms]) => `${p} ${s1(ms)}`)
    .join(', ')
  const results: BenchResult[] = [
    {
      name: 'deploy-4node-vs-floor',
      figure: Math.round(run.ms),
      unit: 'ms',
      baseline: {
        name: 'floor Σ(flash upload + read-back) + longest node chain after its flash (boot, os-bootstrap, npu) + cluster-scoped phases',
        figure: Math.round(f.total)
      },
      ratio: run.ms / f.total,
      target: 'ratio <= 1.15',
      notes:
        `lab, dist bundle (${FILE}: 1 server, 3 agents, every addon, NPU with rkllama), one fresh deploy job (main + post) from bare slots, node-concurrency default; ` +
        `floor from the run's own step spans: flash ${s1(f.flash)} s + chain ${s1(f.chain)} s (${f.chainNode}) + cluster phases ${s1(f.cluster)} s; ` +
        `phase walls (s): ${phases}; npu overlapped across nodes: ${run.npuOverlap}; ` +
        `before the first upload ${s1(run.beforeUpload)} s (the image download overlapped with the live-member rule's look at the bare slots: powered on, each console ends at DDR init and stays silent for 1.5 s, else the whole clamp(boot_timeout/30, 2..10) s window; not in the floor as defined; ratio with it in the floor ${(run.ms / (f.total + run.beforeUpload)).toFixed(3)}); ` +
        `then drift in sync in ${s1(run.driftMs)} s; load average at the start ${run.load}`
    }
  ]
  if (process.env.DEPLOY_BENCH_SERIAL === '1') {
    const serial = await deployOnce(1)
    results.push({
      name: 'deploy-4node-parallel-vs-serial',
      figure: Math.round(run.ms),
      unit: 'ms',
      baseline: {
        name: 'deploy with node-concurrency 1 (node phases one node after another)',
        figure: Math.round(serial.ms)
      },
      ratio: run.ms / serial.ms,
      target: 'below 1 (informational)',
      notes:
        `same bench run, a fresh lab each; npu wall ${s1(run.phases.npu ?? 0)} s vs ${s1(serial.phases.npu ?? 0)} s serial; ` +
        `serial floor ${s1(serial.floor.total)} s (ratio ${(serial.ms / serial.floor.total).toFixed(3)}); load at the starts ${run.load} / ${serial.load}`
    })
  }
  return results
}
