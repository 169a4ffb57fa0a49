import { describe, expect, it } from '@jest/globals'
import type { Cluster } from '../../../src/core/config/model.js'
import { checkRedeploy, mayReflash } from '../../../src/core/redeploy/check.js'
import {
  installedSystemLine,
  member,
  notMember,
  unknown,
  type Membership
} from '../../../src/core/redeploy/live-member.js'
import type { PhaseName, RunSettings } from '../../../src/core/settings.js'

function cluster(kind: 'k3s' | 'talos'): Cluster {
  const node = (id: string, slot: number) => ({
    id,
    hostname: id,
    slot,
    board: 'tpi',
    role: 'worker',
    ip: `10.10.88.${70 + slot}`,
    path: []
  })
  return {
    kind,
    name: 'homelab',
    addons: { metallb: false, traefik: false, prune: false, values: {} },
    longhorn: false,
    nodes: [node('cp1', 1), node('w1', 2), node('w2', 3)]
  } as unknown as Cluster
}

type S = Pick<RunSettings, 'command' | 'phases' | 'nodes' | 'reflash' | 'confirm'>
const base: S = { command: 'deploy', reflash: false }
const codes = (c: Cluster, s: Partial<S>) => checkRedeploy(c, { ...base, ...s }).map((i) => `${i.severity}:${i.code}`)

describe('checkRedeploy', () => {
  it('accepts a plain deploy of everything', () => {
    expect(checkRedeploy(cluster('k3s'), base)).toEqual([])
  })

  it('accepts known phases and nodes', () => {
    expect(codes(cluster('k3s'), { phases: ['install', 'join'], nodes: ['w1', 'w2'] })).toEqual([])
  })

  it('names unknown phases and lists the valid ones', () => {
    const [issue] = checkRedeploy(cluster('k3s'), { ...base, phases: ['flash', 'bootstrap' as PhaseName] })
    expect(issue).toEqual({
      code: 'UnknownPhase',
      path: 'phases',
      severity: 'error',
      message:
        'phases: unknown phase(s) "bootstrap"; valid phases are flash, boot, os-bootstrap, upgrade, install, join, addons, npu'
    })
  })

  it('names unknown nodes and lists the cluster nodes', () => {
    const [issue] = checkRedeploy(cluster('k3s'), { ...base, nodes: ['w1', 'w9', '10.10.88.72'] })
    expect(issue).toMatchObject({ code: 'UnknownNode', severity: 'error' })
    expect(issue.message).toBe('nodes: unknown node(s) "w9", "10.10.88.72"; nodes in this cluster are cp1, w1, w2')
  })

  it('warns that a phase of the other kind is skipped', () => {
    expect(codes(cluster('talos'), { phases: ['os-bootstrap', 'install'] })).toEqual(['warning:PhaseNotApplicable'])
  })

  it('refuses reflash without confirm, and with a confirm that is not the cluster name', () => {
    expect(codes(cluster('k3s'), { reflash: true, nodes: ['w1'] })).toEqual(['error:ReflashNotConfirmed'])
    const [issue] = checkRedeploy(cluster('k3s'), { ...base, reflash: true, nodes: ['w1'], confirm: 'yes' })
    expect(issue.message).toBe(
      'reflash: true wipes nodes that may be live members of cluster "homelab"; set confirm to "homelab" to allow it (confirm is "yes")'
    )
  })

  it('accepts a confirmed reflash of selected nodes', () => {
    expect(
      codes(cluster('k3s'), { reflash: true, confirm: 'homelab', nodes: ['w1'], phases: ['flash', 'boot'] })
    ).toEqual([])
  })

  it('warns when a confirmed reflash would hit every node', () => {
    expect(codes(cluster('k3s'), { reflash: true, confirm: 'homelab' })).toEqual(['warning:ReflashAllNodes'])
  })

  it('refuses reflash when the flash phase is not selected', () => {
    expect(codes(cluster('k3s'), { reflash: true, confirm: 'homelab', nodes: ['w1'], phases: ['install'] })).toEqual([
      'error:ReflashWithoutFlash'
    ])
  })

  it('does not warn about confirm on restore and destroy, which need it for themselves', () => {
    for (const command of ['restore', 'destroy'] as const)
      expect(codes(cluster('k3s'), { command, confirm: 'homelab' })).toEqual([])
  })

  it('warns that confirm alone only allows a scale down, and about repeated nodes', () => {
    expect(codes(cluster('k3s'), { confirm: 'homelab', nodes: ['w1', 'w1'] })).toEqual([
      'warning:DuplicateNode',
      'warning:ConfirmWithoutReflash'
    ])
  })

  it('reports every problem at once', () => {
    expect(codes(cluster('k3s'), { reflash: true, phases: ['addons', 'nope' as PhaseName], nodes: ['ghost'] })).toEqual(
      [
        'error:UnknownPhase',
        'warning:PhaseNotApplicable',
        'error:UnknownNode',
        'error:ReflashNotConfirmed',
        'error:ReflashWithoutFlash'
      ]
    )
  })

  it('does not check anything for validate', () => {
    expect(checkRedeploy(cluster('k3s'), { ...base, command: 'validate', nodes: ['ghost'] })).toEqual([])
  })
})

describe('mayReflash: flashed without reflash + confirm only on evidence that nothing is destroyed', () => {
  const m = (membership: Membership) => ({ membership, clusterName: 'homelab' })
  const live = m(member('the k3s API on cp1 lists Node "w1"'))
  const lost = m(unknown('no control plane of the file answers (cp1); it is powered off'))
  const blank = m(notMember('powered on, it booted nothing beyond DDR init within 10 s (blank eMMC)'))
  const REFUSED_MEMBER =
    'reflash refused: w1 is a member of cluster "homelab" (the k3s API on cp1 lists Node "w1"); set reflash: true and confirm: homelab'
  const REFUSED_UNKNOWN =
    'reflash refused: cannot prove w1 is not a cluster member (no control plane of the file answers (cp1); it is powered off); set reflash: true and confirm: homelab'
  it.each([
    [
      'a node proven blank',
      blank,
      { reflash: false },
      true,
      'flashing destroys nothing: powered on, it booted nothing beyond DDR init within 10 s (blank eMMC)'
    ],
    ['a member without reflash', live, { reflash: false }, false, REFUSED_MEMBER],
    ['a member with reflash but no confirm', live, { reflash: true }, false, REFUSED_MEMBER],
    [
      'a member with reflash and the wrong confirm',
      live,
      { reflash: true, confirm: 'homelab2' },
      false,
      REFUSED_MEMBER
    ],
    [
      'a member with reflash and confirm',
      live,
      { reflash: true, confirm: 'homelab' },
      true,
      'reflash of w1 confirmed for cluster "homelab" (the k3s API on cp1 lists Node "w1")'
    ],
    ['a node whose membership cannot be proven, without reflash', lost, { reflash: false }, false, REFUSED_UNKNOWN],
    [
      'a node whose membership cannot be proven, with confirm but no reflash',
      lost,
      { reflash: false, confirm: 'homelab' },
      false,
      REFUSED_UNKNOWN
    ],
    [
      'a node whose membership cannot be proven, with reflash and confirm',
      lost,
      { reflash: true, confirm: 'homelab' },
      true,
      'reflash of w1 confirmed for cluster "homelab" (no control plane of the file answers (cp1); it is powered off)'
    ],
    [
      'a node outside the selection',
      blank,
      { reflash: true, confirm: 'homelab', nodes: ['w2'] },
      false,
      'node w1 is not in the nodes selected for this run (w2)'
    ]
  ] as const)('%s', (_name, state, settings, allowed, reason) => {
    expect(
      mayReflash({ id: 'w1' }, state, { ...settings } as Pick<RunSettings, 'nodes' | 'reflash' | 'confirm'>)
    ).toEqual({ allowed, reason })
  })
})

describe('installedSystemLine: what on a console shows an installed system', () => {
  it.each([
    ['DDR init only (a blank eMMC)', 'DDR 9fa84341ce typ 24/09/06\r\nLPDDR4X, 2112MHz\r\nout\r\n', undefined],
    [
      'U-Boot SPL',
      'DDR v1\r\nU-Boot SPL 2024.04 (Jan 01 2025)\r\nTrying to boot from MMC1\r\n',
      'U-Boot SPL 2024.04 (Jan 01 2025)'
    ],
    ['an Armbian login prompt', 'Armbian 25.8.1 Bookworm ttyS9 \n\nk3s-w1 login: ', 'k3s-w1 login:'],
    [
      'Talos in maintenance',
      '[talos] entering maintenance service {"component": "controller-runtime"}',
      '[talos] entering maintenance service {"component": "controller-runtime"}'
    ],
    ['nothing at all', '', undefined],
    ['a login line with a terminal escape sequence', 'evil\u001b[2J login: ', 'evil?[2J login:']
  ])('%s', (_name, text, line) => {
    expect(installedSystemLine(text)).toBe(line)
  })
})
