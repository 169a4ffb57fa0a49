import type { PhaseName } from '../settings.js'

/** One difference between the cluster file and what runs, or a check that could not run. */
export interface DriftFinding {
  /** Board, node id or addon name. */
  subject: string
  /** What was compared: power, os-version, k3s.config.cluster-cidr, addon.metallb.version, ... */
  field: string
  wanted: string
  found: string
  /** drift: differs; unreachable: could not be observed (never reported as drift of every field). */
  kind: 'drift' | 'unreachable'
  /** Phases a deploy would run to fix it; empty when a deploy cannot (e.g. hardware). */
  fixedBy: PhaseName[]
  /** YAML path in the cluster file this finding concerns, for annotations. */
  path?: (string | number)[]
  /**
   * A consequence, not a cause (a node NotReady, an API that does not answer): dropped when another row
   * of the same subject explains it, so one fault is one row. Not part of the output.
   */
  symptom?: true
}
