import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { k3sInstallPhase } from '../../../../src/core/phases/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/phases/k3s/join-phase.js'
import { phaseContext } from './context.js'
import { k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let lab: Harness
let stateDir: string | undefined
// A short cluster_timeout keeps the bounded readiness poll to a few rounds (the harness sleep is instant).
const cluster = k3sCluster('cluster_timeout: 6')

async function run() {
  const ctx = await phaseContext(cluster, lab.deps, stateDir)
  stateDir = ctx.settings.stateDir
  await k3sInstallPhase.run!(ctx)
  return { ctx, join: await k3sJoinPhase.run!(ctx) }
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
    expect(error.message).toMatch(/^node k3s-w1: join failed: k3s install.sh \(agent\) exited with 255:\nSSH connection to node k3s-w1 was lost while the command ran\. To resume: re-run/)
    const { join } = await run()
    expect(join.summary).toBe('1 of 3 agent(s) changed; 4 node(s) Ready')
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
})
