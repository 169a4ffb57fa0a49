// The wave as an upgrade phase runs it, for any kind: the file's drain and cluster time-outs, the run's
// sleep and reporter, the memory kept in state-dir (saved after each change), and the node timings handed
// to the job summary even when the wave stops.
import type { PhaseContext } from '../phases/types.js'
import type { NodeStep } from './order.js'
import type { Hop } from './path.js'
import { waveMemoryOf } from './memory.js'
import { runWave, type NodeTiming, type WaveDriver } from './wave.js'

/** Between two looks at a node coming back (the wave starts sooner and backs off to this). */
export const POLL_MS = 2_000

export async function phaseWave(
  ctx: PhaseContext,
  i: {
    order: NodeStep[]
    hops: Hop[]
    driver: WaveDriver
    /** Ready at the old version means an A/B fallback (Talos). */
    abFallback: boolean
    /** The phase's summary timings: this wave's are appended, also when it stops. */
    timings: NodeTiming[]
  }
): Promise<NodeTiming[]> {
  try {
    const result = await runWave(i.order, i.hops, i.driver, {
      abFallback: i.abFallback,
      drainTimeoutMs: ctx.cluster.drain_timeout * 1000,
      readyTimeoutMs: ctx.cluster.cluster_timeout * 1000,
      pollMs: POLL_MS,
      sleep: ctx.deps.sleep,
      now: Date.now,
      memory: waveMemoryOf(ctx),
      save: () => ctx.state.save(),
      log: (line) => ctx.reporter.info(line)
    })
    i.timings.push(...result)
    return result
  } catch (error) {
    const stopped = error as Error & { timings?: NodeTiming[] }
    if (stopped.timings) i.timings.push(...stopped.timings)
    throw error
  }
}
