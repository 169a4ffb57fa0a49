// One table for a fleet-wide check: a row per cluster with its verdict, so a person sees the whole
// fleet at a glance; the rows of each drifted cluster follow in that cluster's own section.
import type { DriftFinding } from '../drift/types.js'
import { summarizeDrift, type DriftStatus } from '../drift/summary.js'

export interface FleetClusterResult {
  name: string
  config: string
  boards: string[]
  /** drift: in-sync, drift or error (could not check); validate and plan: ok or failed; any: invalid (the file was refused). */
  status: DriftStatus | 'ok' | 'failed' | 'invalid'
  findings: DriftFinding[]
  /** Why the check could not run at all, or the file's first problem. */
  message?: string
}

export function fleetStatus(findings: DriftFinding[] | undefined, invalid: boolean): FleetClusterResult['status'] {
  return invalid ? 'invalid' : summarizeDrift(findings ?? []).status
}

export function fleetDriftTable(
  results: FleetClusterResult[],
  command = 'drift'
): { title: string; header: string[]; rows: string[][] } {
  const count = (r: FleetClusterResult, kind: DriftFinding['kind']) =>
    String(r.findings.filter((f) => f.kind === kind).length)
  const n = (...statuses: FleetClusterResult['status'][]) => results.filter((r) => statuses.includes(r.status)).length
  if (command !== 'drift')
    return {
      title: `Fleet: ${results.length} cluster(s), ${n('ok')} ok, ${n('invalid', 'failed')} failed`,
      header: ['Cluster', 'File', 'Boards', 'Status'],
      rows: results.map((r) => [
        r.name,
        r.config,
        r.boards.join(', '),
        r.message ? `${r.status}: ${r.message}` : r.status
      ])
    }
  return {
    title: `Fleet: ${results.length} cluster(s), ${n('drift')} drifted, ${n('error', 'invalid')} not checked`,
    header: ['Cluster', 'File', 'Boards', 'Status', 'Drift', 'Could not check'],
    rows: results.map((r) => [
      r.name,
      r.config,
      r.boards.join(', '),
      r.message ? `${r.status}: ${r.message}` : r.status,
      count(r, 'drift'),
      count(r, 'unreachable')
    ])
  }
}

/** The names the drift workflow opens (or keeps) an issue for, and those whose issue it closes. */
export function fleetIssueActions(results: FleetClusterResult[]): { open: string[]; close: string[]; leave: string[] } {
  return {
    open: results.filter((r) => r.status === 'drift').map((r) => r.name),
    close: results.filter((r) => r.status === 'in-sync').map((r) => r.name),
    leave: results.filter((r) => r.status !== 'drift' && r.status !== 'in-sync').map((r) => r.name)
  }
}
