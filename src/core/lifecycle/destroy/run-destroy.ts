// command: destroy — the end of a cluster's life: guarded by confirm = cluster name, it optionally wipes
// each node (the kind's wipeNode: K3s its uninstall script), powers every node off through its BMC, and deletes the cluster's
// state (host keys, checkpoints). Artifacts (backups, credentials) stay. Every step is reported.
import { rm } from 'node:fs/promises'
import type { BoardSpec } from '../../config/model.js'
import { TpiError } from '../../errors.js'
import type { PhaseContext } from '../../phases/types.js'
import { lifecycleOf } from '../kind-lifecycle.js'

export const DESTROY_KEY = 'destroy'

export interface DestroyResult {
  steps: string[]
}

export async function runDestroy(ctx: PhaseContext): Promise<DestroyResult> {
  const { cluster, settings, reporter } = ctx
  if (settings.confirm !== cluster.name)
    throw new TpiError(
      'DestroyRefused',
      `destroy refused before any change: confirm is ${settings.confirm ? JSON.stringify(settings.confirm) : 'not set'}; destroy powers off every node of "${cluster.name}" and deletes its state, so set confirm to the cluster name`
    )
  const steps: string[] = []
  const note = (s: string): void => {
    steps.push(s)
    reporter.info(s)
  }
  if (settings.wipe) {
    const hooks = lifecycleOf(ctx, {
      phase: 'destroy',
      what: 'wipe: true',
      code: 'DestroyUnsupported',
      byHand: 'run destroy without wipe, or wipe the nodes by hand (or flash a blank image)'
    })
    for (const node of cluster.nodes) {
      const outcome = await hooks.wipeNode(ctx, node).then(
        (done) => `${node.id}: ${done}`,
        (e: Error) => `${node.id}: wipe failed (${e.message.split('\n').pop()}); powering off anyway`
      )
      note(outcome)
    }
  }
  const boards = new Map<string, BoardSpec>(cluster.boardList.map((b) => [b.name, b]))
  // One logged-in client per board, not one per node.
  const clients = new Map<string, ReturnType<typeof ctx.deps.bmc>>()
  for (const node of cluster.nodes) {
    if (!clients.has(node.board)) clients.set(node.board, ctx.deps.bmc(boards.get(node.board)!))
    const bmc = await clients.get(node.board)!
    await bmc.setPower(node.slot, false)
    note(`${node.id}: powered off (board ${node.board}, slot ${node.slot})`)
  }
  await rm(ctx.state.dir, { recursive: true, force: true })
  note(`state of ${cluster.name} deleted (${ctx.state.dir}); artifacts were kept`)
  ctx.outputs.values[DESTROY_KEY] = { steps }
  return { steps }
}
