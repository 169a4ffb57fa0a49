// The contract every phase module implements. run.ts orders them; node-scoped phases are run per node
// (and pipelined: flash of node N overlaps boot/bootstrap of node N-1), cluster-scoped ones once.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import type { DriftFinding } from '../drift/types.js'
import type { ClusterKind } from '../kinds/types.js'
import type { Reporter } from '../reporter.js'
import type { PhaseName, RunSettings } from '../settings.js'
import type { StateStore } from '../state/store.js'

export interface NodeStatus {
  node: string
  role: string
  ip: string
  ready?: boolean
  version?: string
  npu?: string
  [extra: string]: unknown
}

export interface AddonStatus {
  name: string
  chart: string
  version: string
  status: 'installed' | 'upgraded' | 'unchanged' | 'removed' | 'disabled-but-installed' | 'failed' | 'skipped'
  detail?: string
}

/** Values produced by one phase for later ones and for the front's outputs. Never printed. */
export interface RunOutputs {
  kubeconfigPath?: string
  talosconfigPath?: string
  /** Set only when this run generated a new Talos secrets bundle (first deploy). */
  talosSecretsPath?: string
  apiEndpoint?: string
  schematicId?: string
  /** The k3s join token, in memory only (masked). */
  k3sToken?: string
  nodeStatus: Record<string, NodeStatus>
  addons: AddonStatus[]
  /** Phase name -> seconds spent. */
  timings: Record<string, number>
  /** Free-form values phases hand to each other (paths of cached artifacts, ...). */
  values: Record<string, unknown>
}

export interface PhaseContext {
  cluster: Cluster
  /** The cluster's kind (kindOf(cluster)): phases ask it instead of testing cluster.kind. */
  kind: ClusterKind
  settings: RunSettings
  deps: Deps
  reporter: Reporter
  state: StateStore
  /** Nodes selected for this run (the `nodes` input applied). */
  nodes: NodeSpec[]
  outputs: RunOutputs
}

export type PlanAction = 'run' | 'change' | 'skip' | 'blocked' | 'remove'

/** One row of the plan: what a deploy would do on a node (or the cluster) in a phase, and why. */
export interface PlanStep {
  phase: PhaseName
  /** Node id, or undefined for a cluster-wide step. */
  node?: string
  action: PlanAction
  reason: string
  /** Extra facts for the summary (image, version, reboot needed, ...). */
  details?: Record<string, string>
}

/** A named part of a step on the wall clock (epoch ms): the flash's upload and its CRC read-back. */
export interface StepStage {
  name: string
  start: number
  end: number
}

export interface StepResult {
  changed: boolean
  summary: string
  /** Parts worth showing on their own in the timeline, where a step has them. */
  stages?: StepStage[]
}

export interface PhaseModule {
  name: PhaseName
  scope: 'node' | 'cluster'
  appliesTo(cluster: Cluster): boolean
  /** Read-only: may observe the nodes, never changes anything. */
  plan(ctx: PhaseContext): Promise<PlanStep[]>
  /**
   * Most nodes this phase may work on at once (a node-scoped phase after a cluster-scoped one); the run's
   * nodeConcurrency caps it. 1 keeps the phase serial; undefined accepts the run's limit.
   */
  nodeConcurrency?: number
  runNode?(ctx: PhaseContext, node: NodeSpec): Promise<StepResult>
  run?(ctx: PhaseContext): Promise<StepResult>
  /** Read-only comparison of wanted and found state for the drift command. */
  drift?(ctx: PhaseContext): Promise<DriftFinding[]>
}

export const emptyOutputs = (): RunOutputs => ({ nodeStatus: {}, addons: [], timings: {}, values: {} })
