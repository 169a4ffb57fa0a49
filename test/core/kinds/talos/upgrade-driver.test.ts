import { describe, expect, it } from '@jest/globals'
import type { Talosctl } from '../../../../src/adapters/talosctl/types.js'
import type { NodeSpec } from '../../../../src/core/config/model.js'
import { talosDriver } from '../../../../src/core/kinds/talos/upgrade-driver.js'
import {
  etcdStatusArgv,
  parseEtcdStatus,
  upgradeArgv,
  upgradeK8sArgv
} from '../../../../src/core/kinds/talos/upgrade-argv.js'

const TC = '/tmp/run/talosconfig'
const node = (id: string, ip: string, role: 'controlplane' | 'worker'): NodeSpec =>
  ({ id, hostname: id, ip, role, slot: 1, board: 'b' }) as unknown as NodeSpec
const NODES = [
  node('cp1', '10.0.0.1', 'controlplane'),
  node('cp2', '10.0.0.2', 'controlplane'),
  node('w1', '10.0.0.4', 'worker')
]

const ETCD = (ip: string, learner = false, errors = '') =>
  [
    'NODE       MEMBER             DB SIZE   IN USE          LEADER             RAFT INDEX   RAFT TERM   RAFT APPLIED INDEX   LEARNER   ERRORS',
    `${ip.padEnd(10)} 0000000000000001   2.1 MB    1.4 MB (66%)    0000000000000001   4001         2           4001                 ${String(learner).padEnd(9)} ${errors}`
  ].join('\n')

/** A talosctl that answers from a table of argv → result, and records every call with its binary. */
function fake(binary: string, answers: (argv: string[]) => { code: number; stdout?: string; stderr?: string }) {
  const calls: string[] = []
  const t: Talosctl = {
    binary,
    run: async (argv) => {
      calls.push(`${binary} ${argv.join(' ')}`)
      const a = answers(argv)
      return { code: a.code, stdout: a.stdout ?? '', stderr: a.stderr ?? '' }
    }
  }
  return { t, calls }
}

describe('talosctl argv of an upgrade', () => {
  it('upgrades by the node’s own IP as node and endpoint, waits with a timeout, and has no --preserve', () => {
    expect(
      upgradeArgv({
        ip: '10.0.0.2',
        talosconfig: TC,
        image: 'factory.talos.dev/metal-installer/abc:v1.10.7',
        timeoutSeconds: 600
      })
    ).toEqual([
      'upgrade',
      '--talosconfig',
      TC,
      '--nodes',
      '10.0.0.2',
      '--endpoints',
      '10.0.0.2',
      '--image',
      'factory.talos.dev/metal-installer/abc:v1.10.7',
      '--wait',
      '--timeout',
      '600s'
    ])
  })

  it('asks etcd status of one control plane and upgrade-k8s with from and to', () => {
    expect(etcdStatusArgv('10.0.0.1', TC)).toEqual([
      'etcd',
      'status',
      '--talosconfig',
      TC,
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1'
    ])
    expect(upgradeK8sArgv({ ip: '10.0.0.1', talosconfig: TC, from: 'v1.32.0', to: 'v1.33.0' })).toEqual([
      'upgrade-k8s',
      '--talosconfig',
      TC,
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1',
      '--from',
      'v1.32.0',
      '--to',
      'v1.33.0'
    ])
  })

  it('reads the etcd status table by its columns, values with spaces included', () => {
    expect(parseEtcdStatus(ETCD('10.0.0.1', true, 'etcdserver: no leader'))).toEqual([
      {
        node: '10.0.0.1',
        member: '0000000000000001',
        leader: '0000000000000001',
        learner: true,
        errors: 'etcdserver: no leader'
      }
    ])
    expect(parseEtcdStatus('error: connection refused')).toEqual([])
  })
})

describe('the Talos wave driver', () => {
  const version = (tag: string) => `Client:\n\tTag:         v1.10.7\nServer:\n\tNODE:        x\n\tTag:         ${tag}\n`
  const status = (ready: boolean) =>
    JSON.stringify({ spec: { stage: 'running', status: { ready, unmetConditions: [] } } })

  it('observes version and readiness through talosctl against the node’s IP', async () => {
    const r = fake('reader', (a) =>
      a[0] === 'version'
        ? { code: 0, stdout: version('v1.9.6') }
        : { code: 0, stdout: status(a.includes('10.0.0.4') ? false : true) }
    )
    const d = talosDriver({
      nodes: NODES,
      talosconfig: TC,
      reader: r.t,
      talosctlFor: async () => r.t,
      image: (v) => `img:${v}`,
      timeoutSeconds: 60
    })
    const step = {
      node: 'w1',
      role: 'worker' as const,
      ip: '10.0.0.4',
      from: 'v1.9.6',
      to: 'v1.10.7',
      action: 'upgrade' as const,
      reason: ''
    }
    expect(await d.observe(step)).toEqual({ ready: false, version: 'v1.9.6', cordoned: false })
    expect(r.calls.every((c) => c.includes('--nodes 10.0.0.4 --endpoints 10.0.0.4'))).toBe(true)
  })

  it('holds the etcd gate only when every control plane answers as a voting member without errors', async () => {
    let bad: 'none' | 'down' | 'learner' = 'none'
    const r = fake('reader', (a) => {
      const ip = a[a.indexOf('--nodes') + 1]!
      if (bad === 'down' && ip === '10.0.0.2')
        return { code: 1, stderr: 'rpc error: code = Unavailable desc = connection refused' }
      return { code: 0, stdout: ETCD(ip, bad === 'learner' && ip === '10.0.0.2') }
    })
    const d = talosDriver({
      nodes: NODES,
      talosconfig: TC,
      reader: r.t,
      talosctlFor: async () => r.t,
      image: (v) => v,
      timeoutSeconds: 60
    })
    expect(await d.etcd!()).toEqual({ ok: true, seen: 'etcd: 2 healthy member(s)' })
    expect(r.calls.some((c) => c.includes('10.0.0.4'))).toBe(false)
    bad = 'down'
    expect(await d.etcd!()).toEqual({
      ok: false,
      seen: 'talosctl etcd status: cp2: rpc error: code = Unavailable desc = connection refused'
    })
    bad = 'learner'
    expect(await d.etcd!()).toEqual({ ok: false, seen: 'talosctl etcd status: cp2 is a learner, not a voting member' })
  })

  it('upgrades with the talosctl of the hop’s starting version and names the node when it fails', async () => {
    const byVersion = new Map<string, ReturnType<typeof fake>>()
    const talosctlFor = async (v: string) => {
      const f = fake(`talosctl-${v}`, () => ({
        code: v === 'v1.10.7' ? 1 : 0,
        stderr: '1 error occurred:\n\t* 10.0.0.2: context deadline exceeded'
      }))
      byVersion.set(v, f)
      return f.t
    }
    const reader = fake('reader', () => ({ code: 0 }))
    const d = talosDriver({
      nodes: NODES,
      talosconfig: TC,
      reader: reader.t,
      talosctlFor,
      image: (v) => `img:${v}`,
      timeoutSeconds: 60
    })
    const step = {
      node: 'cp2',
      role: 'controlplane' as const,
      ip: '10.0.0.2',
      from: 'v1.9.6',
      to: 'v1.10.7',
      action: 'upgrade' as const,
      reason: ''
    }
    await d.upgrade(step, { from: 'v1.9.6', to: 'v1.10.7' })
    expect(byVersion.get('v1.9.6')!.calls).toEqual([
      `talosctl-v1.9.6 upgrade --talosconfig ${TC} --nodes 10.0.0.2 --endpoints 10.0.0.2 --image img:v1.10.7 --wait --timeout 60s`
    ])
    await expect(d.upgrade(step, { from: 'v1.10.7', to: 'v1.11.5' })).rejects.toThrow(
      'talosctl upgrade --image img:v1.11.5 on 10.0.0.2: \t* 10.0.0.2: context deadline exceeded'
    )
  })
})

describe('the Talos wave driver and PodDisruptionBudgets (Talos drains inside talosctl upgrade)', () => {
  const step = {
    node: 'cp2',
    role: 'controlplane' as const,
    ip: '10.0.0.2',
    from: 'v1.10.7',
    to: 'v1.11.5',
    action: 'upgrade' as const,
    reason: ''
  }
  const BLOCKER = 'PodDisruptionBudget web/web-pdb allows 0 disruption(s), 1 of its pods run here (web-0)'
  /** The cluster as one `kubectl get pods,poddisruptionbudgets,nodes -A -o json` answers it. */
  const cluster = (o: { budget: boolean; cordoned?: boolean }) =>
    JSON.stringify({
      kind: 'List',
      items: [
        {
          kind: 'Pod',
          metadata: {
            namespace: 'web',
            name: 'web-0',
            labels: { app: 'web' },
            ownerReferences: [{ kind: 'StatefulSet' }]
          },
          spec: { nodeName: 'cp2' }
        },
        {
          kind: 'Pod',
          metadata: {
            namespace: 'kube-system',
            name: 'flannel-x',
            labels: {},
            ownerReferences: [{ kind: 'DaemonSet' }]
          },
          spec: { nodeName: 'cp2' }
        },
        ...(o.budget
          ? [
              {
                kind: 'PodDisruptionBudget',
                metadata: { namespace: 'web', name: 'web-pdb' },
                spec: { selector: { matchLabels: { app: 'web' } } },
                status: { disruptionsAllowed: 0 }
              }
            ]
          : []),
        { kind: 'Node', metadata: { name: 'cp2' }, spec: o.cordoned ? { unschedulable: true } : {} }
      ]
    })

  function driver(o: { budget: () => boolean; cordoned?: boolean; upgradeCode?: number }) {
    const kubectl: string[] = []
    let t = 0
    const talosctl = fake('talosctl', () =>
      o.upgradeCode
        ? { code: o.upgradeCode, stderr: '1 error occurred:\n\t* 10.0.0.2: context deadline exceeded' }
        : { code: 0 }
    )
    const d = talosDriver({
      nodes: NODES,
      talosconfig: TC,
      reader: talosctl.t,
      talosctlFor: async () => talosctl.t,
      image: (v) => `img:${v}`,
      timeoutSeconds: 60,
      kubectl: async (args) => {
        kubectl.push(args.join(' '))
        return args[0] === 'get'
          ? cluster({ budget: o.budget(), cordoned: o.cordoned ?? false })
          : `node/${args[1]} uncordoned`
      },
      sleep: async (ms) => {
        t += ms
      },
      now: () => t,
      pollMs: 2_000
    })
    return { d, kubectl, talosctl }
  }

  it('reads pods, budgets and nodes in one kubectl call and lets a drain nothing blocks go on at once', async () => {
    const { d, kubectl } = driver({ budget: () => false })
    expect(await d.drain(step, 10_000)).toEqual({ ok: true })
    expect(kubectl).toEqual(['get pods,poddisruptionbudgets,nodes --all-namespaces --output json'])
  })

  it('waits while a budget blocks the node’s drain and goes on once it allows it', async () => {
    let reads = 0
    const { d, kubectl } = driver({ budget: () => ++reads < 3 })
    expect(await d.drain(step, 10_000)).toEqual({ ok: true })
    expect(kubectl).toHaveLength(3)
  })

  it('stops before the upgrade when a budget still blocks at the drain time-out, naming the budget and its pod', async () => {
    const { d, talosctl } = driver({ budget: () => true })
    expect(await d.drain(step, 5_000)).toEqual({
      ok: false,
      blocker: `${BLOCKER} (not upgraded: Talos would wait on it inside talosctl upgrade, then reboot the node anyway)`
    })
    expect(talosctl.calls).toEqual([])
  })

  it('names what blocks the node’s own drain when talosctl upgrade times out, and uncordons the node Talos cordoned', async () => {
    let budget = false
    const { d, kubectl } = driver({ budget: () => budget, upgradeCode: 1 })
    expect(await d.drain(step, 5_000)).toEqual({ ok: true })
    budget = true // the budget came after the look, as a workload scaled down meanwhile
    await expect(d.upgrade(step, { from: 'v1.10.7', to: 'v1.11.5' })).rejects.toThrow(
      `talosctl upgrade --image img:v1.11.5 on 10.0.0.2: \t* 10.0.0.2: context deadline exceeded; the node's own drain is blocked: ${BLOCKER} (Talos keeps retrying the eviction until its drain time-out, then reboots the node anyway)`
    )
    await d.uncordon(step)
    expect(kubectl.at(-1)).toBe('uncordon cp2')
  })

  it('never uncordons a node that was cordoned before the upgrade, nor one whose upgrade went through', async () => {
    const before = driver({ budget: () => true, cordoned: true, upgradeCode: 1 })
    await before.d.drain(step, 0)
    await expect(before.d.upgrade(step, { from: 'v1.10.7', to: 'v1.11.5' })).rejects.toThrow(BLOCKER)
    await before.d.uncordon(step)
    expect(before.kubectl.filter((c) => c.startsWith('uncordon'))).toEqual([])
    const fine = driver({ budget: () => false })
    await fine.d.drain(step, 0)
    await fine.d.upgrade(step, { from: 'v1.10.7', to: 'v1.11.5' })
    await fine.d.uncordon(step)
    expect(fine.kubectl.filter((c) => c.startsWith('uncordon'))).toEqual([])
  })
})

describe('machine configs after an upgrade', () => {
  it('pin the file’s kubernetes_version, so a newer talosctl’s default Kubernetes never reaches the nodes', async () => {
    const { genConfigArgv } = await import('../../../../src/core/kinds/talos/argv.js')
    const base = {
      clusterName: 'c',
      endpoint: 'https://10.0.0.1:6443',
      secretsPath: 's.yaml',
      role: 'controlplane' as const,
      out: 'cp1.yaml',
      installDisk: '/dev/mmcblk0',
      installImage: 'img',
      talosVersion: 'v1.11.5',
      patches: ['p.yaml']
    }
    expect(genConfigArgv({ ...base, kubernetesVersion: 'v1.33.0' }).slice(-5)).toEqual([
      'v1.11',
      '--kubernetes-version',
      'v1.33.0',
      '--config-patch',
      '@p.yaml'
    ])
    expect(genConfigArgv(base)).not.toContain('--kubernetes-version')
  })
})
