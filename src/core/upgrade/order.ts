// Which node goes when, and what stands in a drain's way: pure, from the file's nodes and what was
// observed on them. Control planes (K3s servers) go first, one at a time, then workers (agents), so a
// kubelet is never newer than the API server it talks to; a downgrade reverses that for the same reason.
import type { NodeSpec } from '../config/model.js'
import { compareVersions, parseVersion } from './versions.js'

export interface NodeStep {
  node: string
  role: NodeSpec['role']
  ip: string
  from: string
  to: string
  action: 'upgrade' | 'skip'
  reason: string
}

/**
 * The wave's order. A node already at the target is skipped (a re-run after a stop resumes there); a
 * node whose version could not be read is upgraded, its from shown as unknown.
 */
export function nodeOrder(nodes: NodeSpec[], running: Record<string, string | undefined>, target: string): NodeStep[] {
  const t = parseVersion(target)
  const down = nodes.some((n) => {
    const r = parseVersion(running[n.id] ?? '')
    return r && t && compareVersions(r, t) > 0
  })
  const cps = nodes.filter((n) => n.role === 'controlplane')
  const workers = nodes.filter((n) => n.role !== 'controlplane')
  const ordered = down ? [...workers, ...cps] : [...cps, ...workers]
  return ordered.map((n) => {
    const from = running[n.id] ?? 'unknown'
    const same = from === target
    const kind = n.role === 'controlplane' ? 'control plane' : 'worker'
    return {
      node: n.id,
      role: n.role,
      ip: n.ip,
      from,
      to: target,
      action: same ? 'skip' : 'upgrade',
      reason: same ? `already at ${target}` : `${kind}: ${from} → ${target}`
    }
  })
}

export interface PodFact {
  namespace: string
  name: string
  node: string
  labels: Record<string, string>
  /** DaemonSet pods are not evicted by a drain. */
  daemonSet?: boolean
}

export interface PdbFact {
  namespace: string
  name: string
  /** matchLabels of the budget's selector. */
  selector: Record<string, string>
  disruptionsAllowed: number
}

export interface VolumeFact {
  name: string
  /** Nodes holding a healthy replica. */
  healthyReplicasOn: string[]
}

/** `kubectl get pods -o json` (or the pods of a mixed List) as facts. */
export function podsOf(json: string | unknown[]): PodFact[] {
  const items = typeof json === 'string' ? ((JSON.parse(json) as { items?: unknown[] }).items ?? []) : json
  return (
    items as {
      metadata: {
        namespace: string
        name: string
        labels?: Record<string, string>
        ownerReferences?: { kind: string }[]
      }
      spec?: { nodeName?: string }
    }[]
  ).map((p) => ({
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    node: p.spec?.nodeName ?? '',
    labels: p.metadata.labels ?? {},
    daemonSet: (p.metadata.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet')
  }))
}

/** `kubectl get poddisruptionbudgets -o json` (or the budgets of a mixed List) as facts. */
export function pdbsOf(json: string | unknown[]): PdbFact[] {
  const items = typeof json === 'string' ? ((JSON.parse(json) as { items?: unknown[] }).items ?? []) : json
  return (
    items as {
      metadata: { namespace: string; name: string }
      spec?: { selector?: { matchLabels?: Record<string, string> } }
      status?: { disruptionsAllowed?: number }
    }[]
  ).map((p) => ({
    namespace: p.metadata.namespace,
    name: p.metadata.name,
    selector: p.spec?.selector?.matchLabels ?? {},
    disruptionsAllowed: p.status?.disruptionsAllowed ?? 0
  }))
}

/**
 * One read for a drain's blockers and the node's cordon: `kubectl get pods,poddisruptionbudgets,nodes -A
 * -o json` answers one List of all three kinds.
 */
export const DRAIN_FACTS_ARGS = ['get', 'pods,poddisruptionbudgets,nodes', '--all-namespaces', '--output', 'json']

export interface DrainFacts {
  pods: PodFact[]
  pdbs: PdbFact[]
  /** Node names marked unschedulable. */
  cordoned: string[]
}

export function drainFactsOf(json: string): DrainFacts {
  const items = ((JSON.parse(json) as { items?: { kind?: string }[] }).items ?? []) as {
    kind?: string
    metadata?: { name?: string }
    spec?: { unschedulable?: boolean }
  }[]
  const of = (kind: string): unknown[] => items.filter((i) => i.kind === kind)
  return {
    pods: podsOf(of('Pod')),
    pdbs: pdbsOf(of('PodDisruptionBudget')),
    cordoned: items
      .filter((i) => i.kind === 'Node' && i.spec?.unschedulable === true)
      .map((i) => i.metadata?.name ?? '')
  }
}

const selects = (pdb: PdbFact, pod: PodFact): boolean =>
  pdb.namespace === pod.namespace && Object.entries(pdb.selector).every(([k, v]) => pod.labels[k] === v)

/**
 * What would stop a drain of this node: a PodDisruptionBudget that allows fewer disruptions than the
 * pods it guards on the node, and a Longhorn volume whose last healthy replica is here.
 */
export function drainBlockers(node: string, pods: PodFact[], pdbs: PdbFact[], volumes: VolumeFact[] = []): string[] {
  const blockers: string[] = []
  const evicted = pods.filter((p) => p.node === node && !p.daemonSet)
  for (const pdb of pdbs) {
    const guarded = evicted.filter((p) => selects(pdb, p))
    if (guarded.length > pdb.disruptionsAllowed)
      blockers.push(
        `PodDisruptionBudget ${pdb.namespace}/${pdb.name} allows ${pdb.disruptionsAllowed} disruption(s), ${guarded.length} of its pods run here (${guarded.map((p) => p.name).join(', ')})`
      )
  }
  for (const v of volumes)
    if (v.healthyReplicasOn.length === 1 && v.healthyReplicasOn[0] === node)
      blockers.push(`Longhorn volume ${v.name} has its last healthy replica here`)
  return blockers
}

/** What a kind's wave checks and does, in the plan's words: its etcd gate (if any) and its upgrade step. */
export interface KindGates {
  etcd?: string
  upgrade: string
}

/** The gates of a wave, as the plan lists them. */
export function gates(kind: KindGates, drainTimeoutSeconds: number): { before: string[]; perNode: string[] } {
  return {
    before: ['every node Ready', ...(kind.etcd ? [kind.etcd] : [])],
    perNode: [
      'cordon (recorded as cordoned by this run)',
      `drain, at most ${drainTimeoutSeconds}s (a blocking PodDisruptionBudget or pod stops the wave)`,
      kind.upgrade,
      'Ready at the new version, before-gates hold again',
      'uncordon (only if this run cordoned it)'
    ]
  }
}
