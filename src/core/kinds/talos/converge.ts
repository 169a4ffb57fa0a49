// Applying a node's machine config with the least disruption: a node in maintenance mode gets it over the
// insecure service (it then installs to disk and reboots); a configured node is compared first (with the
// config it holds; on a difference, or when that cannot tell, by --dry-run) and changed only on a real
// difference, with no-reboot when that takes it and reboot only when the change needs one (said in the
// log and the plan).
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { PhaseError } from '../../errors.js'
import type { RunOutputs } from '../../phases/types.js'
import { changesSoFar } from '../../remote/observations.js'
import { parseDryRun, sameConfig } from './answers.js'
import { applyArgv } from './argv.js'
import type { NodeConfig } from './configs.js'
import type { Observed } from './observe.js'

export type ApplyDecision =
  | { kind: 'install'; reason: string }
  | { kind: 'unchanged'; reason: string }
  | { kind: 'apply'; reboot: boolean; reason: string }

// Runs whose install phase found every node configured and its running config equal to the wanted one,
// with the run's change count at that moment: the join phase needs no health wait while it still holds.
const convergedAt = new WeakMap<RunOutputs, number>()

/** The install phase of this run changed nothing on any node. */
export function markConverged(outputs: RunOutputs): void {
  convergedAt.set(outputs, changesSoFar(outputs))
}

/** Whether this run's install phase found every node unchanged and no phase changed anything since. */
export const convergedSinceInstall = (outputs: RunOutputs): boolean =>
  convergedAt.get(outputs) === changesSoFar(outputs)

const RESUME = 're-run the workflow; nodes already configured are compared and left alone when unchanged'

const tail = (text: string): string => text.trim().split('\n').slice(-3).join(' | ').slice(0, 400)

/** Read-only: what applying this config would do to the node. */
export async function decideApply(
  talosctl: Talosctl,
  seen: Observed,
  config: NodeConfig,
  talosconfig: string,
  phase = 'install'
): Promise<ApplyDecision> {
  const { node } = seen
  if (seen.mode === 'maintenance')
    return {
      kind: 'install',
      reason: `maintenance mode: config applied, Talos installs to ${node.install_disk ?? '/dev/mmcblk0'} and reboots`
    }
  if (seen.mode === 'unreachable') {
    throw new PhaseError(
      phase,
      node.id,
      `the Talos API on ${node.ip}:50000 did not answer (${seen.detail || 'no answer'})`,
      'check that the node is powered and booted (the boot phase waits for it), then re-run',
      { code: 'TalosUnreachable' }
    )
  }
  // The node's applied config (observe.ts) decides a converged node without a call of its own: it holds
  // what an earlier run rendered from the same inputs, or exactly the config rendered now. A difference
  // still goes through the node's dry run, which says whether applying it needs a reboot.
  if (config.unchanged) return { kind: 'unchanged', reason: 'running config equals the wanted one' }
  if (seen.applied && config.docs && sameConfig(seen.applied, config.docs) === true)
    return { kind: 'unchanged', reason: 'running config equals the wanted one' }
  const r = await talosctl.run(applyArgv({ ip: node.ip, file: config.path, mode: 'auto', dryRun: true, talosconfig }))
  const text = `${r.stdout}\n${r.stderr}`
  if (r.code !== 0) {
    const pki = /certificate|authentication handshake|Unauthenticated|PermissionDenied/i.test(text)
    throw new PhaseError(
      phase,
      node.id,
      pki
        ? `the node's Talos API refused this cluster's credentials (${tail(text)}): the talos-secrets bundle is not the one this node was configured with`
        : `talosctl apply-config --dry-run failed (exit ${r.code}): ${tail(text)}`,
      pki ? 'pass the bundle of the first deploy as the talos-secrets input, then re-run' : RESUME,
      { code: pki ? 'TalosPkiMismatch' : 'TalosDryRun' }
    )
  }
  const d = parseDryRun(text)
  if (!d.changed) return { kind: 'unchanged', reason: 'running config equals the wanted one' }
  return {
    kind: 'apply',
    reboot: d.reboot,
    reason: d.reboot ? 'config differs; the change needs a reboot' : 'config differs; applied without a reboot'
  }
}

/** Applies per the decision; returns whether the node reboots (install or a reboot-mode apply). */
export async function applyDecision(
  talosctl: Talosctl,
  seen: Observed,
  config: NodeConfig,
  talosconfig: string,
  d: ApplyDecision
): Promise<boolean> {
  if (d.kind === 'unchanged') return false
  const { node } = seen
  const argv =
    d.kind === 'install'
      ? applyArgv({ ip: node.ip, file: config.path, mode: 'auto', insecure: true })
      : applyArgv({ ip: node.ip, file: config.path, mode: d.reboot ? 'reboot' : 'no-reboot', talosconfig })
  const r = await talosctl.run(argv)
  if (r.code !== 0)
    throw new PhaseError(
      'install',
      node.id,
      `talosctl apply-config failed (exit ${r.code}): ${tail(`${r.stdout}\n${r.stderr}`)}`,
      RESUME,
      { code: 'TalosApply' }
    )
  return d.kind === 'install' || d.reboot
}
