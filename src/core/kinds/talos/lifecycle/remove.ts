// Taking a Talos node out of the cluster (scale down): `talosctl reset --graceful`, which cordons and
// drains it and, for a control plane, leaves etcd, then wipes it and shuts it down; once its API is gone
// its Node is deleted with the runner's kubectl (Talos does not delete it). And wiping one before destroy:
// a reset without the graceful part (the whole cluster goes), every partition wiped, the node shut down.
import type { NodeSpec } from '../../../config/model.js'
import { PhaseError, TpiError } from '../../../errors.js'
import { KUBECTL_VERSION } from '../../../phases/addons/tools.js'
import { readOnlyKubeconfig } from '../../../phases/kube-access.js'
import type { PhaseContext } from '../../../phases/types.js'
import { kubectl } from '../../../tools/catalog.js'
import { serverVersionArgv } from '../argv.js'
import { talosCtx } from '../factory.js'
import { runnerArch } from '../tool.js'
import { pollUntil, talosAccess, type TalosAccess } from './access.js'
import { lastLines, unreachable } from './answers.js'
import { resetArgv } from './argv.js'

// Scale down runs before the deploy's phases; its failures name the phase that owns membership.
const PHASE = 'join'

/** Waits (bounded) until the node's API stops answering: the reset finished and the node shut down. */
async function waitGone(ctx: PhaseContext, a: TalosAccess, node: NodeSpec, timeoutMs: number): Promise<boolean> {
  return pollUntil(
    ctx,
    timeoutMs,
    async () => (await a.talosctl.run(serverVersionArgv(node.ip, a.talosconfig), { timeoutMs: 15_000 })).code !== 0
  )
}

export async function removeTalosNode(ctx: PhaseContext, node: NodeSpec): Promise<void> {
  const c = talosCtx(ctx).cluster
  const a = await talosAccess(ctx, PHASE)
  const r = await a.talosctl.run(
    resetArgv({ ip: node.ip, talosconfig: a.talosconfig, graceful: true, reboot: false }),
    { timeoutMs: 600_000 }
  )
  const text = `${r.stdout}\n${r.stderr}`
  if (r.code !== 0 && !(node.role === 'worker' && unreachable(text)))
    throw new PhaseError(
      PHASE,
      node.id,
      `talosctl reset --graceful on ${node.ip} failed (exit ${r.code}): ${lastLines(text)}`,
      node.role === 'controlplane'
        ? 'a control plane that cannot leave etcd is not removed: bring it back, or remove its member by hand (talosctl etcd remove-member), then re-run'
        : 're-run the deploy; nothing was powered off',
      { code: 'TalosReset' }
    )
  if (r.code !== 0)
    ctx.reporter.warn(`${node.id}: the Talos API does not answer (${lastLines(text, 1)}); removed anyway`)
  else {
    if (!(await waitGone(ctx, a, node, c.boot_timeout * 1000)))
      throw new PhaseError(
        PHASE,
        node.id,
        `${node.ip} still answers ${c.boot_timeout} s after talosctl reset --graceful`,
        're-run the deploy once the reset finished; nothing was powered off',
        { code: 'TalosReset' }
      )
    ctx.reporter.info(
      `${node.id}: reset gracefully (cordoned, drained${node.role === 'controlplane' ? ', left etcd' : ''}, wiped, shut down)`
    )
  }
  const kubeconfig = await readOnlyKubeconfig(ctx)
  if (!kubeconfig) {
    ctx.reporter.warn(`${node.id}: no kubeconfig for the cluster, so Node ${node.hostname} was not deleted`)
    return
  }
  const tool = await ctx.deps.downloads.fetch(kubectl(KUBECTL_VERSION, runnerArch(), ctx.settings.mirror))
  const del = await ctx.deps.exec(
    tool.path,
    ['delete', 'node', node.hostname, '--ignore-not-found', '--kubeconfig', kubeconfig],
    { timeoutMs: 120_000 }
  )
  if (del.code !== 0)
    throw new PhaseError(
      PHASE,
      node.id,
      `kubectl delete node ${node.hostname} failed (exit ${del.code}): ${lastLines(del.stderr || del.stdout)}`,
      're-run the deploy; the node is already reset',
      { code: 'NodeDelete' }
    )
  ctx.reporter.info(`${node.id}: Node ${node.hostname} deleted`)
}

export async function wipeTalosNode(ctx: PhaseContext, node: NodeSpec): Promise<string> {
  const a = await talosAccess(ctx, 'destroy')
  const r = await a.talosctl.run(
    resetArgv({ ip: node.ip, talosconfig: a.talosconfig, graceful: false, reboot: false }),
    { timeoutMs: 120_000 }
  )
  if (r.code !== 0) throw new TpiError('WipeFailed', lastLines(`${r.stdout}\n${r.stderr}`, 1) || `exit ${r.code}`)
  if (!(await waitGone(ctx, a, node, 120_000)))
    throw new TpiError('WipeFailed', `${node.ip} still answers 120 s after talosctl reset`)
  return 'Talos reset (every partition wiped), shut down'
}
