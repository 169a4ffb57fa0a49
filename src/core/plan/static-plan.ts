// The plan before anything is observed: every phase that applies to the cluster kind, for every
// selected node, with the reason it would run. Phase modules that can observe (flash, k3s, talos,
// addons) replace their rows with observed ones; this is what remains when they cannot (no BMC
// password, nodes unreachable) and what `plan` shows on a fresh checkout.
import type { Cluster, NodeSpec } from '../config/model.js'
import { kindOf } from '../kinds/index.js'
import type { PlanStep } from '../phases/types.js'
import type { PhaseName } from '../settings.js'

/** Phases that apply to a cluster, in execution order. */
export function phasesFor(cluster: Cluster): PhaseName[] {
  const extra = kindOf(cluster).extraPhases(cluster)
  // Before install: a running node at another version is upgraded by the gated wave, never by install.
  const phases: PhaseName[] = ['flash', 'boot', ...extra.afterBoot, 'upgrade', 'install', 'join']
  if (Object.entries(cluster.addons).some(([k, v]) => k !== 'prune' && v === true) || cluster.longhorn)
    phases.push('addons')
  phases.push(...extra.afterAddons)
  return phases
}

function wantedAddons(cluster: Cluster): string[] {
  const a = cluster.addons
  const names: string[] = []
  if (a.metallb) names.push('metallb')
  if (a.traefik) names.push('traefik')
  if (a.nginx_ingress) names.push('ingress-nginx')
  if (cluster.longhorn) names.push('longhorn')
  if (a.prometheus) names.push('kube-prometheus-stack')
  if (a.portainer_agent) names.push('portainer-agent')
  return names
}

function nodeRows(cluster: Cluster, node: NodeSpec, phase: PhaseName): PlanStep[] {
  const where = `board ${node.board} slot ${node.slot}`
  const row = (reason: string, details?: Record<string, string>): PlanStep[] => [
    { phase, node: node.id, action: 'run', reason, ...(details ? { details } : {}) }
  ]
  const kind = kindOf(cluster)
  switch (phase) {
    case 'flash':
      return row(`not observed yet: would write ${kind.image.name(cluster)} to ${where}`, { slot: where })
    case 'boot':
      return row(`power on ${where} and wait for ${kind.probe.waitsFor} at ${node.ip}`)
    default: {
      const reason = kind.staticReason(cluster, node, phase)
      return reason === undefined ? [] : row(reason)
    }
  }
}

export function staticPlan(cluster: Cluster, nodes: NodeSpec[], phases: PhaseName[]): PlanStep[] {
  const steps: PlanStep[] = []
  for (const phase of phases) {
    if (phase === 'addons') {
      for (const addon of wantedAddons(cluster))
        steps.push({ phase, action: 'run', reason: `install ${addon} (not observed yet)` })
      continue
    }
    for (const node of nodes) steps.push(...nodeRows(cluster, node, phase))
  }
  return steps
}
