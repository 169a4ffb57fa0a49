import { afterEach, describe, expect, test } from '@jest/globals'
import { readFileSync, statSync } from 'node:fs'
import { k3sInstallPhase } from '../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/kinds/k3s/join-phase.js'
import { phaseContext } from './context.js'
import { k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let lab: Harness | undefined
afterEach(() => lab?.stop())

describe('k3s install and join on the lab', () => {
  test('a fresh 1 server + 3 agents cluster comes up Ready and a rerun touches nothing', async () => {
    const cluster = k3sCluster('endpoint: https://k8s.lab:6443\naddons: { traefik: true }')
    lab = startHarness(cluster.nodes)
    const ctx = await phaseContext(cluster, lab.deps)
    const install = await k3sInstallPhase.run!(ctx)
    const join = await k3sJoinPhase.run!(ctx)
    expect(install.changed).toBe(true)
    expect(join.summary).toBe('3 of 3 agent(s) changed; 4 node(s) Ready')
    expect(Object.values(ctx.outputs.nodeStatus).map((s) => [s.node, s.ready, s.version])).toEqual([
      ['k3s-cp', true, 'v1.31.3+k3s1'],
      ['k3s-w1', true, 'v1.31.3+k3s1'],
      ['k3s-w2', true, 'v1.31.3+k3s1'],
      ['k3s-w3', true, 'v1.31.3+k3s1']
    ])
    const kubeconfig = readFileSync(ctx.outputs.kubeconfigPath!, 'utf8')
    expect(kubeconfig).toContain('server: https://k8s.lab:6443\n')
    expect(statSync(ctx.outputs.kubeconfigPath!).mode & 0o777).toBe(0o600)
    expect(lab.file('k3s-w1', 'etc/rancher/k3s/cluster-token')).toBe(ctx.outputs.k3sToken)
    expect(statSync(`${lab.nodes.get('k3s-w1')!.root}/etc/rancher/k3s/cluster-token`).mode & 0o777).toBe(0o600)
    const firstBytes = lab.downloads.bytes
    expect(firstBytes).toBeGreaterThan(0)

    // Converged rerun: a new run (fresh memory), same state folder.
    const again = await phaseContext(cluster, lab.deps, ctx.settings.stateDir)
    const starts = [...lab.nodes.keys()].map((id) => lab!.starts(id))
    const requests = lab.downloads.requests.length
    expect((await k3sInstallPhase.run!(again)).changed).toBe(false)
    expect((await k3sJoinPhase.run!(again)).changed).toBe(false)
    expect([...lab.nodes.keys()].map((id) => lab!.starts(id))).toEqual(starts)
    expect(lab.downloads.requests.length).toBe(requests)

    // The plan of a converged cluster skips every node.
    const plan = [...(await k3sInstallPhase.plan(again)), ...(await k3sJoinPhase.plan(again))]
    expect(plan.map((s) => `${s.phase} ${s.node} ${s.action}`)).toEqual([
      'install k3s-cp skip',
      'join k3s-w1 skip',
      'join k3s-w2 skip',
      'join k3s-w3 skip'
    ])

    // No secret in any output: token, SSH key, kubeconfig credentials.
    const text = ctx.reporter.text() + '\n' + again.reporter.text()
    expect(text).not.toContain(ctx.outputs.k3sToken!)
    expect(text).not.toContain(ctx.outputs.k3sToken!.split('::server:')[1])
    expect(text).not.toContain('lab-test-key-material')
    for (const line of kubeconfig.split('\n').filter((l) => l.includes('-data:')))
      expect(text).not.toContain(line.split(': ')[1])
  })
})
