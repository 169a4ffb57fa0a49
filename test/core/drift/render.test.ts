import { describe, expect, it } from '@jest/globals'
import {
  driftAnnotations,
  driftHtml,
  driftJson,
  driftMarkdown,
  driftTableRows,
  pathString
} from '../../../src/core/drift/render.js'
import { summarizeDrift } from '../../../src/core/drift/summary.js'
import type { DriftFinding } from '../../../src/core/drift/types.js'

const rows: DriftFinding[] = [
  {
    subject: 'node-2',
    field: 'power',
    wanted: 'on',
    found: 'off (board tpi slot 2)',
    kind: 'drift',
    fixedBy: ['boot'],
    path: ['workers', 0, 'node']
  },
  { subject: 'node-2', field: 'module', wanted: 'RK1', found: 'CM4 | v2', kind: 'drift', fixedBy: [] },
  {
    subject: 'board tpi',
    field: 'bmc',
    wanted: 'reachable at https://10.10.88.70',
    found: '<timeout>',
    kind: 'unreachable',
    fixedBy: [],
    path: ['bmc']
  }
]

describe('drift rendering', () => {
  it('writes paths the way config issues do', () => {
    expect(pathString(['workers', 0, 'node'])).toBe('workers[0].node')
    expect(pathString(['boards', 1, 'bmc', 'endpoint'])).toBe('boards[1].bmc.endpoint')
  })

  it('renders the drift output as JSON with counts and string paths', () => {
    expect(JSON.parse(driftJson(summarizeDrift(rows.slice(0, 1))))).toEqual({
      status: 'drift',
      drift: 1,
      unreachable: 0,
      findings: [
        {
          subject: 'node-2',
          field: 'power',
          wanted: 'on',
          found: 'off (board tpi slot 2)',
          kind: 'drift',
          fixedBy: ['boot'],
          path: 'workers[0].node'
        }
      ]
    })
  })

  it('renders a Markdown table with escaped pipes and the phases that fix each row', () => {
    expect(driftMarkdown(summarizeDrift(rows))).toBe(
      [
        'Error: 2 difference(s) and 1 check(s) that could not run.',
        '',
        '| Subject | Field | Wanted | Found | Fixed by |',
        '| --- | --- | --- | --- | --- |',
        '| node-2 | power | on | off (board tpi slot 2) | boot |',
        '| node-2 | module | RK1 | CM4 \\| v2 | not by a deploy (hardware or manual) |',
        '| board tpi | bmc | reachable at https://10.10.88.70 | unreachable: <timeout> | check the connection, then re-run |',
        ''
      ].join('\n')
    )
  })

  it('says in sync without a table when there are no rows', () => {
    expect(driftMarkdown(summarizeDrift([]))).toBe(
      'In sync: every observed board, node and addon matches the cluster file.\n'
    )
    expect(driftHtml(summarizeDrift([]))).toBe(
      '<p>In sync: every observed board, node and addon matches the cluster file.</p>'
    )
  })

  it('escapes HTML in the summary table', () => {
    const html = driftHtml(summarizeDrift(rows))
    expect(html).toContain('<td>unreachable: &lt;timeout&gt;</td>')
    expect(html).toContain('<tr><th>Subject</th><th>Field</th><th>Wanted</th><th>Found</th><th>Fixed by</th></tr>')
    expect(driftTableRows(summarizeDrift(rows))).toHaveLength(3)
  })

  it('points annotations at the located line; drift warns, unreachable is an error', () => {
    const locate = (path: (string | number)[]) =>
      path[0] === 'workers' ? { file: 'cluster.yaml', line: 14, column: 11 } : undefined
    expect(driftAnnotations(summarizeDrift(rows), locate)).toEqual([
      {
        severity: 'warning',
        message: 'node-2: power is off (board tpi slot 2), the cluster file wants on; a deploy fixes it (phases: boot)',
        where: { file: 'cluster.yaml', line: 14, column: 11 }
      },
      {
        severity: 'warning',
        message: 'node-2: module is CM4 | v2, the cluster file wants RK1; a deploy cannot fix it (hardware or manual)'
      },
      {
        severity: 'error',
        message: 'board tpi: bmc could not be checked (wanted reachable at https://10.10.88.70): <timeout>'
      }
    ])
  })
})
