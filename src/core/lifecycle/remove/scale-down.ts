// Scale down: a node deployed before but no longer in the file is, with confirm = the cluster name,
// taken out of the cluster by its kind (removeNode: drained, out of etcd, its Node deleted), powered off
// through its BMC, and forgotten by the state. Without confirm it is only reported. A removal that would break
// etcd's quorum is refused before anything changes.
import type { BoardSpec, NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext, PlanStep } from '../../phases/types.js'
import { lifecycleOf } from '../kind-lifecycle.js'
import { quorumProblem, removedNodes, type Placement } from './placement.js'

const PHASE = 'join'

const known = (ctx: PhaseContext): string[] => ctx.state.nodeIds()

/** Plan rows for nodes the file dropped: remove, or blocked when it would break quorum. */
export function removalPlan(ctx: PhaseContext): PlanStep[] {
  const removed = removedNodes(ctx.state, ctx.cluster, known(ctx))
  const problem = quorumProblem(ctx.cluster, removed)
  return removed.map((r) => ({
    phase: PHASE,
    node: r.id,
    action: problem && r.role === 'controlplane' ? 'blocked' : 'remove',
    reason:
      problem && r.role === 'controlplane'
        ? problem
        : `no longer in the cluster file: a deploy with confirm: ${ctx.cluster.name} drains it, removes it from the cluster and powers it off (board ${r.board}, slot ${r.slot})`
  }))
}

/** Runs before the phases of a deploy. Returns the ids removed. */
export async function scaleDown(ctx: PhaseContext): Promise<string[]> {
  const { cluster, settings, reporter } = ctx
  const removed = removedNodes(ctx.state, cluster, known(ctx))
  if (!removed.length) return []
  const problem = quorumProblem(cluster, removed)
  if (problem)
    throw new PhaseError(
      PHASE,
      removed.find((r) => r.role === 'controlplane')!.id,
      `removal refused before any change: ${problem}`,
      'put the server back in the cluster file, or remove fewer servers at once'
    )
  if (settings.confirm !== cluster.name) {
    for (const r of removed)
      reporter.warn(
        `${r.id} is no longer in the cluster file; it stays in the cluster and powered until a deploy with confirm: ${cluster.name} removes it`
      )
    return []
  }
  const hooks = lifecycleOf(ctx, {
    phase: PHASE,
    what: 'removing a node',
    code: 'RemoveUnsupported',
    node: removed[0]!.id,
    byHand: 'put it back in the file, or take it out of the cluster by hand'
  })
  const done: string[] = []
  for (const r of removed) {
    await hooks.removeNode(ctx, asSpec(r))
    const board = cluster.boardList.find((b) => b.name === r.board) as BoardSpec | undefined
    if (board) {
      await (await ctx.deps.bmc(board)).setPower(r.slot, false)
      reporter.info(`${r.id}: powered off (board ${r.board}, slot ${r.slot})`)
    } else reporter.warn(`${r.id}: board ${r.board} is no longer in the cluster file, so it was not powered off`)
    await ctx.state.forget(r.id)
    done.push(r.id)
  }
  return done
}

function asSpec(r: Placement & { id: string }): NodeSpec {
  return {
    id: r.id,
    role: r.role,
    board: r.board,
    slot: r.slot,
    ip: r.ip,
    hostname: r.hostname,
    has_nvme: false,
    nvme_device: '',
    nvme_mount: '',
    labels: {},
    path: []
  }
}
