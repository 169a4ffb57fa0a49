import { describe, expect, it } from '@jest/globals'
import { driftExitCode, summarizeDrift } from '../../../src/core/drift/summary.js'
import type { DriftFinding } from '../../../src/core/drift/types.js'

const drift: DriftFinding = {
  subject: 'node-1',
  field: 'power',
  wanted: 'on',
  found: 'off',
  kind: 'drift',
  fixedBy: ['boot']
}
const down: DriftFinding = {
  subject: 'board tpi',
  field: 'bmc',
  wanted: 'reachable',
  found: 'timeout',
  kind: 'unreachable',
  fixedBy: []
}

describe('summarizeDrift', () => {
  it.each([
    [[], 'in-sync', 0],
    [[drift], 'drift', 2],
    [[down], 'error', 1],
    [[drift, down], 'error', 1]
  ] as const)('%j is %s with exit code %d', (rows, status, exitCode) => {
    const summary = summarizeDrift([...rows])
    expect(summary.status).toBe(status)
    expect(summary.exitCode).toBe(exitCode)
    expect(summary.counts).toEqual({
      drift: rows.filter((r) => r.kind === 'drift').length,
      unreachable: rows.filter((r) => r.kind === 'unreachable').length
    })
  })
})

describe('driftExitCode', () => {
  it.each([
    ['action', false, [], 0],
    ['action', false, [drift], 0],
    ['action', true, [drift], 1],
    ['action', true, [], 0],
    ['action', false, [down], 1],
    ['cli', false, [], 0],
    ['cli', false, [drift], 2],
    ['cli', true, [drift], 2],
    ['cli', false, [down], 1]
  ] as const)('%s with fail-on-drift %s and %j exits %d', (front, failOnDrift, rows, code) => {
    expect(driftExitCode(summarizeDrift([...rows]), { failOnDrift, front })).toBe(code)
  })
})
