/**
 * @jest-environment-options {"globalsCleanup": "off"}
 */
import { describe, expect, it } from '@jest/globals'
import { PhaseError } from '../../src/core/errors.js'
import type { DriftFinding } from '../../src/core/drift/types.js'
import { boardTables, deployBoards, driftBoards, planBoards } from '../../src/report/board.js'
import { boardMermaid } from '../../src/report/mermaid/board.js'
import { renderText } from '../../src/report/tables.js'
import { cluster, deployResult, FIXED_STEPS } from './fixture.js'
import { mermaidParse } from './mermaid-parser.js'

const TWO_BOARDS = `kind: k3s
name: lab
boards:
  - { name: rack-a, bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } } }
  - { name: rack-b, bmc: { endpoint: https://10.10.88.90, tls: { insecure: true } } }
armbian_image: { path: armbian.img }
control_plane: { node: 1, board: rack-a, ip: 10.10.88.73, hostname: cp }
workers:
  - { node: 2, board: rack-a, ip: 10.10.88.74, hostname: w1 }
  - { node: 4, board: rack-b, ip: 10.10.88.94, hostname: w9 }
`

describe('the board after a deploy', () => {
  it('draws the fixed run exactly: four slots in order, marks and power from the steps, addons below', async () => {
    const picture = deployBoards(cluster(), deployResult())
    const source = boardMermaid(picture.boards[0]!, 'deploy')
    expect(source).toBe(`flowchart TB
  subgraph bd["board default"]
    direction LR
    s1["slot 1<br/><b>cp</b><br/>controlplane · 10.10.88.73<br/>power on<br/>● changed: flash, boot, os-bootstrap"]:::changed
    s2["slot 2<br/><b>w1</b><br/>worker · 10.10.88.74<br/>power on<br/>● changed: flash, boot, os-bootstrap"]:::changed
    s3["slot 3<br/><b>w2</b><br/>worker · 10.10.88.75<br/>power on<br/>✔ ok"]:::ok
    s4["slot 4<br/>empty"]:::empty
    s1 ~~~ s2 ~~~ s3 ~~~ s4
  end
  subgraph ad["addons (cluster-wide)"]
    direction LR
    a1["<b>metallb</b><br/>● changed"]:::changed
  end
  bd ~~~ ad
  classDef ok fill:#dafbe1,stroke:#1a7f37,color:#1f2328
  classDef changed fill:#ddf4ff,stroke:#0969da,color:#1f2328
  classDef empty fill:#ffffff,stroke:#d0d7de,color:#8c959f,stroke-dasharray:2 2
  classDef frame fill:#f6f8fa,stroke:#8c959f,color:#1f2328
  class bd,ad frame
`)
    expect(await mermaidParse(source)).toBe('flowchart-v2')
  })

  it('marks the node whose step failed, and the nodes the run never reached', async () => {
    const steps = FIXED_STEPS.slice(0, 2).map((s) => (s.node === 'w1' ? { ...s, outcome: 'failed' as const } : s))
    const error = new PhaseError('flash', 'w1', 'BMC reported "USB interface not found"', 're-run')
    const picture = deployBoards(cluster(), { outputs: { ...deployResult().outputs, nodeStatus: {} }, steps, error })
    const slots = picture.boards[0]!.slots
    expect(slots.map((s) => [s.node?.id, s.mark, s.note, s.power])).toEqual([
      ['cp', 'changed', 'flash', '?'],
      ['w1', 'failed', 'in flash', '?'],
      ['w2', 'unknown', undefined, '?'],
      [undefined, undefined, undefined, '']
    ])
    const source = boardMermaid(picture.boards[0]!, 'deploy')
    expect(source).toContain(
      's2["slot 2<br/><b>w1</b><br/>worker · 10.10.88.74<br/>power ?<br/>✖ failed: in flash"]:::failed'
    )
    expect(source).toContain(
      's3["slot 3<br/><b>w2</b><br/>worker · 10.10.88.75<br/>power ?<br/>○ not reached"]:::unknown'
    )
    expect(await mermaidParse(source)).toBe('flowchart-v2')
  })

  it('names why an addon failed, and leaves the details of a success to the addons table', () => {
    const outputs = deployResult().outputs
    outputs.addons = [
      {
        name: 'metallb',
        chart: 'metallb',
        version: '0.16.1',
        status: 'installed',
        detail: 'release metallb in metallb-system'
      },
      {
        name: 'traefik',
        chart: 'traefik',
        version: '40.0.0',
        status: 'failed',
        detail: 'helm: timed out waiting for the condition'
      }
    ]
    expect(deployBoards(cluster(), { outputs, steps: FIXED_STEPS }).boards[0]!.items).toEqual([
      { name: 'metallb', mark: 'changed' },
      { name: 'traefik', mark: 'failed', note: 'helm: timed out waiting for the condition' }
    ])
  })

  it('gives a multi-board cluster one diagram per board, addons with the first control plane', async () => {
    const picture = deployBoards(cluster(TWO_BOARDS), { outputs: { ...deployResult().outputs }, steps: [] })
    expect(
      picture.boards.map((b) => [b.name, b.slots.map((s) => s.node?.id ?? '-').join(' '), b.items?.length ?? 0])
    ).toEqual([
      ['rack-a', 'cp w1 - -', 1],
      ['rack-b', '- - - w9', 0]
    ])
    for (const b of picture.boards) expect(await mermaidParse(boardMermaid(b, 'deploy'))).toBe('flowchart-v2')
  })

  it('says the same in the log as text', () => {
    const text = boardTables(deployBoards(cluster(), deployResult())).map(renderText).join('\n')
    expect(text.split('\n')).toEqual([
      'Board default',
      'Slot  Node     Role          IP           Power  Status',
      '1     cp       controlplane  10.10.88.73  on     ● changed: flash, boot, os-bootstrap',
      '2     w1       worker        10.10.88.74  on     ● changed: flash, boot, os-bootstrap',
      '3     w2       worker        10.10.88.75  on     ✔ ok',
      '4     (empty)',
      '      metallb  addon                             ● changed'
    ])
  })
})

describe('the board in a plan', () => {
  it('shows what would change, what is blocked and the power the BMC reported', async () => {
    const picture = planBoards(cluster(), [
      { phase: 'flash', node: 'cp', action: 'skip', reason: 'flashed', details: { power: 'on', bmc: 'bmcd 2.3.7' } },
      {
        phase: 'flash',
        node: 'w1',
        action: 'blocked',
        reason: 'live member',
        details: { power: 'on', bmc: 'bmcd 2.3.7' }
      },
      {
        phase: 'flash',
        node: 'w2',
        action: 'run',
        reason: 'never flashed',
        details: { power: 'off', bmc: 'bmcd 2.3.7' }
      },
      { phase: 'boot', node: 'w2', action: 'run', reason: 'after flash' },
      { phase: 'addons', action: 'run', reason: 'install metallb' }
    ])
    const source = boardMermaid(picture.boards[0]!, 'plan')
    expect(source).toContain(
      's1["slot 1<br/><b>cp</b><br/>controlplane · 10.10.88.73<br/>power on<br/>✔ up to date"]:::ok'
    )
    expect(source).toContain(
      's2["slot 2<br/><b>w1</b><br/>worker · 10.10.88.74<br/>power on<br/>✖ blocked: flash"]:::failed'
    )
    expect(source).toContain(
      's3["slot 3<br/><b>w2</b><br/>worker · 10.10.88.75<br/>power off<br/>● will change: flash, boot"]:::changed'
    )
    expect(await mermaidParse(source)).toBe('flowchart-v2')
  })

  it('marks the board when its BMC could not be asked', async () => {
    const picture = planBoards(cluster(), [
      {
        phase: 'flash',
        node: 'cp',
        action: 'run',
        reason: 'unknown',
        details: { bmc: 'unreachable: connect ECONNREFUSED 10.10.88.70:443' }
      }
    ])
    expect(picture.boards[0]!.mark).toBe('unreachable')
    const source = boardMermaid(picture.boards[0]!, 'plan')
    expect(source).toContain(
      'subgraph bd["board default — ⚠ unreachable: unreachable: connect ECONNREFUSED 10.10.88.70:443"]'
    )
    expect(source.split('\n').slice(-3)).toEqual(['  class bd frame', '  class bd unreachable', ''])
    expect(await mermaidParse(source)).toBe('flowchart-v2')
  })
})

describe('drift at a glance', () => {
  const findings: DriftFinding[] = [
    {
      subject: 'w1',
      field: 'power',
      wanted: 'on',
      found: 'off (board default slot 2)',
      kind: 'drift',
      fixedBy: ['boot']
    },
    {
      subject: 'w2',
      field: 'reachable',
      wanted: 'ssh on 10.10.88.75:22',
      found: 'connect ETIMEDOUT',
      kind: 'unreachable',
      fixedBy: []
    },
    {
      subject: 'cp',
      field: 'k3s.version',
      wanted: 'v1.31.3+k3s1',
      found: 'v1.30.1+k3s1',
      kind: 'drift',
      fixedBy: ['install']
    },
    {
      subject: 'cp',
      field: 'k3s.config.cluster-cidr',
      wanted: '10.244.0.0/16',
      found: '10.42.0.0/16',
      kind: 'drift',
      fixedBy: ['install']
    },
    {
      subject: 'metallb',
      field: 'addon.metallb.version',
      wanted: '0.14.9',
      found: '0.14.8',
      kind: 'drift',
      fixedBy: ['addons']
    }
  ]

  it('marks each slot and addon that drifted, exactly', async () => {
    const source = boardMermaid(driftBoards(cluster(), findings).boards[0]!, 'drift')
    expect(source).toBe(`flowchart TB
  subgraph bd["board default"]
    direction LR
    s1["slot 1<br/><b>cp</b><br/>controlplane · 10.10.88.73<br/>power on<br/>≠ drift: k3s.version, k3s.config.cluster-cidr"]:::drift
    s2["slot 2<br/><b>w1</b><br/>worker · 10.10.88.74<br/>power off<br/>≠ drift: power"]:::drift
    s3["slot 3<br/><b>w2</b><br/>worker · 10.10.88.75<br/>power on<br/>⚠ unreachable: reachable"]:::unreachable
    s4["slot 4<br/>empty"]:::empty
    s1 ~~~ s2 ~~~ s3 ~~~ s4
  end
  subgraph ad["addons (cluster-wide)"]
    direction LR
    a1["<b>metallb</b><br/>≠ drift<br/>addon.metallb.version"]:::drift
  end
  bd ~~~ ad
  classDef drift fill:#fff8c5,stroke:#9a6700,color:#1f2328
  classDef unreachable fill:#ffebe9,stroke:#cf222e,color:#1f2328,stroke-dasharray:4 3
  classDef empty fill:#ffffff,stroke:#d0d7de,color:#8c959f,stroke-dasharray:2 2
  classDef frame fill:#f6f8fa,stroke:#8c959f,color:#1f2328
  class bd,ad frame
`)
    expect(await mermaidParse(source)).toBe('flowchart-v2')
  })

  it('an unreachable BMC marks the board and leaves power unknown; in sync is all green', () => {
    const down = driftBoards(cluster(), [
      {
        subject: 'board default',
        field: 'bmc',
        wanted: 'reachable',
        found: 'no connection',
        kind: 'unreachable',
        fixedBy: []
      }
    ])
    expect(down.boards[0]!.mark).toBe('unreachable')
    expect(down.boards[0]!.slots.filter((s) => s.node).map((s) => [s.power, s.mark])).toEqual([
      ['?', 'ok'],
      ['?', 'ok'],
      ['?', 'ok']
    ])
    const clean = driftBoards(cluster(), [])
    expect(clean.boards[0]!.slots.filter((s) => s.node).map((s) => s.mark)).toEqual(['ok', 'ok', 'ok'])
    expect(boardMermaid(clean.boards[0]!, 'drift')).toContain('✔ in sync')
  })
})
