import { describe, expect, it } from '@jest/globals'
import type { DriftFinding } from '../../../src/core/drift/types.js'
import {
  fleetDriftTable,
  fleetIssueActions,
  fleetStatus,
  type FleetClusterResult
} from '../../../src/core/fleet/summary.js'

const row: DriftFinding = {
  subject: 'a-cp',
  field: 'power',
  wanted: 'on',
  found: 'off',
  kind: 'drift',
  fixedBy: ['boot']
}
const busy: DriftFinding = {
  subject: 'b-board',
  field: 'deploy in progress',
  wanted: 'no deploy running',
  found: 'run 7',
  kind: 'unreachable',
  fixedBy: []
}
const result = (name: string, findings: DriftFinding[], invalid = false): FleetClusterResult => ({
  name,
  config: `clusters/${name}.yaml`,
  boards: [`${name}-board`],
  status: fleetStatus(findings, invalid),
  findings,
  ...(invalid ? { message: 'name: bad' } : {})
})

describe('the fleet drift table and issues', () => {
  const results = [result('a', [row]), result('b', [busy]), result('c', []), result('d', [], true)]

  it('is one row per cluster with its verdict and counts', () => {
    expect(fleetDriftTable(results)).toEqual({
      title: 'Fleet: 4 cluster(s), 1 drifted, 2 not checked',
      header: ['Cluster', 'File', 'Boards', 'Status', 'Drift', 'Could not check'],
      rows: [
        ['a', 'clusters/a.yaml', 'a-board', 'drift', '1', '0'],
        ['b', 'clusters/b.yaml', 'b-board', 'error', '0', '1'],
        ['c', 'clusters/c.yaml', 'c-board', 'in-sync', '0', '0'],
        ['d', 'clusters/d.yaml', 'd-board', 'invalid: name: bad', '0', '0']
      ]
    })
  })

  it('opens an issue for a drifted cluster only, closes the in-sync one, leaves those not checked', () => {
    expect(fleetIssueActions(results)).toEqual({ open: ['a'], close: ['c'], leave: ['b', 'd'] })
  })

  it('says ok or failed per cluster for validate and plan', () => {
    const ok: FleetClusterResult = { ...result('c', []), status: 'ok' }
    expect(fleetDriftTable([ok, result('d', [], true)], 'validate')).toEqual({
      title: 'Fleet: 2 cluster(s), 1 ok, 1 failed',
      header: ['Cluster', 'File', 'Boards', 'Status'],
      rows: [
        ['c', 'clusters/c.yaml', 'c-board', 'ok'],
        ['d', 'clusters/d.yaml', 'd-board', 'invalid: name: bad']
      ]
    })
  })
})
