// The Talos upgrade as `plan` shows it: the Talos path (talosctl at the running version for each hop,
// one control plane at a time, each node addressed by its own IP, never the VIP), the Kubernetes path
// (upgrade-k8s), which goes first, and the gates; refusals name the rule and what to do instead. Pure:
// the phase observes, this decides.
import type { NodeSpec } from '../../config/model.js'
import type { PlanStep } from '../../phases/types.js'
import { installerImage } from './schematic.js'
import { gates, nodeOrder, type KindGates } from '../../upgrade/order.js'
import { talosPath } from '../../upgrade/path.js'

/** Talos: etcd status on each control plane; a node is upgraded by talosctl against its own IP. */
export const TALOS_GATES: KindGates = {
  etcd: 'etcd healthy: talosctl etcd status on each control plane',
  upgrade: 'talosctl upgrade --image <installer> against the node IP'
}
import { compareVersions, parseVersion } from '../../upgrade/versions.js'

export interface TalosPlanInput {
  nodes: NodeSpec[]
  /** Talos version each node reports (undefined: not configured or not answering). */
  running: Record<string, string | undefined>
  /** Kubernetes version the control plane runs, when it could be read. */
  runningKubernetes?: string
  wantedTalos: string
  wantedKubernetes?: string
  allowDowngrade: boolean
  schematic: string
  drainTimeoutSeconds: number
  /** Per node id: what could block its drain (PodDisruptionBudgets), when the API could be read. */
  blockers?: Record<string, string[]>
  /** The cluster endpoint kubeconfigs point at (https://host:port). */
  apiEndpoint?: string
}

const PHASE = 'upgrade'

export function talosUpgradeRows(i: TalosPlanInput): PlanStep[] {
  const present = Object.values(i.running).filter((v): v is string => !!v)
  if (!present.length) return []
  const parsed = present.map((v) => parseVersion(v))
  const oldest = parsed.every(Boolean)
    ? present.slice().sort((a, b) => compareVersions(parseVersion(a)!, parseVersion(b)!))[0]!
    : present[0]!
  const talosChanges = present.some((v) => v !== i.wantedTalos)
  const k8sChanges = !!i.wantedKubernetes && !!i.runningKubernetes && i.wantedKubernetes !== i.runningKubernetes
  if (!talosChanges && !k8sChanges) return []
  if (i.wantedKubernetes && !i.runningKubernetes)
    return [
      {
        phase: PHASE,
        action: 'blocked',
        reason: `the running Kubernetes version could not be read, so kubernetes_version ${i.wantedKubernetes} and the Talos support matrix cannot be checked; make the API answer and plan again`
      }
    ]
  const path = talosPath({
    runningTalos: oldest,
    wantedTalos: i.wantedTalos,
    runningKubernetes: i.runningKubernetes ?? 'v0.0.0',
    ...(i.wantedKubernetes ? { wantedKubernetes: i.wantedKubernetes } : {}),
    allowDowngrade: i.allowDowngrade
  })
  // Without a readable Kubernetes version the Talos path alone is checked.
  const refusal = i.runningKubernetes ? path.refusal : path.talos.refusal
  if (refusal)
    return [
      {
        phase: PHASE,
        action: 'blocked',
        reason: `${refusal.reason}. Instead: ${refusal.instead}`,
        details: { rule: refusal.rule }
      }
    ]

  const g = gates(TALOS_GATES, i.drainTimeoutSeconds)
  const order = i.runningKubernetes ? path.order : talosChanges ? ['talos' as const] : []
  const rows: PlanStep[] = []
  for (const what of order) {
    if (what === 'kubernetes') {
      const cp = i.nodes.find((n) => n.role === 'controlplane')!
      rows.push({
        phase: PHASE,
        action: 'change',
        reason: `Kubernetes ${path.kubernetes.from} → ${path.kubernetes.to}: talosctl upgrade-k8s --to ${path.kubernetes.to} against ${cp.ip} (control plane first, then kubelets; a re-run resumes)`,
        details: { hops: path.kubernetes.hops.map((h) => `${h.from} → ${h.to}`).join('; ') }
      })
      continue
    }
    const steps = nodeOrder(
      i.nodes.filter((n) => i.running[n.id]),
      Object.fromEntries(Object.entries(i.running).filter(([, v]) => v)) as Record<string, string>,
      i.wantedTalos
    )
    rows.push({
      phase: PHASE,
      action: 'change',
      reason: `Talos ${path.talos.from} → ${path.talos.to}${
        path.talos.hops.length > 1
          ? ` via ${path.talos.hops
              .slice(0, -1)
              .map((h) => h.to)
              .join(', ')}`
          : ''
      }, one node at a time: ${steps
        .filter((s) => s.action === 'upgrade')
        .map((s) => s.node)
        .join(', ')}`,
      details: {
        hops: path.talos.hops.map((h) => `${h.from} → ${h.to} with talosctl ${h.from}`).join('; '),
        before: g.before.join('; '),
        'per node': g.perNode.join('; '),
        ...endpointNote(i)
      }
    })
    for (const s of steps) {
      const blockers = s.action === 'upgrade' ? (i.blockers?.[s.node] ?? []) : []
      rows.push({
        phase: PHASE,
        node: s.node,
        action: s.action === 'skip' ? 'skip' : 'change',
        reason:
          s.action === 'skip'
            ? s.reason
            : `${s.reason}: talosctl upgrade --nodes ${s.ip} --endpoints ${s.ip} --image ${path.talos.hops.map((h) => installerImage(i.schematic, h.to)).join(', then ')}${
                blockers.length ? `; drain could be blocked: ${blockers.join('; ')}` : ''
              }`,
        details: { from: s.from, to: s.to, ...(blockers.length ? { 'drain blockers': blockers.join('; ') } : {}) }
      })
    }
  }
  return rows
}

/**
 * A cluster endpoint that is one control plane's own address goes away while that node reboots: kubectl
 * through a kubeconfig pointing there fails for that while, however carefully the wave goes.
 */
function endpointNote(i: TalosPlanInput): Record<string, string> {
  if (!i.apiEndpoint) return {}
  let host: string
  try {
    host = new URL(i.apiEndpoint).hostname
  } catch {
    return {}
  }
  const node = i.nodes.find((n) => n.ip === host && n.role === 'controlplane' && i.running[n.id] !== i.wantedTalos)
  return node
    ? {
        'API endpoint': `${i.apiEndpoint} is ${node.id}'s own address: kubectl through it fails while ${node.id} reboots (a VIP or load balancer over the control planes keeps it answering)`
      }
    : {}
}
