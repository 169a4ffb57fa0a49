import { describe, expect, it } from '@jest/globals'
import { formatIssue } from '../../src/cli/excerpt.js'

describe('formatIssue', () => {
  const issue = {
    code: 'DuplicateSlot',
    path: 'workers[1].node',
    message: 'slot 2 on board default is already used by workers[0]',
    severity: 'error' as const,
    where: { file: 'cluster.yaml', line: 3, column: 11 }
  }

  it('prints file:line:col, the field path, the source line and a caret under the column', () => {
    const source = 'kind: k3s\nworkers:\n  - node: 2\n'
    expect(formatIssue(issue, source).split('\n')).toEqual([
      'error: cluster.yaml:3:11: workers[1].node: slot 2 on board default is already used by workers[0]',
      '  3 |   - node: 2',
      '    |           ^'
    ])
  })

  it('prints only the head line when the source is not available', () => {
    expect(formatIssue(issue, undefined)).toBe(
      'error: cluster.yaml:3:11: workers[1].node: slot 2 on board default is already used by workers[0]'
    )
  })

  it('shows control characters and bidi overrides of a hostile file as "?", so no escape sequence reaches the terminal', () => {
    const source = 'kind: k3s\nworkers:\n  - node: \u001b[2J\u202e2\n'
    const out = formatIssue(issue, source)
    expect(out.split('\n')[1]).toBe('  3 |   - node: ?[2J?2')
    expect(out).not.toMatch(/[\u001b\u202e]/)
  })

  it('cuts a long line to a window around the column and keeps the caret under it', () => {
    const source = 'a\nb\n' + 'x'.repeat(5000) + 'HERE' + 'y'.repeat(5000) + '\n'
    const lines = formatIssue({ ...issue, where: { file: 'c.yaml', line: 3, column: 5001 } }, source).split('\n')
    expect(lines[1]!.length).toBeLessThan(180)
    expect(lines[1]!.indexOf('HERE')).toBe(lines[2]!.indexOf('^'))
  })
})
