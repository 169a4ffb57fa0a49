// Turns results into plain rows (header + cells) that every front renders its own way: the action as
// job summary tables, the CLI as aligned text. Nothing secret is ever in these rows.
import type { DriftFinding } from '../core/drift/types.js'
import type { AddonStatus, NodeStatus, PlanStep } from '../core/phases/types.js'

export interface Table {
  title: string
  header: string[]
  rows: string[][]
}

export function planTable(plan: PlanStep[]): Table {
  return {
    title: 'Plan',
    header: ['Phase', 'Node', 'Action', 'Why'],
    rows: plan.map((s) => [s.phase, s.node ?? '(cluster)', s.action, s.reason])
  }
}

export function driftTable(findings: DriftFinding[]): Table {
  return {
    title: 'Drift',
    header: ['Subject', 'Field', 'Wanted', 'Found', 'Fixed by'],
    rows: findings.map((f) => [
      f.subject,
      f.field,
      f.wanted,
      f.kind === 'unreachable' ? `unreachable: ${f.found}` : f.found,
      f.fixedBy.length ? `deploy (${f.fixedBy.join(', ')})` : 'manual'
    ])
  }
}

export function nodeTable(status: Record<string, NodeStatus>): Table {
  return {
    title: 'Nodes',
    header: ['Node', 'Role', 'IP', 'Ready', 'Version', 'NPU'],
    rows: Object.values(status).map((n) => [
      n.node,
      n.role,
      n.ip,
      n.ready === undefined ? '?' : n.ready ? 'yes' : 'no',
      n.version ?? '',
      n.npu ?? ''
    ])
  }
}

export function addonTable(addons: AddonStatus[]): Table {
  return {
    title: 'Addons',
    header: ['Addon', 'Chart', 'Version', 'Status'],
    rows: addons.map((a) => [a.name, a.chart, a.version, a.detail ? `${a.status}: ${a.detail}` : a.status])
  }
}

export function timingTable(timings: Record<string, number>): Table {
  return {
    title: 'Phase times',
    header: ['Phase', 'Seconds'],
    rows: Object.entries(timings).map(([phase, s]) => [phase, s.toFixed(1)])
  }
}

/** Aligned plain text for terminals and logs. */
export function renderText(table: Table): string {
  const all = [table.header, ...table.rows]
  const widths = table.header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)))
  const line = (r: string[]): string =>
    r
      .map((c, i) => (c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  return [table.title, line(table.header), ...table.rows.map(line)].join('\n')
}
