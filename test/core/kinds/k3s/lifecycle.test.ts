import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { k3sInstallPhase } from '../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/kinds/k3s/join-phase.js'
import type { K3sCluster } from '../../../../src/core/kinds/k3s/config.js'
import { phaseContext } from './context.js'
import { k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let lab: Harness
let stateDir: string
const ids = ['k3s-cp', 'k3s-w1', 'k3s-w2', 'k3s-w3']

async function deploy(cluster: K3sCluster) {
  const ctx = await phaseContext(cluster, lab.deps, stateDir)
  const install = await k3sInstallPhase.run!(ctx)
  const join = await k3sJoinPhase.run!(ctx)
  return { ctx, install, join }
}

beforeAll(async () => {
  const cluster = k3sCluster()
  lab = startHarness(cluster.nodes)
  const { ctx } = await deploy(cluster)
  stateDir = ctx.settings.stateDir
})
afterAll(() => lab.stop())

describe('k3s lifecycle on the lab', () => {
  test('drift names each changed config key on the server only, with the phase that fixes it', async () => {
    const ctx = await phaseContext(k3sCluster('pod_cidr: 10.42.0.0/16\nflannel_backend: host-gw'), lab.deps, stateDir)
    const rows = [...(await k3sInstallPhase.drift!(ctx)), ...(await k3sJoinPhase.drift!(ctx))]
    expect(rows.map((r) => [r.subject, r.field, r.wanted, r.found, r.fixedBy.join()])).toEqual([
      ['k3s-cp', 'k3s.config.cluster-cidr', '10.42.0.0/16', '10.244.0.0/16', 'install'],
      ['k3s-cp', 'k3s.config.flannel-backend', 'host-gw', 'vxlan', 'install']
    ])
  })

  test('drift of a node kept NotReady is one k3s.node.ready row with the kubelet reason, fixed by no deploy phase', async () => {
    const fault = join(lab.labDir, 'k3s', 'faults', 'k3s-w3.notready')
    mkdirSync(dirname(fault), { recursive: true })
    writeFileSync(fault, '')
    try {
      const ctx = await phaseContext(k3sCluster(), lab.deps, stateDir)
      const rows = [...(await k3sInstallPhase.drift!(ctx)), ...(await k3sJoinPhase.drift!(ctx))]
      expect(rows).toEqual([
        {
          subject: 'k3s-w3',
          field: 'k3s.node.ready',
          wanted: 'Ready=True',
          found: expect.stringMatching(/^Ready=False \(KubeletNotReady: .*cni plugin not initialized/),
          kind: 'drift',
          fixedBy: [],
          path: ['workers', 2],
          symptom: true
        }
      ])
    } finally {
      rmSync(fault)
    }
  })

  test("drift of a node reflashed behind the action's back is one host-key row naming both keys and how to redeploy it", async () => {
    const recorded = lab.nodes.get('k3s-w1')!.hostKey
    lab.reflash('k3s-w1')
    const ctx = await phaseContext(k3sCluster(), lab.deps, stateDir)
    const rows = [...(await k3sInstallPhase.drift!(ctx)), ...(await k3sJoinPhase.drift!(ctx))]
    expect(rows).toEqual([
      {
        subject: 'k3s-w1',
        field: 'ssh.host-key',
        wanted: `${recorded} (recorded at first contact)`,
        found: `${lab.nodes.get('k3s-w1')!.hostKey}: reflashed or replaced outside this action (redeploy it with reflash: true, confirm: lab, nodes: k3s-w1)`,
        kind: 'drift',
        fixedBy: ['flash', 'boot', 'os-bootstrap', 'join'],
        path: ['workers', 0]
      }
    ])
    // Put it back the way a redeploy would, for the tests below.
    ctx.state.node('k3s-w1').hostKey = lab.nodes.get('k3s-w1')!.hostKey
    await ctx.state.save()
    await k3sJoinPhase.run!(ctx)
  })

  test('a changed pod_cidr and flannel_backend rewrites and restarts only the server', async () => {
    const before = ids.map((id) => lab.starts(id))
    const { install, join } = await deploy(k3sCluster('pod_cidr: 10.42.0.0/16\nflannel_backend: host-gw'))
    expect(install.changed).toBe(true)
    expect(install.summary).toMatch(/^k3s-cp: restarted k3s \(config.yaml differs\)/)
    expect(join.changed).toBe(false)
    expect(ids.map((id) => lab.starts(id) - before[ids.indexOf(id)])).toEqual([1, 0, 0, 0])
    expect(lab.file('k3s-cp', 'etc/rancher/k3s/config.yaml')).toContain(
      'cluster-cidr: "10.42.0.0/16"\nservice-cidr: "10.96.0.0/12"\ncluster-dns: "10.96.0.10"\nflannel-backend: "host-gw"\n'
    )
  })

  test('a reflashed worker is forgotten by the server first and rejoins cleanly', async () => {
    const cluster = k3sCluster('pod_cidr: 10.42.0.0/16\nflannel_backend: host-gw')
    lab.reflash('k3s-w2')
    // The flash phase records the new host key of a reflashed node; here the state is updated the same way.
    const ctx = await phaseContext(cluster, lab.deps, stateDir)
    ctx.state.node('k3s-w2').hostKey = lab.nodes.get('k3s-w2')!.hostKey
    await ctx.state.save()
    await k3sInstallPhase.run!(ctx)
    const join = await k3sJoinPhase.run!(ctx)
    expect(join.summary).toBe('1 of 3 agent(s) changed; 4 node(s) Ready')
    expect(ctx.reporter.text()).toContain(
      'k3s-w2: removed the stale Node object and node-password secret before it rejoins (deleted-node=k3s-w2 deleted-node-password=k3s-w2)'
    )
    expect(lab.file('k3s-w2', 'var/log/k3s.log')).not.toContain('Node password rejected')
    expect(ctx.outputs.nodeStatus['k3s-w2'].ready).toBe(true)
  })

  test('a node whose host key changed without a reflash is refused, naming both fingerprints', async () => {
    const pinned = lab.nodes.get('k3s-w3')!.hostKey
    lab.nodes.get('k3s-w3')!.hostKey = 'SHA256:attackerattackerattackerattackerattacker0'
    const ctx = await phaseContext(k3sCluster('pod_cidr: 10.42.0.0/16\nflannel_backend: host-gw'), lab.deps, stateDir)
    const error = (await k3sJoinPhase.run!(ctx).catch((e: unknown) => e)) as Error & { code: string }
    lab.nodes.get('k3s-w3')!.hostKey = pinned
    expect(error.code).toBe('HostKeyMismatch')
    expect(error.message).toContain('node k3s-w3: join failed: node k3s-w3: SSH host key changed')
    expect(error.message).toContain(pinned)
    expect(error.message).toContain('SHA256:attackerattackerattackerattackerattacker0')
  })
})
