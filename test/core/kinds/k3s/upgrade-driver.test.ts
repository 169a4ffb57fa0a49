import { describe, expect, it } from '@jest/globals'
import { etcdVoters, observationOf, pdbsOf, podsOf } from '../../../../src/core/kinds/k3s/upgrade-driver.js'
import { k3sUpgrade } from '../../../../src/core/kinds/k3s/upgrade-phase.js'
import { upgradeTable } from '../../../../src/core/upgrade/summary.js'
import type { K3sCluster } from '../../../../src/core/kinds/k3s/config.js'

const kubeNode = (
  name: string,
  over: { ready?: string; voter?: string; version?: string; unschedulable?: boolean } = {}
) => ({
  metadata: { name },
  spec: over.unschedulable ? { unschedulable: true } : {},
  status: {
    conditions: [
      { type: 'Ready', status: over.ready ?? 'True' },
      ...(over.voter
        ? [{ type: 'EtcdIsVoter', status: over.voter, message: over.voter === 'True' ? '' : 'node is a learner' }]
        : [])
    ],
    nodeInfo: { kubeletVersion: over.version ?? 'v1.31.3+k3s1' }
  }
})

describe('reading the cluster for the wave', () => {
  it('takes Ready, the kubelet version and the cordon from a Node object', () => {
    expect(observationOf(kubeNode('cp1', { unschedulable: true, version: 'v1.31.4+k3s1' }))).toEqual({
      ready: true,
      version: 'v1.31.4+k3s1',
      cordoned: true
    })
    expect(observationOf(kubeNode('cp1', { ready: 'False' }))).toMatchObject({ ready: false, cordoned: false })
    expect(observationOf(undefined)).toEqual({ ready: false, cordoned: false })
  })

  it('wants every server to be a voting etcd member, naming the ones that are not', () => {
    const nodes = [kubeNode('cp1', { voter: 'True' }), kubeNode('cp2', { voter: 'False' }), kubeNode('cp3')]
    expect(etcdVoters(nodes, ['cp1', 'cp2', 'cp3', 'cp4'])).toEqual({
      ok: false,
      seen: 'etcd: cp2 has EtcdIsVoter=False (node is a learner), cp3 has EtcdIsVoter=absent, cp4 is not registered'
    })
    expect(etcdVoters([kubeNode('cp1', { voter: 'True' })], ['cp1'])).toEqual({
      ok: true,
      seen: 'etcd: 1 voting members'
    })
  })

  it('reads pods (DaemonSet pods marked) and budgets from kubectl JSON', () => {
    const pods = podsOf(
      JSON.stringify({
        items: [
          { metadata: { namespace: 'web', name: 'web-1', labels: { app: 'web' } }, spec: { nodeName: 'cp1' } },
          {
            metadata: { namespace: 'kube-system', name: 'svclb-1', ownerReferences: [{ kind: 'DaemonSet' }] },
            spec: { nodeName: 'cp1' }
          }
        ]
      })
    )
    expect(pods).toEqual([
      { namespace: 'web', name: 'web-1', node: 'cp1', labels: { app: 'web' }, daemonSet: false },
      { namespace: 'kube-system', name: 'svclb-1', node: 'cp1', labels: {}, daemonSet: true }
    ])
    expect(
      pdbsOf(
        JSON.stringify({
          items: [
            {
              metadata: { namespace: 'web', name: 'web-pdb' },
              spec: { selector: { matchLabels: { app: 'web' } } },
              status: { disruptionsAllowed: 0 }
            }
          ]
        })
      )
    ).toEqual([{ namespace: 'web', name: 'web-pdb', selector: { app: 'web' }, disruptionsAllowed: 0 }])
  })
})

describe('the K3s upgrade decision', () => {
  const nodes = ['cp1', 'cp2', 'cp3']
    .map((id) => ({ id, role: 'controlplane', ip: '10.0.0.1', hostname: id }))
    .concat([{ id: 'w1', role: 'worker', ip: '10.0.0.4', hostname: 'w1' }])
  const cluster = (k3s_version: string, allow_downgrade = false) =>
    ({ kind: 'k3s', k3s_version, allow_downgrade, nodes }) as unknown as K3sCluster

  it('has nothing to do when every installed node runs the file’s version (fresh nodes are install’s)', () => {
    expect(k3sUpgrade(cluster('v1.31.3+k3s1'), { cp1: 'v1.31.3+k3s1' })).toBeUndefined()
  })

  it('starts a resumed wave at the oldest running version and skips the nodes already done', () => {
    const up = k3sUpgrade(cluster('v1.31.4+k3s1'), {
      cp1: 'v1.31.4+k3s1',
      cp2: 'v1.31.3+k3s1',
      cp3: 'v1.31.3+k3s1',
      w1: 'v1.31.3+k3s1'
    })!
    expect(up.path.hops).toEqual([{ from: 'v1.31.3+k3s1', to: 'v1.31.4+k3s1' }])
    expect(up.order.map((s) => `${s.node}:${s.action}`)).toEqual([
      'cp1:skip',
      'cp2:upgrade',
      'cp3:upgrade',
      'w1:upgrade'
    ])
  })

  it('refuses a skipped minor before any node is touched', () => {
    expect(k3sUpgrade(cluster('v1.33.1+k3s1'), { cp1: 'v1.31.3+k3s1', w1: 'v1.31.3+k3s1' })!.path.refusal?.rule).toBe(
      'skipped-minor'
    )
  })

  it('treats a downgrade from the newest version present, refused without allow_downgrade', () => {
    expect(k3sUpgrade(cluster('v1.31.3+k3s1'), { cp1: 'v1.31.4+k3s1', w1: 'v1.31.3+k3s1' })!.path.refusal?.rule).toBe(
      'downgrade'
    )
    const allowed = k3sUpgrade(cluster('v1.31.3+k3s1', true), { cp1: 'v1.31.4+k3s1', w1: 'v1.31.3+k3s1' })!
    expect(allowed.path.hops).toEqual([{ from: 'v1.31.4+k3s1', to: 'v1.31.3+k3s1' }])
    expect(allowed.order.map((s) => `${s.node}:${s.action}`)).toEqual(['w1:skip', 'cp1:upgrade'])
  })
})

describe('the upgrade table of the job summary', () => {
  it('shows each node from → to, its outcome and each step’s seconds', () => {
    const t = upgradeTable([
      {
        node: 'cp1',
        from: 'v1.31.3+k3s1',
        to: 'v1.31.4+k3s1',
        outcome: 'upgraded',
        steps: [
          { step: 'cordon', ms: 100 },
          { step: 'drain', ms: 2000 },
          { step: 'upgrade', ms: 5100 },
          { step: 'ready', ms: 3000 },
          { step: 'uncordon', ms: 100 }
        ]
      },
      {
        node: 'cp2',
        from: 'v1.31.3+k3s1',
        to: 'v1.31.4+k3s1',
        outcome: 'stopped',
        steps: [
          { step: 'cordon', ms: 100 },
          { step: 'drain', ms: 30000 },
          { step: 'uncordon', ms: 100 }
        ]
      }
    ])
    expect(t.header).toEqual([
      'Node',
      'From',
      'To',
      'Outcome',
      'Cordon',
      'Drain',
      'Upgrade',
      'Ready',
      'Uncordon',
      'Total'
    ])
    expect(t.rows).toEqual([
      ['cp1', 'v1.31.3+k3s1', 'v1.31.4+k3s1', 'upgraded', '0.1 s', '2.0 s', '5.1 s', '3.0 s', '0.1 s', '10.3 s'],
      ['cp2', 'v1.31.3+k3s1', 'v1.31.4+k3s1', 'stopped', '0.1 s', '30.0 s', '—', '—', '0.1 s', '30.2 s']
    ])
  })
})
