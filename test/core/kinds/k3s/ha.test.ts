import { afterAll, describe, expect, test } from '@jest/globals'
import { k3sInstallPhase } from '../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/kinds/k3s/join-phase.js'
import { phaseContext } from './context.js'
import { haNodes, k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let lab: Harness | undefined
afterAll(() => lab?.stop())

describe('k3s HA on the lab', () => {
  // Two etcd joins, each of which a loaded machine can make retry (lab/etcd/k3s.mjs): more than jest's 60 s.
  test('three servers with embedded etcd and one agent come up with their roles', async () => {
    const cluster = k3sCluster('', haNodes)
    lab = startHarness(cluster.nodes)
    const ctx = await phaseContext(cluster, lab.deps)
    const install = await k3sInstallPhase.run!(ctx)
    expect(install.summary.split('; ').map((l) => l.split(':')[0])).toEqual(['k3s-cp1', 'k3s-cp2', 'k3s-cp3'])
    await k3sJoinPhase.run!(ctx)
    expect(lab.file('k3s-cp1', 'etc/rancher/k3s/config.yaml')).toContain('cluster-init: true\n')
    expect(lab.file('k3s-cp2', 'etc/rancher/k3s/config.yaml')).toContain('server: "https://10.10.88.73:6443"\n')
    expect(lab.file('k3s-cp2', 'etc/rancher/k3s/cluster-token')).toBe(ctx.outputs.k3sToken)
    expect(ctx.outputs.k3sToken).toMatch(/^K10[0-9a-f]{64}::server:[0-9a-f]{64}$/)
    const nodes = JSON.parse((await (await lab.shell('k3s-cp1')).exec('k3s kubectl get nodes -o json')).stdout) as {
      items: { metadata: { name: string; labels: Record<string, string> } }[]
    }
    const roles = nodes.items.map((n) => [
      n.metadata.name,
      Object.keys(n.metadata.labels)
        .filter((l) => l.startsWith('node-role'))
        .sort()
        .join(',')
    ])
    expect(roles).toEqual([
      ['k3s-cp1', 'node-role.kubernetes.io/control-plane,node-role.kubernetes.io/etcd,node-role.kubernetes.io/master'],
      ['k3s-cp2', 'node-role.kubernetes.io/control-plane,node-role.kubernetes.io/etcd,node-role.kubernetes.io/master'],
      ['k3s-cp3', 'node-role.kubernetes.io/control-plane,node-role.kubernetes.io/etcd,node-role.kubernetes.io/master'],
      ['k3s-w1', '']
    ])
  }, 180_000)
})
