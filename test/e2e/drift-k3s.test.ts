// `drift` of a K3s cluster through the shipped bundle on the lab (board 12): one deploy of
// examples/k3s-cluster.yaml (one server, three agents, addons, the NPU stack), then drift injected behind
// the action's back, one kind at a time, each reported exactly once with what the file wants and what
// runs, and put back before the next (by the deploy phase its row names where there is one). The
// reflash with a stock image comes last: the node keeps the foreign image.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import {
  expectRun,
  findings,
  helm,
  K3S_DRIFT_SCENARIO_BOARD as B,
  onBoard,
  reflashArmbian,
  setPower
} from './helpers-drift.js'
import { keepNotReady, onNode } from './helpers-k3s.js'

const FILE = 'examples/k3s-cluster.yaml'
const KUBECONFIG = 'production-kubeconfig'
/** Slots of the example: k3s-cp 1, k3s-w1 2, k3s-w2 3, k3s-w3 4. */
const W1 = 2
const W2 = 3
const W3 = 4
const REBUILD = ['flash', 'boot', 'os-bootstrap', 'join']

let lab: Lab
let setup: LabActionSetup
const drift = (inputs: Record<string, string> = {}): Promise<ActionRun> =>
  runLabAction(lab, setup, { command: 'drift', ...inputs })
const deploy = (inputs: Record<string, string>): Promise<ActionRun> =>
  runLabAction(lab, setup, { command: 'deploy', ...inputs })
const bmc = () => lab.boards[B]!.bmc

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await onBoard(lab, FILE, B)
  expectRun(await deploy({}), 0)
}, 600_000)
afterAll(async () => {
  await lab?.stop()
})

describe('drift right after a deploy', () => {
  let r: ActionRun
  beforeAll(async () => {
    r = await drift()
  }, 150_000)

  test('finds nothing on any node, module or addon: drift output [], exit 0', () => {
    expectRun(r, 0)
    expect(r.outputs.drift).toBe('[]')
    expect(r.summary).toContain('In sync: no drift found.')
  })
})

describe('the cluster file changes pod_cidr', () => {
  let r: ActionRun
  beforeAll(async () => {
    const changed = await onBoard(lab, FILE, B, { pod_cidr: '10.42.0.0/16' })
    r = await drift({ config: changed.configPath })
  }, 150_000)

  test("is one row: the server's cluster-cidr, fixed by the install phase (agents do not carry it)", () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-cp',
        field: 'k3s.config.cluster-cidr',
        wanted: '10.42.0.0/16',
        found: '10.244.0.0/16',
        kind: 'drift',
        fixedBy: ['install'],
        path: ['control_plane']
      }
    ])
  })
})

describe('k3s-agent stopped on k3s-w2', () => {
  let r: ActionRun
  let fix: ActionRun
  let after: ActionRun
  beforeAll(async () => {
    await onNode(lab, setup, B, W2, 'systemctl stop k3s-agent')
    r = await drift()
    fix = await deploy({ phases: 'join' })
    after = await drift()
  }, 300_000)

  test('is one row: the unit wanted active, found inactive, fixed by the join phase', () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-w2',
        field: 'k3s.service.k3s-agent',
        wanted: 'active',
        found: 'inactive',
        kind: 'drift',
        fixedBy: ['join'],
        path: ['workers', 1]
      }
    ])
  })

  test('a deploy of that phase starts it again and drift is empty after', () => {
    expectRun(fix, 0)
    expectRun(after, 0)
    expect(after.outputs.drift).toBe('[]')
  })
})

describe('k3s-w3 NotReady (its kubelet reports the CNI not initialised)', () => {
  let r: ActionRun
  beforeAll(async () => {
    await keepNotReady(lab, 'k3s-w3', true)
    try {
      r = await drift()
    } finally {
      await keepNotReady(lab, 'k3s-w3', false)
    }
  }, 150_000)

  test("is one row with the Ready condition's reason, which no deploy phase fixes", () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-w3',
        field: 'k3s.node.ready',
        wanted: 'Ready=True',
        found: expect.stringMatching(/^Ready=False \(KubeletNotReady: .*cni plugin not initialized/),
        kind: 'drift',
        fixedBy: [],
        path: ['workers', 2]
      }
    ])
  })
})

describe('rkllama stopped on k3s-w1', () => {
  let r: ActionRun
  let fix: ActionRun
  beforeAll(async () => {
    await onNode(lab, setup, B, W1, 'systemctl stop rkllama')
    r = await drift()
    fix = await deploy({ phases: 'npu', nodes: 'k3s-w1' })
  }, 300_000)

  test('is one row, the service, fixed by the npu phase: not also a row for its API that then does not answer', () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-w1',
        field: 'npu.rkllama.service',
        wanted: 'active',
        found: 'inactive',
        kind: 'drift',
        fixedBy: ['npu'],
        path: ['workers', 0]
      }
    ])
  })

  test('a deploy of that phase on that node starts it and rkllama answers again', () => {
    expectRun(fix, 0)
    expect(fix.log).toMatch(/k3s-w1: .*started=rkllama.*rkllama answers \(models: qwen3-4b\)/)
  })
})

describe('the metallb release uninstalled with helm', () => {
  let r: ActionRun
  let fix: ActionRun
  beforeAll(async () => {
    await helm(lab, setup, KUBECONFIG, ['uninstall', 'metallb', '-n', 'metallb-system'])
    r = await drift({ 'fail-on-drift': 'true' })
    fix = await deploy({ phases: 'addons' })
  }, 300_000)

  test('is one row, fixed by the addons phase, and fails the step because fail-on-drift is set', () => {
    expectRun(r, 1)
    expect(findings(r)).toEqual([
      {
        subject: 'metallb',
        field: 'addon.metallb.installed',
        wanted: 'metallb-0.16.1',
        found: 'not installed',
        kind: 'drift',
        fixedBy: ['addons'],
        path: ['addons', 'metallb']
      }
    ])
  })

  test('a deploy of the addons phase puts it back', () => {
    expectRun(fix, 0)
  })
})

describe('k3s-w2 upgraded in place to another Armbian release', () => {
  let r: ActionRun
  const release = (codename: string, version: string): string =>
    `sed -i 's/^DISTRIBUTION_CODENAME=.*/DISTRIBUTION_CODENAME=${codename}/; s/^VERSION=.*/VERSION=${version}/' /etc/armbian-release`
  beforeAll(async () => {
    await onNode(lab, setup, B, W2, release('trixie', '26.2.0'))
    try {
      r = await drift()
    } finally {
      await onNode(lab, setup, B, W2, release('bookworm', '25.8.1'))
    }
  }, 150_000)

  test('is one row on armbian_image: the release the image name says, the one found, and that only a reflash changes it', () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-w2',
        field: 'os.release',
        wanted: 'bookworm',
        found: 'trixie (Armbian 26.2.0) (reflash with reflash: true, confirm: production, nodes: k3s-w2)',
        kind: 'drift',
        fixedBy: REBUILD,
        path: ['armbian_image']
      }
    ])
  })
})

describe('k3s-w3 powered off through the BMC API', () => {
  let r: ActionRun
  let after: ActionRun
  beforeAll(async () => {
    await setPower(bmc(), W3, false)
    await lab.node(B, W3).waitFor('off', 20_000)
    r = await drift()
    await setPower(bmc(), W3, true)
    await lab.node(B, W3).waitFor('up', 20_000)
    after = await drift()
  }, 240_000)

  test('is one row, power, fixed by boot: nothing else about the node it explains', () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-w3',
        field: 'power',
        wanted: 'on',
        found: `off (board default slot ${W3})`,
        kind: 'drift',
        fixedBy: ['boot'],
        path: ['workers', 2, 'node']
      }
    ])
  })

  test('powered on again, its units start at boot and drift is empty', () => {
    expectRun(after, 0)
    expect(after.outputs.drift).toBe('[]')
  })
})

describe('k3s-w2 reflashed from the BMC SD card with a stock Armbian image', () => {
  let r: ActionRun
  beforeAll(async () => {
    await reflashArmbian(lab, B, W2)
    r = await drift()
  }, 240_000)

  test('is one row: the host key changed, with both keys and the redeploy that rebuilds it; no row per module', () => {
    expectRun(r, 0)
    expect(findings(r)).toEqual([
      {
        subject: 'k3s-w2',
        field: 'ssh.host-key',
        wanted: expect.stringMatching(/^SHA256:\S+ \(recorded at first contact\)$/),
        found: expect.stringMatching(
          /^SHA256:\S+: reflashed or replaced outside this action \(redeploy it with reflash: true, confirm: production, nodes: k3s-w2\)$/
        ),
        kind: 'drift',
        fixedBy: REBUILD,
        path: ['workers', 1]
      }
    ])
    const [row] = findings(r)
    expect(row!.found.split(':').slice(0, 2).join(':')).not.toBe(row!.wanted.split(' ')[0])
  })
})
