import { afterEach, describe, expect, test } from '@jest/globals'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import type { SshConnector } from '../../../../src/adapters/ssh/types.js'
import { k3sInstallPhase } from '../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/kinds/k3s/join-phase.js'
import { osBootstrapPhase } from '../../../../src/core/kinds/k3s/os-bootstrap/index.js'
import type { PhaseContext } from '../../../../src/core/phases/types.js'
import { withSharedShells } from '../../../../src/core/remote/shells.js'
import { phaseContext } from './context.js'
import { k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let lab: Harness | undefined
afterEach(() => lab?.stop())

/** Every script a node was sent, by node id: the observation is the one that prints the JSON sections. */
function recording(ssh: SshConnector): { ssh: SshConnector; sent: Map<string, string[]> } {
  const sent = new Map<string, string[]>()
  return {
    sent,
    ssh: {
      probe: ssh.probe,
      async connect(target) {
        const got = await ssh.connect(target)
        const exec = got.shell.exec.bind(got.shell)
        got.shell.exec = (script, options) => {
          sent.set(target.node, [...(sent.get(target.node) ?? []), script])
          return exec(script, options)
        }
        return got
      }
    }
  }
}

const isObservation = (script: string): boolean => script.includes('section bootstrap ')

async function deploy(ctx: PhaseContext): Promise<boolean[]> {
  const changed: boolean[] = []
  for (const node of ctx.nodes) changed.push((await osBootstrapPhase.runNode!(ctx, node)).changed)
  changed.push((await k3sInstallPhase.run!(ctx)).changed, (await k3sJoinPhase.run!(ctx)).changed)
  return changed
}

describe('one observation per node per run', () => {
  test('a converged rerun of os-bootstrap, install and join sends each node one observation and nothing else', async () => {
    const cluster = k3sCluster()
    lab = startHarness(cluster.nodes)
    const first = await phaseContext(cluster, lab.deps)
    expect(await deploy(first)).toContain(true)

    const rec = recording(lab.deps.ssh)
    const again = await phaseContext(cluster, { ...lab.deps, ssh: rec.ssh }, first.settings.stateDir)
    expect(await deploy(again)).toEqual([false, false, false, false, false, false])
    for (const node of cluster.nodes) {
      const scripts = rec.sent.get(node.id) ?? []
      expect([node.id, scripts.length, scripts.every(isObservation)]).toEqual([node.id, 1, true])
    }
    // The addons' iSCSI check reads what os-bootstrap found instead of asking the nodes again.
    expect(again.outputs.values['os-bootstrap.packages']).toMatchObject({
      'k3s-w1': expect.arrayContaining(['open-iscsi'])
    })
  })

  test('a node a phase changes is observed again before a later phase decides about it', async () => {
    const cluster = k3sCluster()
    lab = startHarness(cluster.nodes)
    const first = await phaseContext(cluster, lab.deps)
    await deploy(first)
    // Drift on one agent: its sysctl file is gone and its k3s config was edited by hand.
    const w2 = lab.nodes.get('k3s-w2')!.root
    rmSync(join(w2, 'etc/sysctl.d/90-tpi-k3s.conf'))
    const config = join(w2, 'etc/rancher/k3s/config.yaml')
    rmSync(config)

    const rec = recording(lab.deps.ssh)
    const again = await phaseContext(cluster, { ...lab.deps, ssh: rec.ssh }, first.settings.stateDir)
    const starts = lab.starts('k3s-w2')
    expect(await deploy(again)).toEqual([false, false, true, false, false, true])
    const sent = rec.sent.get('k3s-w2')!
    // Observed, bootstrapped (its steps), observed again by join, which then rewrote the config and restarted.
    expect(sent.filter(isObservation)).toHaveLength(2)
    expect(sent.findIndex(isObservation)).toBe(0)
    expect(sent.slice(1).findIndex(isObservation)).toBeGreaterThan(0)
    expect(lab.file('k3s-w2', 'etc/rancher/k3s/config.yaml')).toContain('node-name: "k3s-w2"')
    expect(lab.starts('k3s-w2')).toBe(starts + 1)
    // The untouched nodes were still observed once.
    for (const id of ['k3s-w1', 'k3s-w3']) expect(rec.sent.get(id)).toHaveLength(1)
  })
})

describe('a drift run', () => {
  test('logs into each node once for every module and observes it without the bootstrap checks or the core pods', async () => {
    const cluster = k3sCluster()
    lab = startHarness(cluster.nodes)
    const first = await phaseContext(cluster, lab.deps)
    await deploy(first)

    const rec = recording(lab.deps.ssh)
    const connects: string[] = []
    const ssh: SshConnector = { ...rec.ssh, connect: (t) => (connects.push(t.node), rec.ssh.connect(t)) }
    const ctx = await phaseContext(cluster, { ...lab.deps, ssh }, first.settings.stateDir)
    ctx.settings.command = 'drift'
    const rows = await withSharedShells(ctx, async () =>
      (await Promise.all([osBootstrapPhase, k3sInstallPhase, k3sJoinPhase].map((m) => m.drift!(ctx)))).flat()
    )
    // The harness's nodes carry no Armbian release file: that is the only drift there is.
    expect(rows.filter((r) => r.field !== 'os')).toEqual([])
    expect(connects.sort()).toEqual(cluster.nodes.map((n) => n.id).sort())
    for (const node of cluster.nodes) {
      const scripts = rec.sent.get(node.id) ?? []
      expect([node.id, scripts.length]).toEqual([node.id, 1])
      expect(scripts[0]).toContain('section os ')
      expect(scripts[0]).not.toContain('section bootstrap ')
      expect(scripts[0]).not.toContain('section pods ')
    }
    expect(rec.sent.get(cluster.nodes[0]!.id)![0]).toContain('section nodes ')
  })
})
