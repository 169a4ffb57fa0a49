/**
 * @jest-environment-options {"globalsCleanup": "off"}
 */
import { describe, expect, it } from '@jest/globals'
import type { BoardView } from '../../src/report/board.js'
import { flowLabel, ganttText } from '../../src/report/mermaid/escape.js'
import { boardMermaid } from '../../src/report/mermaid/board.js'
import { mermaidParse } from './mermaid-parser.js'

describe('labels from the cluster file and the nodes', () => {
  it('need escaping: the same hostname written raw is a syntax error mermaid reports', async () => {
    await expect(mermaidParse('flowchart TB\n  s1["slot 1<br/>cp"]:::ok"]\n')).rejects.toThrow(
      /(Parse|Lexical) error on line 2/
    )
  })

  it('write every character that could be syntax as an entity code', () => {
    expect(flowLabel('a"]:::ok\n  click s1 call x()')).toBe('a#34;#93;:::ok click s1 call x#40;#41;')
    expect(flowLabel('<img src=x onerror=alert(1)>')).toBe('#60;img src=x onerror=alert#40;1#41;#62;')
    expect(flowLabel('```\n</details># %% ;|{}`')).toBe(
      '#96;#96;#96; #60;/details#62;#35; #37;#37; #59;#124;#123;#125;#96;'
    )
  })

  it('cut long texts (errors) with an ellipsis', () => {
    expect(flowLabel('x'.repeat(60), 10)).toBe('xxxxxxxxx#8230;')
  })

  it('keep Gantt names to letters, digits and . _ - space', () => {
    expect(ganttText('k3s-cp.lab_1')).toBe('k3s-cp.lab_1')
    expect(ganttText('a:b;c#d%e\nf')).toBe('a_b_c_d_e f')
  })

  it('a hostile hostname, IP and error still make one valid diagram with no node or link of their own', async () => {
    const board: BoardView = {
      name: 'evil"] --> x[pwned',
      mark: 'unreachable',
      note: 'error: "]\nend\nclick bd href "javascript:alert(1)"',
      slots: [
        {
          slot: 1,
          node: { id: 'cp"]:::ok\ns9["injected', role: 'controlplane', ip: '10.0.0.1<script>' },
          power: 'on',
          mark: 'drift',
          note: '```'
        },
        { slot: 2, power: '' },
        { slot: 3, power: '' },
        { slot: 4, power: '' }
      ],
      items: [{ name: 'metallb"]; a1 --> a2', mark: 'drift' }]
    }
    const source = boardMermaid(board, 'drift')
    expect(source).not.toMatch(/<script|```|-->/)
    // Every label is one quoted string with no quote inside, so none can end early and add statements.
    const labelled = source.split('\n').filter((l) => l.includes('['))
    expect(labelled).toHaveLength(7)
    for (const line of labelled) expect(line).toMatch(/^ {2,4}(subgraph )?\w+\["[^"]*"\](:::\w+)?$/)
    expect(await mermaidParse(source)).toBe('flowchart-v2')
  })
})
