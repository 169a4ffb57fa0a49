// command: destroy — the end of a cluster's life: guarded by confirm = cluster name, it optionally wipes
// each node (K3s: its uninstall script), powers every node off through its BMC, and deletes the cluster's
// state (host keys, checkpoints). Artifacts (backups, credentials) stay. Every step is reported.
import { rm } from 'node:fs/promises'
import type { BoardSpec, NodeSpec } from '../../config/model.js'
import { TpiError } from '../../errors.js'
import { withPool } from '../../remote/shells.js'
import type { PhaseContext } from '../../phases/types.js'

export const DESTROY_KEY = 'destroy'

export interface DestroyResult {
  steps: string[]
}

/** The uninstall script K3s's installer left on the node (server or agent). */
export function uninstallScript(role: NodeSpec['role']): string {
  const file = role === 'controlplane' ? '/usr/local/bin/k3s-uninstall.sh' : '/usr/local/bin/k3s-agent-uninstall.sh'
  return `set -eu\nif [ -x ${file} ]; then ${file} >/dev/null 2>&1; echo uninstalled; else echo absent; fi\n`
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
    if (cluster.kind !== 'k3s')
      throw new TpiError(
        'DestroyUnsupported',
        'wipe: true for Talos is not in this build yet (talosctl reset); nothing was changed'
      )
    await withPool(ctx, 'destroy', async (pool) => {
      for (const node of cluster.nodes) {
        const out = await (
          await pool.shell(node)
        )
          .exec(uninstallScript(node.role), { timeoutMs: 300_000 })
          .catch((e: Error) => ({ code: 1, stdout: '', stderr: e.message }))
        note(
          out.code === 0
            ? `${node.id}: k3s ${out.stdout.trim() === 'uninstalled' ? 'uninstalled' : 'was not installed'}`
            : `${node.id}: wipe failed (${out.stderr.trim().split('\n').pop()}); powering off anyway`
        )
      }
    })
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
