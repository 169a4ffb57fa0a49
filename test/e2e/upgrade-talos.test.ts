// Rolling Talos upgrades through the shipped bundle (dist/) on lab board 24 (127.10.24.x): one deploy of
// three control planes and one worker at Talos v1.9.6 (Kubernetes v1.32.0), then the file changes. In order:
//   1. a minor upgrade to v1.10.7 plus Kubernetes v1.33.0: plan shows both; deploy walks the control
//      planes one at a time, then the worker (talosctl upgrade against each node's own IP), then
//      upgrade-k8s, while the Kubernetes API answers a probe every 250 ms; drift is in sync afterwards;
//   2. an A/B fallback on talos-cp2 (upgrade to v1.11.5): the wave stops there and records it; a re-run
//      does not retry it and touches no node;
//   3. once the operator upgraded talos-cp2 by hand, as the stop advised, a re-run finishes the job;
//   4. talos-w1 never comes back from its upgrade (to v1.11.6): the wave stops there; a re-run while it is
//      down touches nothing; once it is power-cycled (up at v1.11.6) a re-run finishes.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, setupLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
// @ts-expect-error lab modules are plain ESM JavaScript
import { readState } from '../../lab/kube/store.mjs'
// @ts-expect-error lab modules are plain ESM JavaScript
import { clearTalosHalt, clearTalosUpgradeFault, setTalosUpgradeFault } from '../../lab/upgrade/faults.mjs'
import { probeReadyz, type ProbeTally } from '../../lab/upgrade/api-probe.js'
import { clusterMembers, splitConfig } from '../../lab/talos/lib/index.mjs'
// @ts-expect-error lab modules are plain ESM JavaScript
import { upgrade as nodeUpgrade } from '../../lab/talos/lib/upgrade.mjs'
import { expectRun, findings, setPower } from './helpers-drift.js'

/** Lab board of this suite: no other test file starts nodes on board 24. */
const B = 24
const FILE = 'examples/talos-cluster.yaml'
const IPS = {
  'talos-cp1': '10.10.88.73',
  'talos-cp2': '10.10.88.74',
  'talos-cp3': '10.10.88.75',
  'talos-w1': '10.10.88.76'
}
type NodeName = keyof typeof IPS
const NAMES = Object.keys(IPS) as NodeName[]
const SLOT: Record<NodeName, number> = { 'talos-cp1': 1, 'talos-cp2': 2, 'talos-cp3': 3, 'talos-w1': 4 }
const FOUR = {
  control_plane: [
    { node: 1, ip: IPS['talos-cp1'], hostname: 'talos-cp1', install_disk: '/dev/mmcblk0' },
    { node: 2, ip: IPS['talos-cp2'], hostname: 'talos-cp2', install_disk: '/dev/mmcblk0' },
    { node: 3, ip: IPS['talos-cp3'], hostname: 'talos-cp3', install_disk: '/dev/mmcblk0' }
  ],
  workers: [{ node: 4, ip: IPS['talos-w1'], hostname: 'talos-w1', install_disk: '/dev/mmcblk0' }],
  addons: { metallb: false, traefik: false, longhorn: false, prometheus: false, portainer_agent: false },
  longhorn_enabled: false,
  cluster_timeout: 60
}
const T0 = 'v1.9.6'
const T1 = 'v1.10.7'
const T2 = 'v1.11.5'
const K1 = 'v1.33.0'

let lab: Lab
let setup: LabActionSetup
let first: ActionRun

/** A copy of the file at other versions, on board 24; the runs' catalog gets that version's digests. */
async function fileAt(talos: string, kubernetes?: string, over: Record<string, unknown> = {}): Promise<string> {
  const other = await setupLabAction(lab, FILE, {
    ...FOUR,
    ...over,
    talos_version: talos,
    ...(kubernetes ? { kubernetes_version: kubernetes } : {})
  })
  lab.mapBmc(other.cluster.boardList[0]!.bmc.endpoint, B)
  for (const n of other.cluster.nodes) lab.reserve(B, n.slot, n.ip)
  const merged = {
    ...JSON.parse(await readFile(setup.catalogPath, 'utf8')),
    ...JSON.parse(await readFile(other.catalogPath, 'utf8'))
  }
  await writeFile(setup.catalogPath, JSON.stringify(merged, null, 1))
  return other.configPath
}
const run = (command: string, config: string): Promise<ActionRun> => runLabAction(lab, setup, { command, config })
const root = (n: NodeName): string => lab.node(B, SLOT[n]).rootDir

interface KubeNode {
  metadata: { name: string }
  status: { nodeInfo: { kubeletVersion: string; osImage: string } }
}
/** Each node's Talos (from the Talos API) and kubelet (from the Kubernetes API) version. */
async function versions(): Promise<Record<string, string>> {
  const state = readState(join(root('talos-cp1'), 'talos', 'kube')) as { objects: Record<string, unknown> }
  const nodes = Object.values(state.objects).filter((o) => (o as { kind?: string }).kind === 'Node') as KubeNode[]
  const out: Record<string, string> = {}
  for (const n of NAMES) {
    const k = nodes.find((x) => x.metadata.name === n)
    out[n] = `${/\((v[^)]+)\)/.exec(k?.status.nodeInfo.osImage ?? '')?.[1]} / ${k?.status.nodeInfo.kubeletVersion}`
  }
  return out
}
const at = (talos: string, k8s: string, ...names: NodeName[]): Record<string, string> =>
  Object.fromEntries(names.map((n) => [n, `${talos} / ${k8s}`]))
/** The order the wave logged its nodes in ("talos-cp2: v… → v…"), and the Kubernetes step. */
const waveOrder = (r: ActionRun): string[] =>
  [...r.log.matchAll(/^(talos-\w+|Kubernetes): \S+ → \S+/gm)].map((m) => m[1]!)

/** GET /readyz every 250 ms, answered by any control plane's API server (as behind a VIP). */
function probeApi(): { stop(): Promise<ProbeTally> } {
  const token = (readState(join(root('talos-cp1'), 'talos', 'kube')) as { token: string }).token
  const cps = (['talos-cp1', 'talos-cp2', 'talos-cp3'] as const).map((n) => lab.net.map(IPS[n], 6443))
  return probeReadyz(cps, token)
}

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await setupLabAction(lab, FILE, { ...FOUR, talos_version: T0 })
  lab.mapBmc(setup.cluster.boardList[0]!.bmc.endpoint, B)
  for (const n of setup.cluster.nodes) lab.reserve(B, n.slot, n.ip)
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 240_000)
afterAll(async () => {
  await lab?.stop()
})

describe('1. a Talos minor upgrade plus upgrade-k8s (3 control planes, 1 worker)', () => {
  let plan: ActionRun
  let r: ActionRun
  let probes: ProbeTally
  let config: string
  beforeAll(async () => {
    expectRun(first, 0)
    config = await fileAt(T1, K1)
    plan = await run('plan', config)
    const probe = probeApi()
    r = await run('deploy', config)
    probes = await probe.stop()
    process.stdout.write(`talos upgrade: ${r.ms} ms, probes ok ${probes.ok}, failed ${probes.failed}\n`)
  }, 300_000)

  test('plan shows the Talos path with the node order, then the Kubernetes step', () => {
    expectRun(plan, 0)
    const rows = (JSON.parse(plan.outputs.plan!) as { phase: string; node?: string; reason: string }[]).filter(
      (s) => s.phase === 'upgrade'
    )
    expect(rows[0]!.reason).toBe(`Talos ${T0} → ${T1}, one node at a time: talos-cp1, talos-cp2, talos-cp3, talos-w1`)
    expect(rows.at(-1)!.reason).toMatch(
      /^Kubernetes v1\.32\.0 → v1\.33\.0: talosctl upgrade-k8s --to v1\.33\.0 against 10\.10\.88\.73/
    )
  })

  test('deploy upgrades the control planes one at a time, then the worker, then Kubernetes', async () => {
    expectRun(r, 0)
    expect(waveOrder(r)).toEqual(['talos-cp1', 'talos-cp2', 'talos-cp3', 'talos-w1', 'Kubernetes'])
    expect(await versions()).toEqual(at(T1, K1, ...NAMES))
  })

  test('the first hop fetched the talosctl of the version the nodes ran (v1.9.6), not only the file’s', () => {
    const fetched = (v: string): boolean =>
      lab.mirror.requests.some((q) => q.path.includes(`/releases/download/${v}/talosctl-linux-`))
    expect([fetched(T0), fetched(T1)]).toEqual([true, true])
  })

  test('the Kubernetes API answered every probe sent every 250 ms during the whole upgrade', () => {
    expect(probes.errors).toEqual([])
    expect(probes.failed).toBe(0)
    expect(probes.ok).toBeGreaterThan(Math.floor(r.ms / 250) / 2)
  })

  test('drift is in sync afterwards', async () => {
    const d = await run('drift', config)
    expect(findings(d)).toEqual([])
  }, 90_000)
})

describe('2. an A/B fallback on talos-cp2', () => {
  let stopped: ActionRun
  let again: ActionRun
  beforeAll(async () => {
    setTalosUpgradeFault(root('talos-cp2'), 'fallback')
    const config = await fileAt(T2, K1)
    stopped = await run('deploy', config)
    again = await run('deploy', config)
  }, 300_000)

  test('stops the wave at talos-cp2, naming the fallback, and that it is not retried automatically', () => {
    expect(stopped.code).not.toBe(0)
    expect(stopped.log).toMatch(
      /node talos-cp2: upgrade failed: fallback gate: the node came back at v1\.10\.7, not v1\.11\.5 \(A\/B fallback to the old image\); talos-cp2 uncordoned, the nodes after it untouched/
    )
    expect(waveOrder(stopped)).toEqual(['talos-cp1', 'talos-cp2'])
  })

  test('a re-run does not retry talos-cp2 and touches no node', async () => {
    expect(again.code).not.toBe(0)
    expect(again.log).toMatch(
      /node talos-cp2: upgrade failed: fallback gate: the node came back at v1\.10\.7 after an upgrade to v1\.11\.5/
    )
    expect(again.log).toContain('not retried automatically')
    expect(waveOrder(again)).toEqual([])
    expect(await versions()).toEqual({
      ...at(T2, K1, 'talos-cp1'),
      ...at(T1, K1, 'talos-cp2', 'talos-cp3', 'talos-w1')
    })
  })
})

describe('3. after the operator upgraded talos-cp2 by hand', () => {
  test('a re-run resumes at talos-cp3 and finishes the job', async () => {
    clearTalosUpgradeFault(root('talos-cp2'))
    const state = JSON.parse(await readFile(join(root('talos-cp2'), 'talos', 'state.json'), 'utf8')) as {
      config: string
    }
    const id = String(splitConfig(state.config).main!.cluster.id)
    const cp2 = clusterMembers(id).get(IPS['talos-cp2'])!
    const image = /"(factory\.talos\.dev\/[^"]+)"/.exec(JSON.stringify(cp2.main!.machine.install.image))![1]!
    nodeUpgrade(cp2, { image: image.replace(/:v[^:]+$/, `:${T2}`) })
    for (let i = 0; i < 100 && clusterMembers(id).get(IPS['talos-cp2'])?.version !== T2; i++)
      await new Promise((r) => setTimeout(r, 100))
    const r = await run('deploy', await fileAt(T2, K1))
    expectRun(r, 0)
    expect(waveOrder(r)).toEqual(['talos-cp3', 'talos-w1'])
    expect(await versions()).toEqual(at(T2, K1, ...NAMES))
  }, 300_000)
})

describe('4. a node that never comes back from its upgrade', () => {
  const T3 = 'v1.11.6'
  let stopped: ActionRun
  let whileDown: ActionRun
  let config: string
  beforeAll(async () => {
    setTalosUpgradeFault(root('talos-w1'), 'never-back')
    config = await fileAt(T3, K1, { cluster_timeout: 6 })
    stopped = await run('deploy', config)
    whileDown = await run('deploy', config)
  }, 300_000)

  test('stops the wave at talos-w1 once talosctl upgrade --wait gives up, the control planes done', async () => {
    expect(stopped.code).not.toBe(0)
    expect(stopped.log).toMatch(
      /node talos-w1: upgrade failed: upgrade gate: talosctl upgrade --image factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.11\.6 on 10\.10\.88\.76: .*context deadline exceeded/
    )
    expect(waveOrder(stopped)).toEqual(['talos-cp1', 'talos-cp2', 'talos-cp3', 'talos-w1'])
    expect(await versions()).toMatchObject(at(T3, K1, 'talos-cp1', 'talos-cp2', 'talos-cp3'))
  })

  test('a re-run while it is down touches no node', () => {
    expect(whileDown.code).not.toBe(0)
    expect(waveOrder(whileDown)).toEqual([])
  })

  test('once power-cycled it is up at the new version, and a re-run finishes', async () => {
    clearTalosUpgradeFault(root('talos-w1'))
    const bmc = lab.boards[B]!.bmc
    await setPower(bmc, SLOT['talos-w1'], false)
    clearTalosHalt(root('talos-w1'))
    await setPower(bmc, SLOT['talos-w1'], true)
    let r: ActionRun | undefined
    for (let i = 0; i < 3; i++) {
      r = await run('deploy', await fileAt(T3, K1))
      if (r.code === 0) break
      await new Promise((done) => setTimeout(done, 1000))
    }
    expectRun(r!, 0)
    expect(await versions()).toEqual(at(T3, K1, ...NAMES))
    const d = await run('drift', await fileAt(T3, K1))
    expect(findings(d)).toEqual([])
  }, 300_000)
})
