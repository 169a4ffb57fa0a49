// The pipelined order. A BMC flashes one node at a time, so flashes are serialized per board, but a
// node's later steps (boot, bootstrap) start the moment its own flash is done and overlap the next
// node's flash; separate boards flash in parallel. Total time ≈ Σflash(board) + one boot + one bootstrap.
import type { PhaseName } from '../../settings.js'

export interface NodeSteps {
  /** The BMC-bound part; serialized per board. */
  flash: () => Promise<unknown>
  /** Everything after the flash; runs concurrently with other nodes. */
  rest: () => Promise<unknown>
}

export interface PipelineOutcome<N> {
  node: N
  error?: unknown
  /** Where it failed. */
  stage?: 'flash' | 'rest'
}

/**
 * Runs every node; resolves when all are finished. A failed flash skips that node's later steps and
 * stops further flashes on the same board (a failing BMC should not be driven harder); other boards and
 * nodes already past their flash carry on, so a re-run has less left to do. Throws the first error
 * (in node order) after everything settled.
 */
export async function runPipelined<N extends { board: string }>(
  nodes: N[],
  stepsForNode: (node: N) => NodeSteps
): Promise<PipelineOutcome<N>[]> {
  const boards = new Map<string, N[]>()
  for (const n of nodes) boards.set(n.board, [...(boards.get(n.board) ?? []), n])
  const outcomes = new Map<N, PipelineOutcome<N>>()
  const running: Promise<void>[] = []
  const board = async (queue: N[]): Promise<void> => {
    let broken: unknown
    for (const node of queue) {
      const steps = stepsForNode(node)
      if (broken !== undefined) {
        outcomes.set(node, { node, error: broken, stage: 'flash' })
        continue
      }
      try {
        await steps.flash()
      } catch (error) {
        broken = error
        outcomes.set(node, { node, error, stage: 'flash' })
        continue
      }
      running.push(
        steps.rest().then(
          () => void outcomes.set(node, { node }),
          (error: unknown) => void outcomes.set(node, { node, error, stage: 'rest' })
        )
      )
    }
  }
  await Promise.all([...boards.values()].map(board))
  await Promise.all(running)
  const ordered = nodes.map((n) => outcomes.get(n) as PipelineOutcome<N>)
  const failed = ordered.find((o) => o.error !== undefined)
  if (failed) throw failed.error
  return ordered
}

/** Engine.runNodeSteps for run.ts: the 'flash' step is the BMC-bound part, all later steps the rest. */
export async function pipelinedNodeSteps<N extends { board: string }>(
  nodes: N[],
  steps: { phase: PhaseName; run: (node: N) => Promise<void> }[]
): Promise<void> {
  const flash = steps.find((s) => s.phase === 'flash')
  const rest = steps.filter((s) => s !== flash)
  await runPipelined(nodes, (node) => ({
    flash: async () => flash?.run(node),
    rest: async () => {
      for (const s of rest) await s.run(node)
    }
  }))
}
