// `drift` through the shipped bundle on the lab: one deploy of examples/talos-cluster.yaml, then drift
// injected behind the action's back, one kind at a time, each reported exactly once with what the file
// wants and what runs. Order matters and is deliberate: power is restored right away, the uninstalled
// addon is put back by the deploy its row names, the reflashed node stays in maintenance mode for the
// last scenario, and the BMC is stopped last (it does not come back).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import {
  annotations,
  expectRun,
  findings,
  helm,
  lineOf,
  onBoard,
  reflashTalos,
  setPower,
  TALOS_DRIFT_BOARD as B,
  upgradeTalos
} from './helpers-drift.js'

const FILE = 'examples/talos-cluster.yaml'
const KUBECONFIG = 'talos-cluster-kubeconfig'
const TALOSCONFIG = 'talos-cluster-talosconfig'

let lab: Lab
let setup: LabActionSetup
const drift = (inputs: Record<string, string> = {}, s = setup): Promise<ActionRun> =>
  runLabAction(lab, s, { command: 'drift', ...inputs })
const bmc = () => lab.boards[B]!.bmc

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await onBoard(lab, FILE, B)
  expectRun(await runLabAction(lab, setup, { command: 'deploy' }), 0)
}, 300_000)
afterAll(async () => {
  await lab?.stop()
})

describe('drift right after a deploy', () => {
  let r: ActionRun
  beforeAll(async () => {
    r = await drift()
  }, 240_000)

  test('finds nothing: drift output [], exit 0, "In sync" in the summary, no annotation', () => {
    expectRun(r, 0)
    expect(r.outputs.drift).toBe('[]')
    expect(r.summary).toContain('<h2>turingpi-cluster drift: talos-cluster — ok</h2>')
    expect(r.summary).toContain('In sync: no drift found.')
    expect(r.summary).not.toContain('<h3>Drift</h3>')
    expect(annotations(r)).toEqual([])
  })
})

describe('the cluster file changes a node label of talos-w2', () => {
  let changed: LabActionSetup
  let r: ActionRun
  beforeAll(async () => {
    changed = await onBoard(lab, FILE, B, { 'workers.1.labels': { tier: 'edge' } })
    r = await drift({}, changed)
  }, 240_000)

  test("reports exactly that node's machine config as differing, applied live by the install phase", () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'talos-w2',
        field: 'talos.machineconfig',
        wanted: 'as rendered from the cluster file',
        found: 'differs (2 changed line(s); applies live)',
        kind: 'drift',
        fixedBy: ['install'],
        path: ['workers', 1]
      }
    ])
  })

  test('puts a warning on the line of workers[1] in the cluster file', async () => {
    expect(annotations(r)).toEqual([
      {
        level: 'warning',
        file: changed.configPath,
        line: await lineOf(changed, ['workers', 1]),
        message:
          'talos-w2: talos.machineconfig is differs (2 changed line(s); applies live), the cluster file wants as rendered from the cluster file; a deploy fixes it (phases: install)'
      }
    ])
  })
})

describe('node 3 (talos-w2) powered off through the BMC API', () => {
  let r: ActionRun
  beforeAll(async () => {
    await setPower(bmc(), 3, false)
    r = await drift()
    await setPower(bmc(), 3, true)
    await lab.node(B, 3).waitFor('up', 60_000)
  }, 300_000)

  test('is one row: power wanted on, found off, fixed by boot; no unreachable row for the node it explains', () => {
    expect(findings(r)).toEqual([
      {
        subject: 'talos-w2',
        field: 'power',
        wanted: 'on',
        found: 'off (board default slot 3)',
        kind: 'drift',
        fixedBy: ['boot'],
        path: ['workers', 1, 'node']
      }
    ])
  })

  test('passes without fail-on-drift (exit 0), with the drift table in the job summary', () => {
    expectRun(r, 0)
    expect(r.summary).toContain('<h2>turingpi-cluster drift: talos-cluster — drift</h2>')
    expect(r.summary).toContain(
      '<table><tr><th>Subject</th><th>Field</th><th>Wanted</th><th>Found</th><th>Fixed by</th></tr>' +
        '<tr><td>talos-w2</td><td>power</td><td>on</td><td>off (board default slot 3)</td><td>deploy (boot)</td></tr></table>'
    )
  })

  test('annotates the line of workers[1].node with a warning', async () => {
    expect(annotations(r)).toEqual([
      {
        level: 'warning',
        file: setup.configPath,
        line: await lineOf(setup, ['workers', 1, 'node']),
        message:
          'talos-w2: power is off (board default slot 3), the cluster file wants on; a deploy fixes it (phases: boot)'
      }
    ])
  })
})

describe('the prometheus release uninstalled with helm, drift run with fail-on-drift', () => {
  let r: ActionRun
  let fix: ActionRun
  beforeAll(async () => {
    await helm(lab, setup, KUBECONFIG, ['uninstall', 'kube-prometheus-stack', '-n', 'monitoring'])
    r = await drift({ 'fail-on-drift': 'true' })
    fix = await runLabAction(lab, setup, { command: 'deploy', phases: 'addons' })
  }, 300_000)

  test('is one row: the addon not installed, fixed by the addons phase', () => {
    expect(findings(r)).toEqual([
      {
        subject: 'prometheus',
        field: 'addon.prometheus.installed',
        wanted: 'kube-prometheus-stack-89.1.0',
        found: 'not installed',
        kind: 'drift',
        fixedBy: ['addons'],
        path: ['addons', 'prometheus']
      }
    ])
  })

  test('fails the step (exit 1) because fail-on-drift is set, saying so', () => {
    expectRun(r, 1)
    expect(annotations(r).filter((a) => a.level === 'error')).toEqual([
      { level: 'error', message: 'drift found (1 finding(s)); fail-on-drift is set' }
    ])
    expect(annotations(r).filter((a) => a.level === 'warning')).toEqual([
      expect.objectContaining({ file: setup.configPath, line: expect.any(Number) })
    ])
  })

  test('a deploy of the phase the row names puts it back', () => {
    expectRun(fix, 0)
    expect(fix.log).toMatch(/kube-prometheus-stack/)
  })
})

describe('talos-w1 upgraded in place with the plain siderolabs installer (the default schematic)', () => {
  let r: ActionRun
  let advised: string
  let after: ActionRun
  beforeAll(async () => {
    await upgradeTalos(lab, setup, TALOSCONFIG, '10.10.88.74', 'ghcr.io/siderolabs/installer:v1.9.0')
    r = await drift()
    // What an operator does with the row: the upgrade it names, then drift again.
    advised = /talosctl upgrade --image (\S+),/.exec(findings(r)[0]?.found ?? '')?.[1] ?? ''
    if (advised) await upgradeTalos(lab, setup, TALOSCONFIG, '10.10.88.74', advised)
    after = await drift()
  }, 450_000)

  test('is one row: the schematic the file renders, the default one found, no deploy phase fixes it', async () => {
    expectRun(r, 0)
    const wanted = r.outputs['schematic-id']
    expect(wanted).toMatch(/^[0-9a-f]{64}$/)
    expect(findings(r)).toEqual([
      {
        subject: 'talos-w1',
        field: 'talos.schematic',
        wanted,
        found: expect.stringMatching(
          /^376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba \(upgrade in place with talosctl upgrade --image factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.9\.0, or redeploy with reflash: true\)$/
        ),
        kind: 'drift',
        fixedBy: [],
        path: ['image_factory']
      }
    ])
    expect(findings(r)[0]!.found).toContain(`metal-installer/${findings(r)[0]!.wanted}:v1.9.0`)
    expect(annotations(r)).toEqual([
      expect.objectContaining({
        level: 'warning',
        file: setup.configPath,
        line: await lineOf(setup, ['image_factory'])
      })
    ])
  })

  test('the upgrade the row names brings the node back in sync', () => {
    expect(advised).toMatch(/^factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.9\.0$/)
    expectRun(after, 0)
    expect(after.outputs.drift).toBe('[]')
  })
})

describe('node 4 (talos-w3) reflashed with Talos v1.8.0 from the BMC SD card', () => {
  let r: ActionRun
  beforeAll(async () => {
    await reflashTalos(lab, B, 4, 'v1.8.0')
    r = await drift()
  }, 300_000)

  test('is one row: the node is in maintenance mode instead of configured, fixed by install (the addon is back)', () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'talos-w3',
        field: 'talos.mode',
        wanted: 'configured',
        found: 'maintenance (no machine config)',
        kind: 'drift',
        fixedBy: ['install'],
        path: ['workers', 2]
      }
    ])
  })
})

describe('the BMC stopped (board unreachable)', () => {
  let r: ActionRun
  beforeAll(async () => {
    await bmc().stop!()
    r = await drift()
  }, 300_000)

  test('fails (exit 1) with the reason, as an error on the bmc line of the file', async () => {
    expectRun(r, 1)
    const errors = annotations(r).filter((a) => a.level === 'error')
    expect(errors).toEqual([
      {
        level: 'error',
        file: setup.configPath,
        line: await lineOf(setup, ['bmc']),
        message: expect.stringMatching(
          /^board default: bmc could not be checked \(wanted reachable at https:\/\/10\.10\.88\.70\): .*10\.10\.88\.70/
        )
      },
      { level: 'error', message: expect.stringMatching(/^drift check could not run: .*10\.10\.88\.70/) }
    ])
  })

  test('is one unreachable row for the board, not a row per node and field; the nodes are still checked', () => {
    const rows = findings(r)
    expect(rows).toEqual([
      {
        subject: 'board default',
        field: 'bmc',
        wanted: 'reachable at https://10.10.88.70',
        found: expect.stringContaining('10.10.88.70'),
        kind: 'unreachable',
        fixedBy: [],
        path: ['bmc']
      },
      // Still there from the reflash above: the nodes answer although their BMC does not.
      expect.objectContaining({ subject: 'talos-w3', field: 'talos.mode', kind: 'drift' })
    ])
    expect(r.summary).toContain('<h2>turingpi-cluster drift: talos-cluster — error</h2>')
    expect(r.summary).toMatch(
      /<td>board default<\/td><td>bmc<\/td><td>reachable at https:\/\/10\.10\.88\.70<\/td><td>unreachable: [^<]+<\/td><td>manual<\/td>/
    )
  })
})
