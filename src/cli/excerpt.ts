// A compiler-style excerpt for a config issue: the file line and a caret under the column. The line
// comes from a file someone else may have written: control and bidi characters are shown as "?" (no
// terminal escape sequences reach the screen), and a long line is cut to a window around the column.
import { open } from 'node:fs/promises'
import type { ConfigIssue } from '../core/errors.js'
import { MAX_FILE_BYTES } from '../core/config/load.js'

/** Characters of the source line shown at most. */
export const EXCERPT_WIDTH = 160

const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

export function formatIssue(issue: ConfigIssue, source: string | undefined): string {
  const head =
    `${issue.severity}: ${issue.where ? `${issue.where.file}:${issue.where.line}:${issue.where.column}: ` : ''}${issue.path}: ${issue.message}`.replace(
      UNSAFE,
      '?'
    )
  if (!issue.where || source === undefined) return head
  const raw = source.split('\n')[issue.where.line - 1]
  if (raw === undefined) return head
  let line = raw.replace(/\r$/, '').replace(UNSAFE, '?')
  let caret = Math.max(0, issue.where.column - 1)
  if (line.length > EXCERPT_WIDTH) {
    const start = Math.max(0, Math.min(caret - EXCERPT_WIDTH / 2, line.length - EXCERPT_WIDTH))
    line =
      (start > 0 ? '…' : '') +
      line.slice(start, start + EXCERPT_WIDTH) +
      (start + EXCERPT_WIDTH < line.length ? '…' : '')
    caret = caret - start + (start > 0 ? 1 : 0)
  }
  const gutter = String(issue.where.line)
  return [head, `  ${gutter} | ${line}`, `  ${' '.repeat(gutter.length)} | ${' '.repeat(caret)}^`].join('\n')
}

/** The file for excerpts, never more of it than the loader reads (a 50 MB file is not loaded twice). */
export async function readForExcerpts(path: string): Promise<string | undefined> {
  try {
    const handle = await open(path, 'r')
    try {
      const buffer = Buffer.alloc(MAX_FILE_BYTES + 1)
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
      return buffer.subarray(0, bytesRead).toString('utf8')
    } finally {
      await handle.close()
    }
  } catch {
    return undefined
  }
}
