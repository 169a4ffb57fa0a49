/**
 * @jest-environment-options {"globalsCleanup": "off"}
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeSummary } from '../../src/action/summary.js'
import { runPictures } from '../../src/report/pictures.js'
import { cluster, deployResult } from '../report/fixture.js'
import { mermaidParse } from '../report/mermaid-parser.js'

const dir = mkdtempSync(join(tmpdir(), 'summary-'))
const file = join(dir, 'summary.md')
let log = ''

beforeAll(() => {
  // @actions/core remembers the summary path on first use: one file for the whole suite.
  process.env.GITHUB_STEP_SUMMARY = file
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    log += String(chunk)
    return true
  })
})
beforeEach(() => {
  writeFileSync(file, '')
  log = ''
})
afterAll(() => {
  jest.restoreAllMocks()
  delete process.env.GITHUB_STEP_SUMMARY
  rmSync(dir, { recursive: true, force: true })
})

const fences = (md: string): string[] => [...md.matchAll(/\n\n```mermaid\n([\s\S]*?)```\n/g)].map((m) => m[1]!)

describe('the job summary', () => {
  it('after a deploy: the board and the timeline first, each a Mermaid block after a blank line, the tables below', async () => {
    const result = deployResult()
    await writeSummary(result, 'deploy')
    const md = readFileSync(file, 'utf8')
    const pictures = runPictures(result, 'deploy')
    expect(fences(md)).toEqual([pictures.boards[0]!.mermaid, pictures.timeline!.mermaid])
    for (const source of fences(md)) await mermaidParse(source)
    const order = [
      '<h2>turingpi-cluster deploy: lab — ok</h2>',
      '<h3>Board</h3>',
      '<h3>Timeline</h3>',
      '<p>Slowest step: flash on cp, 41.5 s',
      '<h3>Nodes</h3>',
      '<h3>Addons</h3>',
      '<h3>Phase times</h3>',
      '<summary>Timeline as a table</summary>'
    ]
    const at = order.map((s) => md.indexOf(s))
    expect(at.every((i) => i >= 0)).toBe(true)
    expect([...at].sort((a, b) => a - b)).toEqual(at)
  })

  it('prints the same facts to the log as text', async () => {
    await writeSummary(deployResult(), 'deploy')
    expect(log).toContain(
      'Board default\nSlot  Node     Role          IP           Power  Status\n1     cp       controlplane  10.10.88.73  on     ● changed: flash, boot, os-bootstrap\n'
    )
    expect(log).toContain('(cluster)  addons        140.0     152.3   12.3     changed\n')
    expect(log).toContain('Slowest step: flash on cp, 41.5 s of 152.3 s')
  })

  it('after a drift check: the board with what drifted comes before the rows', async () => {
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
    await writeSummary(
      { status: 'drift', issues: [], cluster: cluster(), outputs: deployResult().outputs, findings },
      'drift'
    )
    const md = readFileSync(file, 'utf8')
    expect(fences(md)).toHaveLength(1)
    expect(fences(md)[0]).toContain(
      's2["slot 2<br/><b>w1</b><br/>worker · 10.10.88.74<br/>power off<br/>≠ drift: power"]:::drift'
    )
    expect(md.indexOf('<h3>Board</h3>')).toBeLessThan(md.indexOf('<h3>Drift</h3>'))
    expect(md).not.toContain('Timeline')
  })

  it('escapes node-supplied text in the tables', async () => {
    const findings = [
      {
        subject: 'cp',
        field: 'k3s.api',
        wanted: 'answering',
        found: '<img src=x onerror=alert(1)>',
        kind: 'unreachable' as const,
        fixedBy: []
      }
    ]
    await writeSummary(
      { status: 'error', issues: [], cluster: cluster(), outputs: deployResult().outputs, findings },
      'drift'
    )
    const md = readFileSync(file, 'utf8')
    expect(md).toContain('<td>unreachable: &lt;img src=x onerror=alert(1)&gt;</td>')
    expect(md).not.toContain('<img')
  })
})
