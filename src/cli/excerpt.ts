// A compiler-style excerpt for a config issue: the file line and a caret under the column.
import type { ConfigIssue } from '../core/errors.js'

export function formatIssue(issue: ConfigIssue, source: string | undefined): string {
  const head = `${issue.severity}: ${issue.where ? `${issue.where.file}:${issue.where.line}:${issue.where.column}: ` : ''}${issue.path}: ${issue.message}`
  if (!issue.where || source === undefined) return head
  const line = source.split('\n')[issue.where.line - 1]
  if (line === undefined) return head
  const gutter = String(issue.where.line)
  return [
    head,
    `  ${gutter} | ${line}`,
    `  ${' '.repeat(gutter.length)} | ${' '.repeat(Math.max(0, issue.where.column - 1))}^`
  ].join('\n')
}
