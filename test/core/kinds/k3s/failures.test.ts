import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { k3sInstallPhase } from '../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/kinds/k3s/join-phase.js'
import { phaseContext } from './context.js'
import { k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let lab: Harness
let stateDir: string | undefined
// A short cluster_timeout keeps the bounded readiness poll to a few rounds (the harness sleep is instant).
const cluster = k3sCluster('cluster_timeout: 6')

async function run(file = cluster) {
  const ctx = await phaseContext(file, lab.deps, stateDir)
  stateDir = ctx.settings.stateDir
  const install = await k3sInstallPhase.run!(ctx)
  return { ctx, install, join: await k3sJoinPhase.run!(ctx) }
}

beforeAll(() => {
  lab = startHarness(cluster.nodes)
})
afterAll(() => lab.stop())

describe('k3s failures end in a clear error and a rerun converges', () => {
  test('an SSH drop while install.sh runs names the node and the lost connection', async () => {
    lab.nodes.get('k3s-w1')!.dropOn = /k3s-install\.sh/
    const error = (await run().catch((e: unknown) => e)) as Error & { code: string }
    expect(error.code).toBe('RemoteStepFailed')
    expect(error.message).toMatch(
      /^node k3s-w1: join failed: k3s install.sh \(agent\) exited with 255:\nSSH connection to node k3s-w1 was lost while the command ran\. To resume: re-run/
    )
    // Agents join in parallel: when k3s-w1 fails first, an agent not yet started stays for the re-run,
    // so the re-run changes k3s-w1 and any agent the failure kept from starting; the run after it changes nothing.
    const { join } = await run()
    expect(join.summary).toMatch(/^[123] of 3 agent\(s\) changed; 4 node\(s\) Ready$/)
    expect((await run()).join.summary).toBe('0 of 3 agent(s) changed; 4 node(s) Ready')
  })

  test('a node that stays NotReady times out naming it and its condition; the rerun converges once it is Ready', async () => {
    const faults = join(lab.labDir, 'k3s', 'faults')
    mkdirSync(faults, { recursive: true })
    writeFileSync(join(faults, 'k3s-w3.notready'), '')
    const error = (await run().catch((e: unknown) => e)) as Error & { code: string }
    expect(error.code).toBe('ClusterNotReady')
    expect(error.message).toContain(
      'join failed: cluster not ready after 6 s: k3s-w3: Ready=False (KubeletNotReady: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized)'
    )
    expect(error.message).not.toContain('k3s-w2')
    rmSync(join(faults, 'k3s-w3.notready'))
    const starts = lab.starts('k3s-w3')
    const { join: result } = await run()
    expect(result).toEqual({ changed: false, summary: '0 of 3 agent(s) changed; 4 node(s) Ready' })
    expect(lab.starts('k3s-w3')).toBe(starts)
  })

  test("an SSH drop after a server's new config.yaml landed but before its restart: the rerun restarts it", async () => {
    const changed = k3sCluster('cluster_timeout: 6\nflannel_backend: host-gw')
    lab.nodes.get('k3s-cp')!.dropOn = /restarted=\$UNIT/
    const starts = lab.starts('k3s-cp')
    const error = (await run(changed).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(
      /^node k3s-cp: install failed: restarting k3s exited with 255:\nSSH connection to node k3s-cp was lost while the command ran\./
    )
    expect(lab.file('k3s-cp', 'etc/rancher/k3s/config.yaml')).toContain('flannel-backend: "host-gw"\n')
    expect(lab.starts('k3s-cp')).toBe(starts)
    const { install } = await run(changed)
    expect(install.summary).toBe('k3s-cp: restarted k3s (config.yaml or token file changed since k3s started)')
    expect(lab.starts('k3s-cp')).toBe(starts + 1)
    expect((await run(changed)).install.changed).toBe(false)
  })

  test('an install.sh cut short after it wrote the unit file: the rerun pushes the images and restarts once, the next run changes nothing', async () => {
    // What the drop leaves: binary, config and unit in place, but install.sh never got to record the images.
    rmSync(join(lab.nodes.get('k3s-w2')!.root, 'var/lib/rancher/k3s/agent/images/.tpi-version'))
    const starts = lab.starts('k3s-w2')
    const { ctx, join: first } = await run()
    expect(ctx.reporter.text()).toContain(
      'k3s-w2: restarted k3s-agent (air-gap images of none present, v1.31.3+k3s1 wanted)'
    )
    expect(first.summary).toBe('1 of 3 agent(s) changed; 4 node(s) Ready')
    expect(lab.starts('k3s-w2')).toBe(starts + 1)
    const { join: next } = await run()
    expect(next.summary).toBe('0 of 3 agent(s) changed; 4 node(s) Ready')
    expect(lab.starts('k3s-w2')).toBe(starts + 1)
  })
})
