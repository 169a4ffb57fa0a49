// Rolling K3s upgrades through the shipped bundle (dist/) on lab board 18 (127.10.18.x): one deploy of an
// HA cluster (examples/k3s-cluster.yaml with three servers and one agent, addons and NPU off), then the
// file's k3s_version changes. In order:
//   1. a patch upgrade walks the servers one at a time, then the agent, while the Kubernetes API answers
//      a probe every 250 ms; drift is in sync afterwards;
//   2. a target that skips a minor is refused at plan, with the path to take instead;
//   3. a PodDisruptionBudget on k3s-cp2 blocks its drain: the wave stops naming the budget, k3s-cp2 is
//      uncordoned at its old version, k3s-cp3 and the agent are untouched; once the budget is gone a
//      re-run finishes the job;
//   3b. two of the three servers down at once (etcd without quorum): the wave stops before any node,
//      saying what it saw; once both are back a re-run finishes. Section 1 also samples etcd's quorum
//      every 500 ms during the wave (which restarts one server at a time): it is never lost.
// Then, on its own lab and board 19, a Talos cluster with three control planes: plan shows a minor
// upgrade's path and refuses a skipped minor (test/e2e/upgrade-talos.test.ts walks Talos upgrades).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { setupLabAction } from '../../lab/action.js'
// @ts-expect-error lab modules are plain ESM JavaScript
import { readState } from '../../lab/kube/store.mjs'
// @ts-expect-error lab modules are plain ESM JavaScript
import { dropBudget, guardPod } from '../../lab/upgrade/faults.mjs'
import { expectRun, findings, onBoard } from './helpers-drift.js'
import { probeReadyz, type ProbeTally } from '../../lab/upgrade/api-probe.js'
import { k3sStarts, kubectlGet } from './helpers-k3s.js'
// @ts-expect-error lab modules are plain ESM JavaScript
import { freezeEtcd, quorumLost, thawEtcd, watchQuorum } from '../../lab/upgrade/quorum.mjs'
import { haK3sOverrides } from '../../lab/clusters.js'

/** Lab board of this suite: no other test file starts nodes on board 18. */
const B = 18
const FILE = 'examples/k3s-cluster.yaml'
const KUBECONFIG = 'production-kubeconfig'
const SLOTS = { 'k3s-cp1': 1, 'k3s-cp2': 2, 'k3s-cp3': 3, 'k3s-w1': 4 } as const
type NodeName = keyof typeof SLOTS
const NAMES = Object.keys(SLOTS) as NodeName[]
const HA = { ...haK3sOverrides({ agentNvme: true }), drain_timeout: 2 }
const V0 = 'v1.31.3+k3s1'
const V1 = 'v1.31.4+k3s1'
const V2 = 'v1.31.5+k3s1'

let lab: Lab
let setup: LabActionSetup
let first: ActionRun
const store = (): string => join(lab.dir, 'share', 'k3s', '10.10.88.73.kube')

/** A copy of the HA file at another k3s_version; the mirror gets that version and the runs' catalog its digests. */
async function fileAt(version: string): Promise<string> {
  const other = await onBoard(lab, FILE, B, { ...HA, k3s_version: version })
  const merged = {
    ...JSON.parse(await readFile(setup.catalogPath, 'utf8')),
    ...JSON.parse(await readFile(other.catalogPath, 'utf8'))
  }
  await writeFile(setup.catalogPath, JSON.stringify(merged, null, 1))
  return other.configPath
}
const run = (command: string, config: string): Promise<ActionRun> => runLabAction(lab, setup, { command, config })
const versions = async (): Promise<Record<string, string>> => {
  const nodes = await kubectlGet(lab, setup, KUBECONFIG, ['nodes'])
  return Object.fromEntries(
    nodes.items!.map((n) => [
      n.metadata.name,
      (n as unknown as { status: { nodeInfo: { kubeletVersion: string } } }).status.nodeInfo.kubeletVersion
    ])
  )
}
const cordoned = async (): Promise<string[]> => {
  const nodes = await kubectlGet(lab, setup, KUBECONFIG, ['nodes'])
  return nodes
    .items!.filter((n) => (n as unknown as { spec?: { unschedulable?: boolean } }).spec?.unschedulable)
    .map((n) => n.metadata.name)
}
const starts = async (): Promise<number[]> => Promise.all(NAMES.map((n) => k3sStarts(lab, B, SLOTS[n])))
/** The order the wave logged its nodes in ("k3s-cp2: v… → v…"). */
const waveOrder = (r: ActionRun, to: string): string[] =>
  [...r.log.matchAll(new RegExp(`^(k3s-\\w+): \\S+ → ${to.replace(/[+.]/g, '\\$&')}$`, 'gm'))].map((m) => m[1]!)

/** GET /readyz on the API endpoint every 250 ms until stopped; counts answers and failures. */
function probeApi(): { stop(): Promise<ProbeTally> } {
  const token = (readState(store()) as { token: string }).token
  return probeReadyz(lab.net.map('10.10.88.73', 6443), token)
}

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await onBoard(lab, FILE, B, HA)
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 450_000)
afterAll(async () => {
  await lab?.stop()
})

describe('1. a K3s patch upgrade of an HA cluster (3 servers, 1 agent)', () => {
  let plan: ActionRun
  let r: ActionRun
  let probes: ProbeTally
  let before: number[]
  let quorum: { ok: number; lost: number }
  beforeAll(async () => {
    expectRun(first, 0)
    const config = await fileAt(V1)
    plan = await run('plan', config)
    before = await starts()
    const probe = probeApi()
    const watch = watchQuorum(store())
    r = await run('deploy', config)
    probes = await probe.stop()
    quorum = await watch.stop()
  }, 600_000)

  test('plan shows from → to, the order, the gates', () => {
    expectRun(plan, 0)
    const rows = (
      JSON.parse(plan.outputs.plan!) as {
        phase: string
        node?: string
        action: string
        reason: string
        details?: Record<string, string>
      }[]
    ).filter((s) => s.phase === 'upgrade')
    expect(rows[0]).toMatchObject({
      action: 'change',
      reason: `k3s ${V0} → ${V1}, one node at a time: k3s-cp1, k3s-cp2, k3s-cp3, k3s-w1`
    })
    expect(rows[0]!.details!.before).toBe('every node Ready; etcd healthy: every server has EtcdIsVoter=True')
    expect(rows.slice(1).map((s) => [s.node, s.action, s.reason])).toEqual([
      ['k3s-cp1', 'change', `control plane: ${V0} → ${V1}`],
      ['k3s-cp2', 'change', `control plane: ${V0} → ${V1}`],
      ['k3s-cp3', 'change', `control plane: ${V0} → ${V1}`],
      ['k3s-w1', 'change', `worker: ${V0} → ${V1}`]
    ])
  })

  test('deploy upgrades the servers one at a time, then the agent, each restarted once, none left cordoned', async () => {
    expectRun(r, 0)
    expect(waveOrder(r, V1)).toEqual(['k3s-cp1', 'k3s-cp2', 'k3s-cp3', 'k3s-w1'])
    expect(await versions()).toEqual({ 'k3s-cp1': V1, 'k3s-cp2': V1, 'k3s-cp3': V1, 'k3s-w1': V1 })
    const after = await starts()
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 1, 1, 1])
    expect(await cordoned()).toEqual([])
  })

  test('the Kubernetes API answered every probe sent every 250 ms during the upgrade', () => {
    expect(probes.failed).toBe(0)
    // Probes ran throughout: never more than 6 s without one sent (each waits at most 5 s for its answer).
    // Their number depends on the machine's load (a probe waits for the one before), so it is not asserted.
    expect(probes.ok).toBeGreaterThan(0)
    expect(probes.maxGapMs).toBeLessThan(6000)
  })

  test('etcd kept its quorum throughout: the servers restarted one at a time (sampled every 500 ms)', () => {
    expect(quorum.ok).toBeGreaterThan(5)
    expect(quorum.lost).toBe(0)
  })

  test('the job summary shows each node from → to with its step times (the drain cordons, so no cordon step)', () => {
    expect(r.summary).toMatch(
      new RegExp(
        `<td>k3s-cp2</td><td>${V0.replace(/[+.]/g, '\\$&')}</td><td>${V1.replace(/[+.]/g, '\\$&')}</td><td>upgraded</td><td>—</td>(<td>[\\d.]+ s</td>){5}`
      )
    )
  })

  test('drift is in sync afterwards', async () => {
    const d = await run('drift', await fileAt(V1))
    expect(findings(d)).toEqual([])
  }, 150_000)
})

describe('2. a target that skips a minor', () => {
  test('is refused at plan with the path to take instead, and deploy touches nothing', async () => {
    const config = await fileAt('v1.33.1+k3s1')
    const plan = await run('plan', config)
    const rows = (JSON.parse(plan.outputs.plan!) as { phase: string; action: string; reason: string }[]).filter(
      (s) => s.phase === 'upgrade'
    )
    expect(rows).toEqual([
      expect.objectContaining({
        action: 'blocked',
        reason: `K3s ${V1} → v1.33.1+k3s1 skips minor 1.32; K3s upgrades one minor at a time. Instead: set k3s_version to each of v1.31.14+k3s1 → v1.32.10+k3s1 → v1.33.1+k3s1 in turn, deploying after each`
      })
    ])
    const before = await starts()
    const r = await run('deploy', config)
    expect(r.code).not.toBe(0)
    expect(r.log).toContain('upgrade failed: refused: K3s v1.31.4+k3s1 → v1.33.1+k3s1 skips minor 1.32')
    expect(await starts()).toEqual(before)
  }, 300_000)
})

describe('3. a drain blocked by a PodDisruptionBudget', () => {
  let stopped: ActionRun
  let before: number[]
  beforeAll(async () => {
    guardPod(store(), { node: 'k3s-cp2' })
    const config = await fileAt(V2)
    before = await starts()
    stopped = await run('deploy', config)
  }, 450_000)

  test('stops the wave at k3s-cp2, naming the node, the gate and the budget, and that a re-run resumes', () => {
    expect(stopped.code).not.toBe(0)
    expect(stopped.log).toMatch(
      /node k3s-cp2: upgrade failed: drain gate: drain did not finish within 2s: PodDisruptionBudget web\/web-pdb allows 0 disruption\(s\), 1 of its pods run here \(web-0\); k3s-cp2 uncordoned, the nodes after it untouched\. To resume: re-run the same command/
    )
  })

  test('k3s-cp1 is upgraded, k3s-cp2 is uncordoned at its old version, k3s-cp3 and the agent are untouched', async () => {
    expect(await versions()).toEqual({ 'k3s-cp1': V2, 'k3s-cp2': V1, 'k3s-cp3': V1, 'k3s-w1': V1 })
    expect(await cordoned()).toEqual([])
    const after = await starts()
    expect(after.map((n, i) => n - before[i]!)).toEqual([1, 0, 0, 0])
  })

  test('a re-run once the budget is gone resumes at k3s-cp2 and finishes', async () => {
    dropBudget(store())
    const r = await run('deploy', await fileAt(V2))
    expectRun(r, 0)
    expect(waveOrder(r, V2)).toEqual(['k3s-cp2', 'k3s-cp3', 'k3s-w1'])
    expect(await versions()).toEqual({ 'k3s-cp1': V2, 'k3s-cp2': V2, 'k3s-cp3': V2, 'k3s-w1': V2 })
    expect(await cordoned()).toEqual([])
  }, 450_000)
})

describe('3b. etcd quorum lost: two servers down at once', () => {
  const V3 = 'v1.31.6+k3s1'
  let stopped: ActionRun
  let before: number[]
  beforeAll(async () => {
    const config = await fileAt(V3)
    // Two of three servers restarting at once, caught while both are down: their etcd members stop answering.
    for (const slot of [2, 3]) freezeEtcd(lab.node(B, slot).rootDir)
    before = await starts()
    stopped = await run('deploy', config)
  }, 450_000)
  afterAll(() => {
    // Whatever happened above, the members answer again for the sections after this one.
    for (const slot of [2, 3]) thawEtcd(lab.node(B, slot).rootDir)
  })

  test('the lab answers as k3s does without quorum', async () => {
    expect(await quorumLost(store())).toBe('Error from server: etcdserver: request timed out')
  }, 30_000)

  test('the wave stops before any node, naming the node it could not observe and what it saw', async () => {
    expect(stopped.code).not.toBe(0)
    expect(stopped.log).toMatch(
      /upgrade failed: before: every node Ready gate: k3s-cp\d could not be observed: .*etcdserver: request timed out; no node was touched/
    )
    expect(await starts()).toEqual(before)
  }, 30_000)

  test('once both servers are back, a re-run finishes the job', async () => {
    for (const slot of [2, 3]) thawEtcd(lab.node(B, slot).rootDir)
    for (let i = 0; i < 60 && (await quorumLost(store())); i++) await new Promise((r) => setTimeout(r, 500))
    let r: ActionRun | undefined
    for (let i = 0; i < 3; i++) {
      r = await run('deploy', await fileAt(V3))
      if (r.code === 0) break
      await new Promise((done) => setTimeout(done, 2000))
    }
    expectRun(r!, 0)
    expect(await versions()).toEqual({ 'k3s-cp1': V3, 'k3s-cp2': V3, 'k3s-cp3': V3, 'k3s-w1': V3 })
    expect(await cordoned()).toEqual([])
  }, 600_000)
})

describe('4. Talos: the plan of an upgrade (board 19)', () => {
  const T = 19
  let tlab: Lab
  let tsetup: LabActionSetup
  let deployed: ActionRun
  const THREE_CP = {
    control_plane: [
      { node: 1, ip: '10.10.88.73', hostname: 'talos-cp1', install_disk: '/dev/mmcblk0' },
      { node: 2, ip: '10.10.88.74', hostname: 'talos-cp2', install_disk: '/dev/mmcblk0' },
      { node: 3, ip: '10.10.88.75', hostname: 'talos-cp3', install_disk: '/dev/mmcblk0' }
    ],
    workers: [{ node: 4, ip: '10.10.88.76', hostname: 'talos-w1', install_disk: '/dev/mmcblk0' }],
    addons: { metallb: false, traefik: false, longhorn: false, prometheus: false, portainer_agent: false },
    longhorn_enabled: false
  }
  const talosFile = async (version: string): Promise<string> => {
    const other = await setupLabAction(tlab, 'examples/talos-cluster.yaml', { ...THREE_CP, talos_version: version })
    tlab.mapBmc(other.cluster.boardList[0]!.bmc.endpoint, T)
    for (const n of other.cluster.nodes) tlab.reserve(T, n.slot, n.ip)
    const merged = {
      ...JSON.parse(await readFile(tsetup.catalogPath, 'utf8')),
      ...JSON.parse(await readFile(other.catalogPath, 'utf8'))
    }
    await writeFile(tsetup.catalogPath, JSON.stringify(merged, null, 1))
    return other.configPath
  }
  const rowsOf = (r: ActionRun) =>
    (
      JSON.parse(r.outputs.plan!) as {
        phase: string
        node?: string
        action: string
        reason: string
        details?: Record<string, string>
      }[]
    ).filter((x) => x.phase === 'upgrade')

  beforeAll(async () => {
    tlab = await startLab({ boards: T + 1, bootDelayMs: 100 })
    tsetup = await setupLabAction(tlab, 'examples/talos-cluster.yaml', THREE_CP)
    tlab.mapBmc(tsetup.cluster.boardList[0]!.bmc.endpoint, T)
    for (const n of tsetup.cluster.nodes) tlab.reserve(T, n.slot, n.ip)
    deployed = await runLabAction(tlab, tsetup, { command: 'deploy' })
  }, 600_000)
  afterAll(async () => {
    await tlab?.stop()
  })

  test('a minor upgrade: path through v1.9.6, talosctl at the running version, control planes one at a time by their own IP', async () => {
    expectRun(deployed, 0)
    const plan = await runLabAction(tlab, tsetup, { command: 'plan', config: await talosFile('v1.10.3') })
    expectRun(plan, 0)
    const rows = rowsOf(plan)
    expect(rows[0]).toMatchObject({
      action: 'change',
      reason: 'Talos v1.9.0 → v1.10.3 via v1.9.6, one node at a time: talos-cp1, talos-cp2, talos-cp3, talos-w1'
    })
    expect(rows[0]!.details!.hops).toBe('v1.9.0 → v1.9.6 with talosctl v1.9.0; v1.9.6 → v1.10.3 with talosctl v1.9.6')
    expect(rows.slice(1).map((x) => x.node)).toEqual(['talos-cp1', 'talos-cp2', 'talos-cp3', 'talos-w1'])
    expect(rows[2]!.reason).toMatch(
      /^control plane: v1\.9\.0 → v1\.10\.3: talosctl upgrade --nodes 10\.10\.88\.74 --endpoints 10\.10\.88\.74 --image factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.9\.6, then /
    )
  }, 300_000)

  test('a skipped minor is refused at plan with the path to take', async () => {
    const plan = await runLabAction(tlab, tsetup, { command: 'plan', config: await talosFile('v1.11.2') })
    expect(rowsOf(plan)).toEqual([
      expect.objectContaining({
        action: 'blocked',
        reason:
          'Talos v1.9.0 → v1.11.2 skips minor 1.10; Talos upgrades one minor at a time. Instead: set talos_version to each of v1.9.6 → v1.10.7 → v1.11.2 in turn, deploying after each'
      })
    ])
  }, 300_000)
})
