// Scale down: a node deployed before but no longer in the file is, with confirm = the cluster name,
// cordoned and drained, removed from the cluster (K3s: its Node and node-password secret deleted — for a
// server, k3s removes its etcd member with the Node — after k3s is stopped on it), powered off through
// its BMC, and forgotten by the state. Without confirm it is only reported. A removal that would break
// etcd's quorum is refused before anything changes.
import type { BoardSpec, NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { topology, type K3sCluster } from '../../kinds/k3s/config.js'
import { forgetNodeScript } from '../../kinds/k3s/remote-scripts.js'
import { script } from '../../remote/script.js'
import { runChecked, withPool } from '../../remote/shells.js'
import type { PhaseContext, PlanStep } from '../../phases/types.js'
import { quorumProblem, removedNodes, type Placement } from './placement.js'

const PHASE = 'join'

export function drainScript(hostname: string): string {
  return script(
    { NODE_NAME: hostname },
    `
k3s kubectl cordon "$NODE_NAME" >/dev/null
k3s kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout=300s >/dev/null
echo "tpi-result: changed drained=$NODE_NAME"`
  )
}

export function stopNodeScript(role: NodeSpec['role']): string {
  return script(
    { UNIT: role === 'controlplane' ? 'k3s' : 'k3s-agent' },
    'systemctl disable --now "$UNIT" >/dev/null 2>&1 || true\necho "tpi-result: changed stopped=$UNIT"'
  )
}

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
  if (cluster.kind !== 'k3s')
    throw new PhaseError(
      PHASE,
      removed[0]!.id,
      'removing a Talos node is not in this build yet (talosctl reset --graceful)',
      'put it back in the file, or reset it by hand'
    )
  const first = topology(cluster as K3sCluster).first
  const done: string[] = []
  await withPool(ctx, 'remove', async (pool) => {
    for (const r of removed) {
      const spec = asSpec(r)
      const main = await pool.shell(first)
      await runChecked(main, PHASE, spec, `draining ${r.hostname}`, drainScript(r.hostname), { timeoutMs: 360_000 })
      reporter.info(`${r.id}: cordoned and drained`)
      // Stopped before its Node goes, so it does not register again; an unreachable node is removed anyway.
      const own = await pool.shell(spec).catch(() => undefined)
      if (own) await own.exec(stopNodeScript(r.role), { timeoutMs: 120_000 })
      await runChecked(main, PHASE, spec, `removing ${r.hostname} from the cluster`, forgetNodeScript(r.hostname), {
        timeoutMs: 120_000
      })
      reporter.info(
        `${r.id}: Node and node-password secret deleted${r.role === 'controlplane' ? ', etcd member removed' : ''}`
      )
      const board = cluster.boardList.find((b) => b.name === r.board) as BoardSpec | undefined
      if (board) {
        await (await ctx.deps.bmc(board)).setPower(r.slot, false)
        reporter.info(`${r.id}: powered off (board ${r.board}, slot ${r.slot})`)
      } else reporter.warn(`${r.id}: board ${r.board} is no longer in the cluster file, so it was not powered off`)
      await ctx.state.forget(r.id)
      done.push(r.id)
    }
  })
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
