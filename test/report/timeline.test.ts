/**
 * @jest-environment-options {"globalsCleanup": "off"}
 */
import { describe, expect, it } from '@jest/globals'
import { renderText } from '../../src/report/tables.js'
import { slowestStep, timelineMermaid, timelineTable } from '../../src/report/timeline.js'
import { FIXED_STEPS, T0 } from './fixture.js'
import { mermaidParse } from './mermaid-parser.js'

describe('the deploy timeline', () => {
  it('is a Gantt chart of each node and the cluster phases on one wall-clock axis, exactly', async () => {
    const source = timelineMermaid(FIXED_STEPS, 'deploy of lab')
    expect(source).toBe(`gantt
  title deploy of lab
  dateFormat x
  axisFormat %H:%M:%S
  todayMarker off
  section cp
    flash :t1, 1796637600000, 1796637641500
    boot :t2, 1796637641500, 1796637662000
    os-bootstrap :t3, 1796637662000, 1796637675200
  section w1
    flash :t4, 1796637641500, 1796637680000
    boot :t5, 1796637680000, 1796637699000
    os-bootstrap :t6, 1796637699000, 1796637712000
  section w2
    flash (no change) :done, t7, 1796637680000, 1796637680010
    boot (no change) :done, t8, 1796637680010, 1796637680400
    os-bootstrap (no change) :done, t9, 1796637680400, 1796637681000
  section cluster-wide
    install :t10, 1796637712000, 1796637731000
    join :t11, 1796637731000, 1796637740000
    addons :t12, 1796637740000, 1796637752300
`)
    expect(T0).toBe(1796637600000)
    expect(await mermaidParse(source)).toBe('gantt')
  })

  it("draws a flash's upload and CRC read-back as bars under it, and as rows in the table", async () => {
    const spans = [
      {
        phase: 'flash' as const,
        node: 'cp',
        start: T0,
        end: T0 + 41_500,
        outcome: 'changed' as const,
        stages: [
          { name: 'upload', start: T0 + 2_000, end: T0 + 31_000 },
          { name: 'read-back', start: T0 + 31_000, end: T0 + 40_000 }
        ]
      }
    ]
    const source = timelineMermaid(spans, 'deploy of lab')
    expect(source).toContain(`  section cp
    flash :t1, 1796637600000, 1796637641500
    flash upload :t2, 1796637602000, 1796637631000
    flash read-back :t3, 1796637631000, 1796637640000
`)
    expect(await mermaidParse(source)).toBe('gantt')
    expect(timelineTable(spans).rows).toEqual([
      ['cp', 'flash', '0.0', '41.5', '41.5', 'changed'],
      ['cp', 'flash upload', '2.0', '31.0', '29.0', 'changed'],
      ['cp', 'flash read-back', '31.0', '40.0', '9.0', 'changed']
    ])
  })

  it('names the slowest step and how much the nodes overlapped', () => {
    expect(slowestStep(FIXED_STEPS)).toBe(
      'Slowest step: flash on cp, 41.5 s of 152.3 s; the steps add up to 187.0 s: nodes working at the same time saved 34.7 s.'
    )
    expect(slowestStep([{ phase: 'addons', start: T0, end: T0 + 5000, outcome: 'changed' }])).toBe(
      'Slowest step: addons (cluster), 5.0 s of 5.0 s.'
    )
    // 0.1 s of overlap in a 2.2 s run is not worth a word.
    const short = [
      { phase: 'flash' as const, node: 'cp', start: T0, end: T0 + 200, outcome: 'unchanged' as const },
      { phase: 'flash' as const, node: 'w1', start: T0 + 100, end: T0 + 200, outcome: 'unchanged' as const },
      { phase: 'addons' as const, start: T0 + 200, end: T0 + 2200, outcome: 'unchanged' as const }
    ]
    expect(slowestStep(short)).toBe('Slowest step: addons (cluster), 2.0 s of 2.2 s.')
    expect(timelineMermaid(short, 'x')).toContain('  axisFormat %M:%S.%L\n')
  })

  it('draws a failed step red (crit), a step shorter than a millisecond still visible, hours on a long run', async () => {
    const source = timelineMermaid(
      [
        { phase: 'flash', node: 'cp', start: T0, end: T0, outcome: 'unchanged' },
        { phase: 'boot', node: 'cp', start: T0, end: T0 + 4_000_000, outcome: 'failed' }
      ],
      'deploy of lab'
    )
    expect(source).toContain('  axisFormat %H:%M\n')
    expect(source).toContain(`    flash (no change) :done, t1, ${T0}, ${T0 + 1}\n`)
    expect(source).toContain(`    boot FAILED :crit, t2, ${T0}, ${T0 + 4_000_000}\n`)
    expect(await mermaidParse(source)).toBe('gantt')
  })

  it('keeps a hostile hostname or title from changing the chart', async () => {
    const source = timelineMermaid(
      [
        {
          phase: 'boot',
          node: 'x:crit, t9, 0, 1\nsection pwned %%{init}%%',
          start: T0,
          end: T0 + 10,
          outcome: 'changed'
        }
      ],
      'a\ntitle b: c'
    )
    expect(source.split('\n').slice(0, 6)).toEqual([
      'gantt',
      '  title a title b_ c',
      '  dateFormat x',
      '  axisFormat %M:%S.%L',
      '  todayMarker off',
      '  section x_crit_ t9_ 0_ 1 section pwned ___init__'
    ]) // the name is cut at 40 characters
    expect(await mermaidParse(source)).toBe('gantt')
  })

  it('gives the log and the summary the same facts as a table, in seconds from the first step', () => {
    const lines = renderText(timelineTable(FIXED_STEPS)).split('\n')
    expect(lines.slice(0, 3)).toEqual([
      'Timeline',
      'Node       Phase         From (s)  To (s)  Seconds  Result',
      'cp         flash         0.0       41.5    41.5     changed'
    ])
    expect(lines.at(-1)).toBe('(cluster)  addons        140.0     152.3   12.3     changed')
  })
})
