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
})
