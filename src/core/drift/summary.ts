// The verdict of a drift run and how each front turns it into an exit code. The CLI follows
// `terraform plan -detailed-exitcode` (0 in sync, 2 drift, 1 error); the action fails only on error, or
// on drift when fail-on-drift is set.
import type { DriftFinding } from './types.js'

export type DriftStatus = 'in-sync' | 'drift' | 'error'

export interface DriftSummary {
  status: DriftStatus
  exitCode: 0 | 1 | 2
  rows: DriftFinding[]
  counts: { drift: number; unreachable: number }
}

export function summarizeDrift(findings: DriftFinding[]): DriftSummary {
  const counts = {
    drift: findings.filter((f) => f.kind === 'drift').length,
    unreachable: findings.filter((f) => f.kind === 'unreachable').length
  }
  // A check that could not run means the answer is unknown: that is an error, even beside real drift.
  if (counts.unreachable) return { status: 'error', exitCode: 1, rows: findings, counts }
  if (counts.drift) return { status: 'drift', exitCode: 2, rows: findings, counts }
  return { status: 'in-sync', exitCode: 0, rows: findings, counts }
}

/** The process exit code: the action only knows pass (0) and fail (1); the CLI reports 0/2/1. */
export function driftExitCode(
  summary: DriftSummary,
  options: { failOnDrift: boolean; front: 'action' | 'cli' }
): 0 | 1 | 2 {
  if (options.front === 'cli') return summary.exitCode
  if (summary.status === 'error') return 1
  return summary.status === 'drift' && options.failOnDrift ? 1 : 0
}
