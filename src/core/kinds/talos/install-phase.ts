// Phase install (Talos, cluster scope): secrets bundle, machine configs generated and validated for every
// node before any node is touched, then applied with the least disruption. Image and schematic were
// resolved before the flash (resolveTalosImage); this phase only needs the schematic id for the
// installer image.
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../phases/types.js'
import type { NodeConfig } from './configs.js'
import { applyDecision, decideApply, markConverged, type ApplyDecision } from './converge.js'
import { talosDrift } from './drift.js'
import { localSchematic, talosCtx } from './factory.js'
import { waitRunning, type Observed } from './observe.js'
import { prepare } from './prepare.js'

const describe = (d: ApplyDecision): string =>
  d.kind === 'install'
    ? 'install'
    : d.kind === 'unchanged'
      ? 'unchanged'
      : d.reboot
        ? 'apply (reboot)'
        : 'apply (no reboot)'

async function run(ctx: PhaseContext): Promise<StepResult> {
  const c = talosCtx(ctx).cluster
  const p = await prepare(ctx)
  const lines: string[] = []
  const rebooting: Observed[] = []
  // Control planes first (they are first in the list); a rebooting configured control plane is waited
  // for before the next node, so an HA etcd never loses two members at once.
  // Comparing is read-only: all nodes at once. Applying is one node at a time.
  const decisions = await Promise.all(
    p.observed.map((seen) => decideApply(p.talosctl, seen, p.configs.get(seen.node.id) as NodeConfig, p.talosconfig))
  )
  for (const [i, seen] of p.observed.entries()) {
    const config = p.configs.get(seen.node.id) as NodeConfig
    const d = decisions[i] as ApplyDecision
    ctx.reporter.info(`${seen.node.id}: ${describe(d)} — ${d.reason}`)
    const reboots = await applyDecision(p.talosctl, seen, config, p.talosconfig, d)
    lines.push(`${seen.node.id}: ${describe(d)}`)
    if (d.kind !== 'unchanged') await ctx.state.markDone(seen.node.id, 'install', config.sha256)
    if (reboots && d.kind === 'apply')
      await waitRunning({
        talosctl: p.talosctl,
        deps: ctx.deps,
        node: seen.node,
        talosconfig: p.talosconfig,
        timeoutMs: c.boot_timeout * 1000,
        phase: 'install'
      })
    else if (reboots) rebooting.push(seen)
  }
  // Fresh installs run in parallel: wait for all of them once.
  await Promise.all(
    rebooting.map((seen) =>
      waitRunning({
        talosctl: p.talosctl,
        deps: ctx.deps,
        node: seen.node,
        talosconfig: p.talosconfig,
        timeoutMs: c.boot_timeout * 1000,
        phase: 'install'
      })
    )
  )
  const changed = lines.some((l) => !l.endsWith(': unchanged'))
  if (!changed && p.observed.length === c.nodes.length) markConverged(ctx.outputs)
  return {
    changed,
    summary: changed ? lines.filter((l) => !l.endsWith(': unchanged')).join('; ') : `${lines.length} node(s) unchanged`
  }
}

/** Plan rows: the schematic and image, then per node whether a config is applied and whether it reboots. */
async function plan(ctx: PhaseContext): Promise<PlanStep[]> {
  const c = talosCtx(ctx).cluster
  const steps: PlanStep[] = []
  const order = ['', ...c.nodes.map((n) => n.id)]
  if (c.image_source === 'factory') {
    const s = localSchematic(ctx)
    steps.push({
      phase: 'install',
      action: 'run',
      reason: `Image Factory schematic ${s.id}${s.addedForLonghorn.length ? ` (adds ${s.addedForLonghorn.join(', ')} for Longhorn)` : ''}`,
      details: {
        schematic: s.id,
        image: `factory.talos.dev/image/${s.id}/${c.talos_version}/metal-arm64.raw.xz`,
        installer: `factory.talos.dev/metal-installer/${s.id}:${c.talos_version}`
      }
    })
  }
  try {
    const p = await prepare(ctx, { readOnly: true })
    await Promise.all(
      p.observed.map(async (seen) => {
        const config = p.configs.get(seen.node.id)
        try {
          if (!config && seen.mode === 'configured')
            throw new Error('configured node, but no talos-secrets input to compare its config with')
          const d = config
            ? await decideApply(p.talosctl, seen, config, p.talosconfig)
            : await decideApply(p.talosctl, seen, { node: seen.node, path: '', sha256: '' }, '')
          steps.push({
            phase: 'install',
            node: seen.node.id,
            action: d.kind === 'unchanged' ? 'skip' : d.kind === 'install' ? 'run' : 'change',
            reason: d.reason,
            details: { reboot: d.kind === 'unchanged' ? 'no' : d.kind === 'install' || d.reboot ? 'yes' : 'no' }
          })
        } catch (error) {
          steps.push({ phase: 'install', node: seen.node.id, action: 'blocked', reason: (error as Error).message })
        }
      })
    )
    steps.sort((a, b) => order.indexOf(a.node ?? '') - order.indexOf(b.node ?? ''))
  } catch (error) {
    for (const node of ctx.nodes)
      steps.push({
        phase: 'install',
        node: node.id,
        action: 'run',
        reason: `not observed (${(error as Error).message}); would generate, validate and apply its machine config`
      })
  }
  return steps
}

export const talosInstallPhase: PhaseModule = {
  name: 'install',
  scope: 'cluster',
  appliesTo: (cluster) => cluster.kind === 'talos',
  plan,
  run,
  drift: talosDrift
}
