// Everything the install phase (and plan, drift, upgrade, kube access) does before touching a node: observe
// every node, obtain the secrets bundle, render and validate the machine configs, write the talosconfig.
// Done once per run while no phase changes anything: lifecycle access, upgrade and install of one converged
// run share one observation and one rendering (a phase that changes a node bumps the run's change count,
// and the next caller prepares afresh).
import { chmod, copyFile, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { maskCredential } from '../../crypto/mask.js'
import { perRun } from '../../phases/per-run.js'
import type { PhaseContext } from '../../phases/types.js'
import { changesSoFar } from '../../remote/observations.js'
import { credentialsDir } from '../../state/credentials.js'
import { renderConfigs, writeTalosconfig, type NodeConfig } from './configs.js'
import { talosCtx } from './factory.js'
import { observeAll, type Observed } from './observe.js'
import { secretsBundle, storedBundle, workDir } from './secrets.js'
import { serverTags } from './answers.js'
import { serverVersionsArgv } from './argv.js'
import { ensureTalosctl } from './tool.js'

export interface Prepared {
  talosctl: Talosctl
  observed: Observed[]
  configs: Map<string, NodeConfig>
  talosconfig: string
  /** Each configured node's Talos version, by node id: one `talosctl version` over them all, when first asked. */
  versions: () => Promise<Record<string, string | undefined>>
}

// Read-only preparations of this run, by node selection, validation and change count.
const readOnlyRuns = perRun<Prepared>()

const key = (ctx: PhaseContext, validate: boolean): string =>
  `${ctx.nodes.map((n) => n.id).join(',')}|${validate ? 'validated' : 'rendered'}|${changesSoFar(ctx.outputs)}`

/**
 * Everything up to (not including) touching a node: observe, secrets, configs, validation, talosconfig.
 * readOnly (plan, drift): never generates a bundle, writes the talosconfig to the temp folder, not
 * state-dir; without a bundle there are no configs to compare (configs is empty). A deploy with a kept
 * bundle takes this run's read-only preparation when nothing changed since and copies its talosconfig
 * into the credentials folder: the same bundle renders the same files.
 */
export async function prepare(ctx: PhaseContext, options: { readOnly?: boolean } = {}): Promise<Prepared> {
  // Drift never applies what it renders; the deploy and plan validate before any node is touched.
  const validate = !(options.readOnly && ctx.settings.command === 'drift')
  const shared = (): Promise<Prepared> => readOnlyRuns(ctx.outputs, () => prepareNow(ctx, true), key(ctx, validate))
  if (options.readOnly) return shared()
  if (!(await storedBundle(ctx))) return prepareNow(ctx, false)
  const p = await shared()
  // Only a cluster seen fully configured is taken as is: a node that was in maintenance or did not answer
  // may have booted since without any phase reporting a change, so it is looked at again.
  if (!p.talosconfig || p.observed.some((o) => o.mode !== 'configured')) return prepareNow(ctx, false)
  const path = join(await credentialsDir(ctx.settings), 'talosconfig')
  await copyFile(p.talosconfig, path)
  await chmod(path, 0o600)
  maskCredential(ctx.reporter, 'talosconfig', await readFile(path, 'utf8'))
  ctx.outputs.talosconfigPath = path
  return { ...p, talosconfig: path }
}

async function prepareNow(ctx: PhaseContext, readOnly: boolean): Promise<Prepared> {
  const talosctl = await ensureTalosctl(ctx)
  const nodes = talosCtx(ctx).cluster.nodes
  const selected = new Set(ctx.nodes.map((n) => n.id))
  const kept = await storedBundle(ctx)
  // With the bundle at hand the talosconfig comes first: one `get machineconfig` then sees every configured
  // node and what it holds. Without it (first deploy, or plan without the input) nodes are asked one by one.
  const talosconfigPath = async (bundle: string): Promise<string> =>
    writeTalosconfig(ctx, talosctl, bundle, readOnly ? join(await workDir(ctx), 'talosconfig') : undefined)
  const early = kept ? await talosconfigPath(kept.path) : undefined
  const observed = await observeAll(talosctl, nodes, early)
  const exists = observed.some((o) => o.mode === 'configured')
  const mine = observed.filter((o) => selected.has(o.node.id))
  const versions = versionsOnce(talosctl, mine, () => early)
  const bundle = kept ?? (readOnly ? undefined : await secretsBundle(ctx, talosctl, exists))
  if (!bundle) return { talosctl, observed: mine, configs: new Map(), talosconfig: '', versions }
  const configs = await renderConfigs(ctx, talosctl, bundle.path, ctx.nodes, {
    validate: !(readOnly && ctx.settings.command === 'drift'),
    applied: new Map(mine.map((o) => [o.node.id, o.applied]))
  })
  const talosconfig = early ?? (await talosconfigPath(bundle.path))
  return { talosctl, observed: mine, configs, talosconfig, versions: versionsOnce(talosctl, mine, () => talosconfig) }
}

/** Each configured node's Talos version (undefined: it did not say), asked once, in one call, when first wanted. */
function versionsOnce(
  talosctl: Talosctl,
  observed: Observed[],
  talosconfig: () => string | undefined
): () => Promise<Record<string, string | undefined>> {
  let asked: Promise<Record<string, string | undefined>> | undefined
  return () =>
    (asked ??= (async () => {
      const configured = observed.filter((o) => o.mode === 'configured')
      const tc = talosconfig()
      const out: Record<string, string | undefined> = {}
      if (!configured.length || !tc) return out
      const r = await talosctl.run(
        serverVersionsArgv(
          configured.map((o) => o.node.ip),
          tc
        ),
        { timeoutMs: 30_000 }
      )
      const tags = serverTags(r.stdout)
      for (const o of configured) out[o.node.id] = tags[o.node.ip]
      return out
    })())
}
