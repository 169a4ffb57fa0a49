import { describe, expect, it } from '@jest/globals'
import { driftTable, planTable, renderText } from '../../src/report/tables.js'

describe('report tables', () => {
  it('shows a cluster-wide plan step as (cluster)', () => {
    const t = planTable([{ phase: 'addons', action: 'run', reason: 'install metallb' }])
    expect(t.rows).toEqual([['addons', '(cluster)', 'run', 'install metallb']])
  })

  it('marks unreachable drift rows and names the phases that fix a finding', () => {
    const t = driftTable([
      { subject: 'k3s-w1', field: 'power', wanted: 'on', found: 'off', kind: 'drift', fixedBy: ['boot'] },
      {
        subject: 'board default',
        field: 'bmc',
        wanted: 'reachable',
        found: 'connect ECONNREFUSED',
        kind: 'unreachable',
        fixedBy: []
      }
    ])
    expect(t.rows[0][4]).toBe('deploy (boot)')
    expect(t.rows[1][3]).toBe('unreachable: connect ECONNREFUSED')
    expect(t.rows[1][4]).toBe('manual')
  })

  it('aligns columns in plain text', () => {
    const text = renderText({ title: 'T', header: ['a', 'bb'], rows: [['xxx', 'y']] })
    expect(text.split('\n')).toEqual(['T', 'a    bb', 'xxx  y'])
  })
})
