import { describe, expect, it } from '@jest/globals'
import { deploy } from '../../src/cli/commands/deploy.js'
import { drift } from '../../src/cli/commands/drift.js'
import type { Io } from '../../src/cli/commands/shared.js'
import { cluster, deployResult } from '../report/fixture.js'

function io(): Io & { lines: string[] } {
  const lines: string[] = []
  return { lines, out: (t) => lines.push(t), err: () => {}, env: {} }
}

describe('the CLI prints the pictures as text', () => {
  it('deploy: the board, then the timeline with the slowest step, then the tables', () => {
    const out = io()
    expect(deploy.render(deployResult(), out, false)).toBe(0)
    const text = out.lines.join('\n')
    const at = [
      'Board default',
      '1     cp       controlplane  10.10.88.73  on     ● changed',
      'Timeline',
      'Slowest step: flash on cp, 41.5 s',
      'Nodes'
    ].map((s) => text.indexOf(s))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
  })

  it('--json prints only the JSON', () => {
    const out = io()
    deploy.render(deployResult(), out, true)
    expect(out.lines).toHaveLength(1)
    expect(() => JSON.parse(out.lines[0]!)).not.toThrow()
  })

  it('drift: the board marks the drifted slot above the rows', () => {
    const out = io()
    const findings = [
      {
        subject: 'w1',
        field: 'power',
        wanted: 'on',
        found: 'off (board default slot 2)',
        kind: 'drift' as const,
        fixedBy: ['boot' as const]
      }
    ]
    expect(
      drift.render(
        { status: 'drift', issues: [], cluster: cluster(), outputs: deployResult().outputs, findings },
        out,
        false
      )
    ).toBe(2)
    expect(out.lines[0]).toContain('2     w1       worker        10.10.88.74  off    ≠ drift: power')
    expect(out.lines[1]).toMatch(/^Drift\n/)
  })
})
