// Everything the install phase (and plan, drift) does before touching a node: observe every node,
// obtain the secrets bundle, render and validate the machine configs, write the talosconfig.
import { join } from 'node:path'
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { perRun } from '../../phases/per-run.js'
import type { PhaseContext } from '../../phases/types.js'
import { renderConfigs, writeTalosconfig, type NodeConfig } from './configs.js'
import { talosCtx } from './factory.js'
import { observeAll, type Observed } from './observe.js'
import { secretsBundle, storedBundle, workDir } from './secrets.js'
import { ensureTalosctl } from './tool.js'

export interface Prepared {
  talosctl: Talosctl
  observed: Observed[]
  configs: Map<string, NodeConfig>
  talosconfig: string
}

// Read-only preparations of this run, by node selection: drift asks for one from the Talos check and
// again for the addons' kubeconfig; both must see (and write) the same configs, once.
const readOnlyRuns = perRun<Prepared>()

/**
 * Everything up to (not including) touching a node: observe, secrets, configs, validation, talosconfig.
 * readOnly (plan, drift): never generates a bundle, writes the talosconfig to the temp folder, not
 * state-dir, and runs once per run; without a bundle there are no configs to compare (configs is empty).
 */
export function prepare(ctx: PhaseContext, options: { readOnly?: boolean } = {}): Promise<Prepared> {
  if (!options.readOnly) return prepareNow(ctx, false)
  return readOnlyRuns(ctx.outputs, () => prepareNow(ctx, true), ctx.nodes.map((n) => n.id).join(','))
}

async function prepareNow(ctx: PhaseContext, readOnly: boolean): Promise<Prepared> {
  const talosctl = await ensureTalosctl(ctx)
  const observed = await observeAll(talosctl, talosCtx(ctx).cluster.nodes)
  const exists = observed.some((o) => o.mode === 'configured')
  const selected = new Set(ctx.nodes.map((n) => n.id))
  const mine = observed.filter((o) => selected.has(o.node.id))
  const bundle = readOnly ? await storedBundle(ctx) : await secretsBundle(ctx, talosctl, exists)
  if (!bundle) return { talosctl, observed: mine, configs: new Map(), talosconfig: '' }
  // Drift never applies what it renders; the deploy and plan validate before any node is touched.
  const configs = await renderConfigs(ctx, talosctl, bundle.path, ctx.nodes, {
    validate: !(readOnly && ctx.settings.command === 'drift')
  })
  const talosconfig = await writeTalosconfig(
    ctx,
    talosctl,
    bundle.path,
    readOnly ? join(await workDir(ctx), 'talosconfig') : undefined
  )
  return { talosctl, observed: mine, configs, talosconfig }
}
