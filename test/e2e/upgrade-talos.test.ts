// Rolling Talos upgrades through the shipped bundle (dist/) on lab board 24 (127.10.24.x): one deploy of
// three control planes and one worker at Talos v1.9.6 (Kubernetes v1.32.0), then the file changes. In order:
//   1. a minor upgrade to v1.10.7 plus Kubernetes v1.33.0: plan shows both; deploy walks the control
//      planes one at a time, then the worker (talosctl upgrade against each node's own IP), then
//      upgrade-k8s, while the Kubernetes API answers a probe every 250 ms; drift is in sync afterwards;
//   2. an A/B fallback on talos-cp2 (upgrade to v1.11.5): the wave stops there and records it; a re-run
//      does not retry it and touches no node;
//   3. once the operator upgraded talos-cp2 by hand, as the stop advised, a re-run finishes the job;
//   4. a PodDisruptionBudget guards a pod on talos-cp2 (upgrade to v1.11.6): plan names it as a possible
//      drain blocker; deploy upgrades talos-cp1, then stops at talos-cp2's drain gate before touching it,
//      naming the budget and its pod, the node uncordoned, talos-cp3 and talos-w1 untouched;
//      then the lab's Talos, sent the same upgrade directly, shows what the gate spared the node: it
//      cordons, retries the refused eviction until its drain time-out, warns and reboots anyway;
//   5. once the budget is gone, a re-run resumes at talos-cp3, and talos-w1 never comes back from its
//      upgrade: the wave stops there; a re-run while it is down touches nothing; once it is power-cycled
//      (up at v1.11.6) a re-run finishes.
// The API probe goes where a user's kubeconfig points: the server of the kubeconfig the first deploy
// uploaded (decrypted as a user does), which is the cluster endpoint of the file. Here that endpoint is
// what plan recommends for an HA cluster: a TCP load balancer in front of the three control planes'
// API servers (lab/upgrade/api-lb.ts, as HAProxy in TCP mode with retries and redispatch), on a LAN
// address of its own that the lab maps to loopback.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import {
  decryptLabArtifact,
  runLabAction,
  setupLabAction,
  type ActionRun,
  type LabActionSetup
} from '../../lab/action.js'
import type { UartHandle } from '../../lab/bmc/types.js'
import { startLab, type Lab } from '../../lab/lab.js'
// @ts-expect-error lab modules are plain ESM JavaScript
import { readState } from '../../lab/kube/store.mjs'
import {
  clearTalosHalt,
  clearTalosUpgradeFault,
  dropBudget,
  guardPod,
  setTalosUpgradeFault
  // @ts-expect-error lab modules are plain ESM JavaScript
} from '../../lab/upgrade/faults.mjs'
import { startApiLb, type ApiLb } from '../../lab/upgrade/api-lb.js'
import { probeReadyz, type ProbeTally } from '../../lab/upgrade/api-probe.js'
import { clusterMembers, splitConfig } from '../../lab/talos/lib/index.mjs'
// @ts-expect-error lab modules are plain ESM JavaScript
import { drainTiming, upgrade as nodeUpgrade } from '../../lab/talos/lib/upgrade.mjs'
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
/** The cluster endpoint's load balancer: a LAN address of its own (outside MetalLB's range), on loopback in the lab. */
const LB = { lan: '10.10.88.72', host: `127.10.${B}.72`, port: 6443 }
type NodeName = keyof typeof IPS
const NAMES = Object.keys(IPS) as NodeName[]
const SLOT: Record<NodeName, number> = { 'talos-cp1': 1, 'talos-cp2': 2, 'talos-cp3': 3, 'talos-w1': 4 }
const FOUR = {
  endpoint: `https://${LB.lan}:${LB.port}`,
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
let lb: ApiLb

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

const kubeDir = (): string => join(root('talos-cp1'), 'talos', 'kube')
type KubeObject = { metadata: { annotations?: Record<string, string> }; spec?: { unschedulable?: boolean } }
const kubeNode = (name: string): KubeObject =>
  (readState(kubeDir()) as { objects: Record<string, KubeObject> }).objects[`/nodes//${name}`]!
const clusterId = (): string => {
  const state = JSON.parse(readFileSync(join(root('talos-cp1'), 'talos', 'state.json'), 'utf8')) as { config: string }
  return String(splitConfig(state.config).main!.cluster.id)
}

/** Where the user's kubeconfig (the uploaded artifact, decrypted with the real age) sends kubectl. */
async function userEndpoint(): Promise<{ server: string; to: { host: string; port: number }; token: string }> {
  const text = Object.values(await decryptLabArtifact(lab, setup, `${setup.cluster.name}-kubeconfig`))[0]!
  const kc = parseYaml(text) as {
    clusters: { cluster: { server: string } }[]
    users: { user: { token: string } }[]
  }
  const server = kc.clusters[0]!.cluster.server
  const url = new URL(server)
  return { server, to: lab.net.map(url.hostname, Number(url.port || 443)), token: kc.users[0]!.user.token }
}

/** GET /readyz every 250 ms at the user's kubeconfig endpoint, and only there. */
async function probeApi(): Promise<{ stop(): Promise<ProbeTally> }> {
  const user = await userEndpoint()
  return probeReadyz(user.to, user.token)
}

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  // The load balancer is there before the cluster, as a user's is: over each control plane's API
  // (the lab serves a node's port 6443 on its loopback address, 127.10.<board>.<slot>).
  lb = await startApiLb({
    host: LB.host,
    port: LB.port,
    backends: (['talos-cp1', 'talos-cp2', 'talos-cp3'] as const).map((n) => ({
      host: `127.10.${B}.${SLOT[n]}`,
      port: 6443
    })),
    connectTimeoutMs: 1000
  })
  lab.net.setService(LB.lan, LB.port, LB.host, LB.port)
  setup = await setupLabAction(lab, FILE, { ...FOUR, talos_version: T0 })
  lab.mapBmc(setup.cluster.boardList[0]!.bmc.endpoint, B)
  for (const n of setup.cluster.nodes) lab.reserve(B, n.slot, n.ip)
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 600_000)
afterAll(async () => {
  await lb?.stop()
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
    const probe = await probeApi()
    r = await runLabAction(lab, setup, { command: 'deploy', config })
    probes = await probe.stop()
    process.stdout.write(
      `talos upgrade: ${r.ms} ms, probes ok ${probes.ok}, failed ${probes.failed}; load balancer ${JSON.stringify(lb.stats)}\n`
    )
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

  test('plan has no endpoint warning: the cluster endpoint is a load balancer, no control plane’s own address', () => {
    expectRun(plan, 0)
    const rows = JSON.parse(plan.outputs.plan!) as { phase: string; details?: Record<string, string> }[]
    expect(rows.filter((s) => s.details?.['API endpoint'])).toEqual([])
  })

  test('every control plane’s API server certificate names the load balancer’s address (gen config put the endpoint host in certSANs)', async () => {
    const sans: Record<string, unknown> = {}
    for (const n of ['talos-cp1', 'talos-cp2', 'talos-cp3'] as const) {
      const state = JSON.parse(await readFile(join(root(n), 'talos', 'state.json'), 'utf8')) as { config: string }
      sans[n] = splitConfig(state.config).main!.cluster.apiServer?.certSANs
    }
    expect(sans).toEqual({ 'talos-cp1': [LB.lan], 'talos-cp2': [LB.lan], 'talos-cp3': [LB.lan] })
  })

  test('the API behind the user’s kubeconfig endpoint (the load balancer) answered every probe (every 250 ms) through the whole upgrade', async () => {
    // What this proves: the wave never takes more than one control plane's API down at a time (each
    // talosctl upgrade reboots one node, upgrade-k8s moves them live), so a load balancer that passes
    // over the API it cannot reach hides the node in its reboot: 0 failed probes over four reboots and
    // upgrade-k8s. The load balancer is no more lenient than HAProxy: a connection to an API that dies
    // breaks (nothing replayed), so a probe in flight at that moment would fail and count.
    // What it does not prove: a Talos shared VIP moves by election between the control planes
    // (a gap while it fails over); the lab does not emulate it.
    const user = await userEndpoint()
    expect([user.server, user.to]).toEqual([`https://${LB.lan}:${LB.port}`, { host: LB.host, port: LB.port }])
    // Probes ran throughout: never more than 6 s without one sent (each waits at most 5 s for its answer).
    // Their number depends on the machine's load (a probe waits for the one before), so it is not asserted.
    expect(probes.ok).toBeGreaterThan(0)
    expect(probes.maxGapMs).toBeLessThan(6000)
    expect(probes.errors).toEqual([])
    expect(probes.failed).toBe(0)
    // The probes went through the load balancer, which spread them over more than one control plane.
    expect(Object.keys(lb.stats.served).length).toBeGreaterThan(1)
    expect(lb.stats.noBackend).toBe(0)
  })

  test('drift is in sync afterwards', async () => {
    const d = await run('drift', config)
    expect(findings(d)).toEqual([])
  }, 240_000)
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

const T3 = 'v1.11.6'

describe('4. a PodDisruptionBudget that blocks talos-cp2’s drain', () => {
  let plan: ActionRun
  let stopped: ActionRun
  beforeAll(async () => {
    guardPod(kubeDir(), { node: 'talos-cp2', served: true })
    const config = await fileAt(T3, K1, { drain_timeout: 3 })
    plan = await run('plan', config)
    stopped = await run('deploy', config)
  }, 300_000)
  afterAll(() => {
    dropBudget(kubeDir(), { served: true })
  })

  const BLOCKER = 'PodDisruptionBudget web/web-pdb allows 0 disruption(s), 1 of its pods run here (web-0)'

  test('plan names the budget and the pod that could block talos-cp2’s drain, and only there', () => {
    expectRun(plan, 0)
    const rows = (JSON.parse(plan.outputs.plan!) as { phase: string; node?: string; reason: string }[]).filter(
      (s) => s.phase === 'upgrade' && s.node
    )
    expect(rows.filter((s) => s.reason.includes('drain could be blocked')).map((s) => s.node)).toEqual(['talos-cp2'])
    expect(rows.find((s) => s.node === 'talos-cp2')!.reason).toContain(`drain could be blocked: ${BLOCKER}`)
  })

  test('deploy stops at talos-cp2 before upgrading it, naming the budget and its pod, the node uncordoned', async () => {
    expect(stopped.code).not.toBe(0)
    expect(stopped.log).toContain(
      `node talos-cp2: upgrade failed: drain gate: drain did not finish within 3s: ${BLOCKER} (not upgraded: Talos would wait on it inside talosctl upgrade, then reboot the node anyway); talos-cp2 uncordoned, the nodes after it untouched`
    )
    expect(stopped.log).toContain('re-run the same command')
    expect(waveOrder(stopped)).toEqual(['talos-cp1', 'talos-cp2'])
    expect(await versions()).toEqual({
      ...at(T3, K1, 'talos-cp1'),
      ...at(T2, K1, 'talos-cp2', 'talos-cp3', 'talos-w1')
    })
    expect(kubeNode('talos-cp2').spec?.unschedulable).toBeUndefined()
  })

  test('the lab’s Talos, asked directly, drains as Talos does: cordons, retries the refused eviction until its drain time-out, then reboots anyway', async () => {
    // What the product's gate spares the node: the same upgrade sent without it.
    const saved = { ...drainTiming }
    Object.assign(drainTiming, { retryMs: 100, timeoutMs: 1500 })
    try {
      const cp2 = clusterMembers(clusterId()).get(IPS['talos-cp2'])!
      const image = /"(factory\.talos\.dev\/[^"]+)"/.exec(JSON.stringify(cp2.main!.machine.install.image))![1]!
      nodeUpgrade(cp2, { image: image.replace(/:v[^:]+$/, `:${T3}`) })
      // Acknowledged, cordoned by Talos, still at the old version while it drains.
      expect(kubeNode('talos-cp2').spec?.unschedulable).toBe(true)
      expect(kubeNode('talos-cp2').metadata.annotations?.['talos.dev/cordoned']).toBe('true')
      expect(clusterMembers(clusterId()).get(IPS['talos-cp2'])!.version).toBe(T2)
      for (let i = 0; i < 300; i++) {
        const now = clusterMembers(clusterId()).get(IPS['talos-cp2'])
        if (now !== cp2 && now?.version === T3 && !kubeNode('talos-cp2').spec?.unschedulable) break
        await new Promise((r) => setTimeout(r, 100))
      }
      expect(clusterMembers(clusterId()).get(IPS['talos-cp2'])!.version).toBe(T3)
      expect(kubeNode('talos-cp2').spec?.unschedulable).toBeUndefined()
      expect((lab.boards[B]!.bmc.uart(SLOT['talos-cp2']) as unknown as UartHandle).contents()).toContain(
        '[talos] WARNING: failed to evict pod: failed to evict pod web/web-0: context deadline exceeded'
      )
      // The pod the budget guarded was never evicted: the reboot took it down with the node.
      const objects = Object.keys((readState(kubeDir()) as { objects: Record<string, unknown> }).objects)
      expect(objects).toContain('/pods/web/web-0')
    } finally {
      Object.assign(drainTiming, saved)
    }
  }, 150_000)
})

describe('5. once the budget is gone: a re-run resumes, and a node that never comes back from its upgrade', () => {
  let stopped: ActionRun
  let whileDown: ActionRun
  let config: string
  beforeAll(async () => {
    setTalosUpgradeFault(root('talos-w1'), 'never-back')
    config = await fileAt(T3, K1, { cluster_timeout: 6 })
    stopped = await run('deploy', config)
    whileDown = await run('deploy', config)
  }, 300_000)

  test('resumes after talos-cp2 (the lab moved it) and stops the wave at talos-w1 once talosctl upgrade --wait gives up', async () => {
    expect(stopped.code).not.toBe(0)
    expect(stopped.log).toMatch(
      /node talos-w1: upgrade failed: upgrade gate: talosctl upgrade --image factory\.talos\.dev\/metal-installer\/[0-9a-f]{64}:v1\.11\.6 on 10\.10\.88\.76: .*context deadline exceeded/
    )
    expect(waveOrder(stopped)).toEqual(['talos-cp3', 'talos-w1'])
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
