// Drift for people and machines: JSON for the `drift` output, a Markdown or HTML table for the job
// summary / terminal, and annotations pointing at the line of the cluster file a finding is about.
import type { SourceRef } from '../reporter.js'
import type { DriftSummary } from './summary.js'
import type { DriftFinding } from './types.js'

/** Finds the source position of a YAML path (LoadResult.locate from the config loader). */
export type Locate = (path: (string | number)[]) => SourceRef | undefined

export const DRIFT_TABLE_HEADER = ['Subject', 'Field', 'Wanted', 'Found', 'Fixed by'] as const

/** `workers[1].node`, the same form ConfigIssue.path uses. */
export function pathString(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('')
}

function fixedBy(finding: DriftFinding): string {
  if (finding.kind === 'unreachable') return 'check the connection, then re-run'
  return finding.fixedBy.length ? finding.fixedBy.join(', ') : 'not by a deploy (hardware or manual)'
}

function found(finding: DriftFinding): string {
  return finding.kind === 'unreachable' ? `unreachable: ${finding.found}` : finding.found
}

/** The table as plain cells, for core.summary.addTable or a terminal printer. */
export function driftTableRows(summary: DriftSummary): string[][] {
  return summary.rows.map((f) => [f.subject, f.field, f.wanted, found(f), fixedBy(f)])
}

export function driftJson(summary: DriftSummary): string {
  return JSON.stringify({
    status: summary.status,
    drift: summary.counts.drift,
    unreachable: summary.counts.unreachable,
    findings: summary.rows.map((f) => ({
      subject: f.subject,
      field: f.field,
      wanted: f.wanted,
      found: f.found,
      kind: f.kind,
      fixedBy: f.fixedBy,
      ...(f.path ? { path: pathString(f.path) } : {})
    }))
  })
}

function headline(summary: DriftSummary): string {
  if (summary.status === 'in-sync') return 'In sync: every observed board, node and addon matches the cluster file.'
  const parts: string[] = []
  if (summary.counts.drift) parts.push(`${summary.counts.drift} difference(s)`)
  if (summary.counts.unreachable) parts.push(`${summary.counts.unreachable} check(s) that could not run`)
  return `${summary.status === 'error' ? 'Error' : 'Drift'}: ${parts.join(' and ')}.`
}

const mdCell = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ')

export function driftMarkdown(summary: DriftSummary): string {
  const lines = [headline(summary)]
  if (!summary.rows.length) return lines.join('\n') + '\n'
  lines.push('', `| ${DRIFT_TABLE_HEADER.join(' | ')} |`, `|${DRIFT_TABLE_HEADER.map(() => ' --- ').join('|')}|`)
  for (const row of driftTableRows(summary)) lines.push(`| ${row.map(mdCell).join(' | ')} |`)
  return lines.join('\n') + '\n'
}

const html = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export function driftHtml(summary: DriftSummary): string {
  const head = `<p>${html(headline(summary))}</p>`
  if (!summary.rows.length) return head
  const th = DRIFT_TABLE_HEADER.map((h) => `<th>${h}</th>`).join('')
  const body = driftTableRows(summary)
    .map((row) => `<tr>${row.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`)
    .join('')
  return `${head}<table><tr>${th}</tr>${body}</table>`
}

export interface DriftAnnotation {
  severity: 'warning' | 'error'
  message: string
  where?: SourceRef
}

/** One annotation per finding; drift is a warning (the front decides about failing), unreachable an error. */
export function driftAnnotations(summary: DriftSummary, locate?: Locate): DriftAnnotation[] {
  return summary.rows.map((f) => {
    const where = f.path && locate ? locate(f.path) : undefined
    const message =
      f.kind === 'unreachable'
        ? `${f.subject}: ${f.field} could not be checked (wanted ${f.wanted}): ${f.found}`
        : `${f.subject}: ${f.field} is ${f.found}, the cluster file wants ${f.wanted}; ${
            f.fixedBy.length
              ? `a deploy fixes it (phases: ${f.fixedBy.join(', ')})`
              : 'a deploy cannot fix it (hardware or manual)'
          }`
    return { severity: f.kind === 'unreachable' ? 'error' : 'warning', message, ...(where ? { where } : {}) }
  })
}
