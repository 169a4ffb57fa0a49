// Taking a K3s node out: drained from the first server, k3s stopped on it (so it does not register again),
// then its Node and node-password secret deleted — for a server, k3s removes its etcd member with the
// Node. And wiping one before destroy: the uninstall script k3s's installer left.
import type { NodeSpec } from '../../../config/model.js'
import { TpiError } from '../../../errors.js'
import type { PhaseContext } from '../../../phases/types.js'
import { runChecked, withPool } from '../../../remote/shells.js'
import { topology } from '../config.js'
import { forgetNodeScript } from '../remote-scripts.js'
import { drainScript, stopNodeScript, uninstallScript } from './scripts.js'

// Scale down runs before the deploy's phases; its failures name the phase that owns membership.
const PHASE = 'join'

export async function removeK3sNode(ctx: PhaseContext, node: NodeSpec): Promise<void> {
  const first = topology(ctx.cluster).first
  await withPool(ctx, 'remove', async (pool) => {
    const main = await pool.shell(first)
    await runChecked(main, PHASE, node, `draining ${node.hostname}`, drainScript(node.hostname), {
      timeoutMs: 360_000
    })
    ctx.reporter.info(`${node.id}: cordoned and drained`)
    // Stopped before its Node goes, so it does not register again; an unreachable node is removed anyway.
    const own = await pool.shell(node).catch(() => undefined)
    if (own) await own.exec(stopNodeScript(node.role), { timeoutMs: 120_000 })
    await runChecked(main, PHASE, node, `removing ${node.hostname} from the cluster`, forgetNodeScript(node.hostname), {
      timeoutMs: 120_000
    })
    ctx.reporter.info(
      `${node.id}: Node and node-password secret deleted${node.role === 'controlplane' ? ', etcd member removed' : ''}`
    )
  })
}

export async function wipeK3sNode(ctx: PhaseContext, node: NodeSpec): Promise<string> {
  const out = await withPool(ctx, 'destroy', async (pool) =>
    (await pool.shell(node)).exec(uninstallScript(node.role), { timeoutMs: 300_000 })
  )
  if (out.code !== 0) throw new TpiError('WipeFailed', out.stderr.trim().split('\n').pop() || `exit ${out.code}`)
  return out.stdout.trim() === 'uninstalled' ? 'k3s uninstalled' : 'k3s was not installed'
}
