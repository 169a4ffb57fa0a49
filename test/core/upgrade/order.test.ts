import { describe, expect, it } from '@jest/globals'
import type { NodeSpec } from '../../../src/core/config/model.js'
import { k3sGates } from '../../../src/core/kinds/k3s/upgrade-phase.js'
import { TALOS_GATES } from '../../../src/core/kinds/talos/upgrade-plan.js'
import { drainBlockers, gates, nodeOrder } from '../../../src/core/upgrade/order.js'

const node = (id: string, role: 'controlplane' | 'worker', ip: string): NodeSpec =>
  ({
    id,
    role,
    ip,
    board: 'b',
    slot: 1,
    hostname: id,
    has_nvme: false,
    nvme_device: '',
    nvme_mount: '',
    labels: {},
    path: []
  }) as NodeSpec
const nodes = [
  node('cp1', 'controlplane', '10.0.0.1'),
  node('w1', 'worker', '10.0.0.4'),
  node('cp2', 'controlplane', '10.0.0.2'),
  node('cp3', 'controlplane', '10.0.0.3')
]

describe('node order', () => {
  it('upgrades the control planes one after another in file order, then the workers', () => {
    const order = nodeOrder(
      nodes,
      { cp1: 'v1.31.3+k3s1', cp2: 'v1.31.3+k3s1', cp3: 'v1.31.3+k3s1', w1: 'v1.31.3+k3s1' },
      'v1.31.4+k3s1'
    )
    expect(order.map((s) => s.node)).toEqual(['cp1', 'cp2', 'cp3', 'w1'])
    expect(order[0]).toEqual({
      node: 'cp1',
      role: 'controlplane',
      ip: '10.0.0.1',
      from: 'v1.31.3+k3s1',
      to: 'v1.31.4+k3s1',
      action: 'upgrade',
      reason: 'control plane: v1.31.3+k3s1 → v1.31.4+k3s1'
    })
  })

  it('skips the nodes already at the target, so a re-run resumes where a wave stopped', () => {
    const order = nodeOrder(
      nodes,
      { cp1: 'v1.31.4+k3s1', cp2: 'v1.31.3+k3s1', cp3: 'v1.31.3+k3s1', w1: 'v1.31.3+k3s1' },
      'v1.31.4+k3s1'
    )
    expect(order.map((s) => `${s.node}:${s.action}`)).toEqual(['cp1:skip', 'cp2:upgrade', 'cp3:upgrade', 'w1:upgrade'])
    expect(order[0].reason).toBe('already at v1.31.4+k3s1')
  })

  it('downgrades workers first, so no kubelet is ever newer than the API server', () => {
    const order = nodeOrder(
      nodes,
      { cp1: 'v1.31.4+k3s1', cp2: 'v1.31.4+k3s1', cp3: 'v1.31.4+k3s1', w1: 'v1.31.4+k3s1' },
      'v1.31.3+k3s1'
    )
    expect(order.map((s) => s.node)).toEqual(['w1', 'cp1', 'cp2', 'cp3'])
  })

  it('upgrades a node whose version could not be read, showing it as unknown', () => {
    expect(nodeOrder([nodes[0]], {}, 'v1.31.4+k3s1')[0]).toMatchObject({ from: 'unknown', action: 'upgrade' })
  })
})

describe('drain blockers', () => {
  const pods = [
    { namespace: 'web', name: 'web-1', node: 'cp1', labels: { app: 'web' } },
    { namespace: 'web', name: 'web-2', node: 'cp2', labels: { app: 'web' } },
    { namespace: 'kube-system', name: 'flannel-x', node: 'cp1', labels: { app: 'web' }, daemonSet: true }
  ]

  it('names a budget that allows no disruption of a pod on the node', () => {
    expect(
      drainBlockers('cp1', pods, [
        { namespace: 'web', name: 'web-pdb', selector: { app: 'web' }, disruptionsAllowed: 0 }
      ])
    ).toEqual(['PodDisruptionBudget web/web-pdb allows 0 disruption(s), 1 of its pods run here (web-1)'])
  })

  it('lets a budget with room pass, and ignores budgets of other namespaces and DaemonSet pods', () => {
    expect(
      drainBlockers('cp1', pods, [
        { namespace: 'web', name: 'web-pdb', selector: { app: 'web' }, disruptionsAllowed: 1 }
      ])
    ).toEqual([])
    expect(
      drainBlockers('cp1', pods, [
        { namespace: 'kube-system', name: 'k', selector: { app: 'web' }, disruptionsAllowed: 0 }
      ])
    ).toEqual([])
    expect(
      drainBlockers('w1', pods, [
        { namespace: 'web', name: 'web-pdb', selector: { app: 'web' }, disruptionsAllowed: 0 }
      ])
    ).toEqual([])
  })

  it('names a Longhorn volume whose last healthy replica is on the node', () => {
    expect(
      drainBlockers(
        'cp2',
        [],
        [],
        [
          { name: 'pvc-1', healthyReplicasOn: ['cp2'] },
          { name: 'pvc-2', healthyReplicasOn: ['cp2', 'cp3'] }
        ]
      )
    ).toEqual(['Longhorn volume pvc-1 has its last healthy replica here'])
  })
})

describe('gates', () => {
  it('check etcd voters before a K3s HA wave, and list the per-node steps with the drain time-out', () => {
    const g = gates(k3sGates(true), 120)
    expect(g.before).toEqual(['every node Ready', 'etcd healthy: every server has EtcdIsVoter=True'])
    expect(g.perNode[1]).toBe('drain, at most 120s (a blocking PodDisruptionBudget or pod stops the wave)')
    expect(g.perNode[2]).toBe('push the new k3s binary and air-gap images, restart the service')
  })

  it('have no etcd gate on a single-server K3s (SQLite) and use talosctl etcd status on Talos', () => {
    expect(gates(k3sGates(false), 60).before).toEqual(['every node Ready'])
    const talos = gates(TALOS_GATES, 60)
    expect(talos.before).toContain('etcd healthy: talosctl etcd status on each control plane')
    expect(talos.perNode[2]).toBe('talosctl upgrade --image <installer> against the node IP')
  })
})
