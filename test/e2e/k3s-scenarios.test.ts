// The K3s scenarios of issue #6 through the shipped bundle (dist/) on the lab, board 11 (127.10.11.x):
// one deploy of an HA cluster — examples/k3s-cluster.yaml with three servers (embedded etcd) and one
// agent, addons and NPU off — then file changes and faults, each scenario starting from where the last
// one left the cluster. Order matters and is deliberate:
//   1. the cluster as deployed: roles, cluster-init on the first server, the others joining it;
//   2. pod_cidr and flannel_backend change: only the servers get the new config.yaml and restart;
//   3. flannel_backend changes again and k3s-cp2's SSH connection drops as its restart script starts:
//      the run fails naming node and phase; the rerun restarts k3s-cp2 (its new config.yaml had landed)
//      and k3s-cp3 and converges;
//   4. the agent k3s-w1 is reflashed (reflash + confirm): it rejoins after its old Node object and
//      node-password secret are removed;
//   5. k3s-w1 is reflashed again and its SSH connection drops halfway through install.sh (after the
//      unit file, before the images are recorded): the rerun finishes the job without reflashing;
//   6. k3s-cp3 stays NotReady: the run times out naming it and its condition; once Ready, a rerun passes;
//   7. k3s-cp2 presents another host key without a reflash: refused, naming both fingerprints. Last,
//      because the node keeps the foreign key.
// From scenario 3 on, every run uses the file with the last network change.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { lstat, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { annotations, expectRun, onBoard } from './helpers-drift.js'
import { k3sStarts, keepNotReady, kubectlGet, nodeFile, replaceHostKey } from './helpers-k3s.js'
import { haK3sOverrides } from '../../lab/clusters.js'

/** Lab board of this suite: no other test file starts nodes on board 11. */
const B = 11
const FILE = 'examples/k3s-cluster.yaml'
const KUBECONFIG = 'production-kubeconfig'
const SLOTS = { 'k3s-cp1': 1, 'k3s-cp2': 2, 'k3s-cp3': 3, 'k3s-w1': 4 } as const
type NodeName = keyof typeof SLOTS
const NAMES = Object.keys(SLOTS) as NodeName[]
const SERVERS = ['k3s-cp1', 'k3s-cp2', 'k3s-cp3'] as const
const RESUME = 'To resume: re-run the same command; nodes that are already done are left untouched'
const REFLASH_W1 = { reflash: 'true', confirm: 'production', nodes: 'k3s-w1' }

const HA = haK3sOverrides({ agentNvme: true })
const NETWORK = { pod_cidr: '10.42.0.0/16', flannel_backend: 'host-gw' }
const WIREGUARD = { ...NETWORK, flannel_backend: 'wireguard-native' }

let lab: Lab
let setup: LabActionSetup
let first: ActionRun

/** A copy of the HA cluster file with more overrides (every run keeps the first setup's SSH key and state-dir). */
async function file(overrides: Record<string, unknown>): Promise<string> {
  return (await onBoard(lab, FILE, B, { ...HA, ...overrides })).configPath
}
const deploy = (config: string, inputs: Record<string, string> = {}): Promise<ActionRun> =>
  runLabAction(lab, setup, { command: 'deploy', config, ...inputs })
const starts = async (): Promise<number[]> => Promise.all(NAMES.map((n) => k3sStarts(lab, B, SLOTS[n])))
/** k3s starts per node since `before` (from starts()). */
const since = async (before: number[]): Promise<Record<string, number>> => {
  const now = await starts()
  return Object.fromEntries(NAMES.map((n, i) => [n, now[i]! - before[i]!]))
}
const config = (node: NodeName): Promise<string> => nodeFile(lab, B, SLOTS[node], 'etc/rancher/k3s/config.yaml')
const errors = (r: ActionRun): string[] =>
  annotations(r)
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
const readyRow = (node: NodeName, role: string, ip: string): RegExp =>
  new RegExp(`<tr><td>${node}</td><td>${role}</td><td>${ip.replace(/\./g, '\\.')}</td><td>yes</td>`)
/** The first server's bootstrap data in the lab's k3s store: what the running server took from its config.yaml. */
const running = async (): Promise<{ ha: boolean; config: { clusterCidr: string; flannelBackend: string } }> =>
  JSON.parse(await readFile(join(lab.dir, 'share', 'k3s', '10.10.88.73.json'), 'utf8')) as {
    ha: boolean
    config: { clusterCidr: string; flannelBackend: string }
  }

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await onBoard(lab, FILE, B, HA)
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 300_000)
afterAll(async () => {
  await lab?.stop()
})

describe('1. an HA deploy: three servers with embedded etcd and one agent', () => {
  test('succeeds with all four nodes Ready, the servers installed one after the other', () => {
    expectRun(first, 0)
    expect(first.log).toMatch(
      /^k3s-cp1: installed k3s v1\.31\.3\+k3s1 as server .*\nk3s-cp2: installed k3s v1\.31\.3\+k3s1 as server .*\nk3s-cp3: installed k3s v1\.31\.3\+k3s1 as server /m
    )
    expect(first.log).toContain('join: changed — 1 of 1 agent(s) changed; 4 node(s) Ready')
    expect(
      first.summary.match(/<tr><td>k3s-\w+<\/td><td>(controlplane|worker)<\/td><td>10\.10\.88\.\d+<\/td><td>yes<\/td>/g)
    ).toHaveLength(4)
  })

  test("the runner's kubectl shows the servers as control-plane, etcd and master, the agent without a role", async () => {
    const nodes = await kubectlGet(lab, setup, KUBECONFIG, ['nodes'])
    const roles = nodes.items!.map((n) => [
      n.metadata.name,
      Object.keys(n.metadata.labels ?? {})
        .filter((l) => l.startsWith('node-role.kubernetes.io/'))
        .sort()
        .join(',')
    ])
    const server = 'node-role.kubernetes.io/control-plane,node-role.kubernetes.io/etcd,node-role.kubernetes.io/master'
    expect(roles).toEqual([
      ['k3s-cp1', server],
      ['k3s-cp2', server],
      ['k3s-cp3', server],
      ['k3s-w1', '']
    ])
  })

  test('the first server initialises the cluster; the other servers and the agent join it by its address', async () => {
    expect(await config('k3s-cp1')).toContain('cluster-init: true\n')
    expect(await config('k3s-cp1')).not.toContain('server:')
    for (const n of ['k3s-cp2', 'k3s-cp3', 'k3s-w1'] as const) {
      expect(await config(n)).toContain('server: "https://10.10.88.73:6443"\n')
      expect(await config(n)).not.toContain('cluster-init')
    }
    expect((await running()).ha).toBe(true)
  })
})

describe('2. pod_cidr and flannel_backend changed in the cluster file', () => {
  let r: ActionRun
  let restarts: Record<string, number>
  let agentConfig: string
  beforeAll(async () => {
    agentConfig = await config('k3s-w1')
    const before = await starts()
    r = await deploy(await file(NETWORK))
    restarts = await since(before)
  }, 240_000)

  test('rewrites config.yaml and restarts k3s on each server, one after the other', async () => {
    expectRun(r, 0)
    expect(r.log).toContain(
      'install: changed — k3s-cp1: restarted k3s (config.yaml differs); k3s-cp2: restarted k3s (config.yaml differs); k3s-cp3: restarted k3s (config.yaml differs)'
    )
    for (const n of SERVERS)
      expect(await config(n)).toContain(
        'cluster-cidr: "10.42.0.0/16"\nservice-cidr: "10.96.0.0/12"\ncluster-dns: "10.96.0.10"\nflannel-backend: "host-gw"\n'
      )
    expect(restarts).toEqual({ 'k3s-cp1': 1, 'k3s-cp2': 1, 'k3s-cp3': 1, 'k3s-w1': 0 })
    expect((await running()).config).toMatchObject({ clusterCidr: '10.42.0.0/16', flannelBackend: 'host-gw' })
  })

  test('leaves the agent, whose config.yaml has neither key, untouched, and reflashes nothing', async () => {
    expect(r.log).toContain('join: unchanged — 0 of 1 agent(s) changed; 4 node(s) Ready')
    expect(await config('k3s-w1')).toBe(agentConfig)
    expect(r.log).not.toMatch(/flashing /)
    expect(r.log).toMatch(/os-bootstrap: unchanged/)
  })
})

describe("3. flannel_backend changed again, k3s-cp2's SSH connection dropped as its restart script starts", () => {
  let failed: ActionRun
  let drifted: ActionRun
  let rerun: ActionRun
  let inFailed: Record<string, number>
  let inRerun: Record<string, number>
  beforeAll(async () => {
    const changed = await file(WIREGUARD)
    lab.node(B, SLOTS['k3s-cp2']).faults.dropSshWhen(/restarted=\$UNIT/)
    let before = await starts()
    failed = await deploy(changed)
    inFailed = await since(before)
    drifted = await runLabAction(lab, setup, { command: 'drift', config: changed })
    before = await starts()
    rerun = await deploy(changed)
    inRerun = await since(before)
  }, 240_000)

  test('fails with an error naming the node, the phase, the step, the lost connection and how to resume', async () => {
    expectRun(failed, 1)
    expect(lab.node(B, SLOTS['k3s-cp2']).faults.ssh.dropWhen).toBeUndefined()
    expect(errors(failed)).toEqual([
      `node k3s-cp2: install failed: restarting k3s exited with 255:\nSSH connection to node k3s-cp2 was lost while the command ran. ${RESUME}`
    ])
    // k3s-cp1 was done before; k3s-cp2 has the new file but k3s never restarted to load it.
    expect(inFailed).toEqual({ 'k3s-cp1': 1, 'k3s-cp2': 0, 'k3s-cp3': 0, 'k3s-w1': 0 })
    expect(await config('k3s-cp2')).toContain('flannel-backend: "wireguard-native"\n')
  })

  test('drift in between: k3s-cp2 has the right file but runs the old one (one row), k3s-cp3 has the old value', () => {
    expectRun(drifted, 0)
    const rows = JSON.parse(drifted.outputs.drift!) as {
      subject: string
      field: string
      wanted: string
      found: string
      fixedBy: string[]
    }[]
    expect(rows.map((r) => [r.subject, r.field, r.wanted, r.found, r.fixedBy.join(',')])).toEqual([
      [
        'k3s-cp2',
        'k3s.config',
        'loaded by the running k3s',
        'written after k3s started, not loaded (restart pending)',
        'install'
      ],
      ['k3s-cp3', 'k3s.config.flannel-backend', 'wireguard-native', 'host-gw', 'install']
    ])
  })

  test('a rerun restarts k3s-cp2 for the file it never loaded and k3s-cp3 for its change, nothing else, and succeeds', async () => {
    expectRun(rerun, 0)
    expect(rerun.log).toContain(
      'install: changed — k3s-cp2: restarted k3s (config.yaml or token file changed since k3s started); k3s-cp3: restarted k3s (config.yaml differs)'
    )
    expect(inRerun).toEqual({ 'k3s-cp1': 0, 'k3s-cp2': 1, 'k3s-cp3': 1, 'k3s-w1': 0 })
    for (const n of SERVERS) expect(await config(n)).toContain('flannel-backend: "wireguard-native"\n')
    expect((await running()).config.flannelBackend).toBe('wireguard-native')
  })
})

describe('4. the agent k3s-w1 reflashed with reflash: true and confirm', () => {
  let r: ActionRun
  let before: { node: string; secret: string }
  let after: { node: string; secret: string }
  let restarts: Record<string, number>
  beforeAll(async () => {
    const registration = async (): Promise<{ node: string; secret: string }> => ({
      node: (await kubectlGet(lab, setup, KUBECONFIG, ['node', 'k3s-w1'])).metadata.uid,
      secret: (await kubectlGet(lab, setup, KUBECONFIG, ['secret', 'k3s-w1.node-password.k3s', '-n', 'kube-system']))
        .data!.hash!
    })
    before = await registration()
    const counted = await starts()
    // cluster_timeout bounds each readiness wait (API, Ready, join): a join that never completes then fails
    // with the product's own error, naming the node and phase, well inside the hook's 450 s.
    r = await deploy(await file({ ...WIREGUARD, cluster_timeout: 120 }), REFLASH_W1)
    restarts = await since(counted)
    after = await registration()
  }, 450_000)

  test('flashes only k3s-w1 and succeeds with all four nodes Ready', () => {
    expectRun(r, 0)
    expect(r.log.match(/^\S+: flashing /gm)).toEqual(['k3s-w1: flashing '])
    expect(r.log).toContain('join: changed — 1 of 1 agent(s) changed; 4 node(s) Ready')
    expect(r.summary).toMatch(readyRow('k3s-w1', 'worker', '10.10.88.76'))
  })

  test('removes the old Node object and node-password secret before the node registers again, so its new password is accepted', async () => {
    expect(r.log).toContain(
      'k3s-w1: removed the stale Node object and node-password secret before it rejoins (deleted-node=k3s-w1 deleted-node-password=k3s-w1)'
    )
    expect(await nodeFile(lab, B, SLOTS['k3s-w1'], 'var/log/k3s.log')).not.toContain('Node password rejected')
    expect(after.node).not.toBe(before.node)
    expect(after.secret).not.toBe(before.secret)
  })

  test('restarts no server; k3s on the new disk started once', async () => {
    expect(restarts).toMatchObject({ 'k3s-cp1': 0, 'k3s-cp2': 0, 'k3s-cp3': 0 })
    expect(await k3sStarts(lab, B, SLOTS['k3s-w1'])).toBe(1)
  })
})

describe('5. k3s-w1 reflashed again, its SSH connection dropped halfway through install.sh', () => {
  let failed: ActionRun
  let rerun: ActionRun
  let leftBehind: { kubectlSymlink: boolean; unitFile: boolean }
  beforeAll(async () => {
    const current = await file(WIREGUARD)
    // The line install.sh prints once it has written the unit file; it still has to enable it, and the
    // install script to record the images and start k3s.
    lab
      .node(B, SLOTS['k3s-w1'])
      .faults.dropSshWhen(/INSTALL_K3S_SKIP_DOWNLOAD=true/, /\[INFO\] {2}systemd: Enabling k3s-agent unit/)
    failed = await deploy(current, REFLASH_W1)
    const exists = (path: string): Promise<boolean> =>
      lstat(join(lab.node(B, SLOTS['k3s-w1']).rootDir, path)).then(
        () => true,
        () => false
      )
    leftBehind = {
      kubectlSymlink: await exists('usr/local/bin/kubectl'),
      unitFile: await exists('etc/systemd/system/k3s-agent.service')
    }
    rerun = await deploy(current)
  }, 300_000)

  test('fails the join phase with an error naming the node, install.sh, the lost connection and how to resume', () => {
    expectRun(failed, 1)
    expect(lab.node(B, SLOTS['k3s-w1']).faults.ssh.dropWhen).toBeUndefined()
    expect(leftBehind).toEqual({ kubectlSymlink: true, unitFile: true })
    expect(errors(failed)).toEqual([
      `node k3s-w1: join failed: k3s install.sh (agent) exited with 255:\nSSH connection to node k3s-w1 was lost while the command ran. ${RESUME}`
    ])
  })

  test('a rerun without reflash finishes the job: k3s-w1 registers with its new password and every node is Ready', async () => {
    expectRun(rerun, 0)
    expect(rerun.log).not.toMatch(/flashing /)
    expect(rerun.log).toMatch(/^k3s-w1: (installed k3s v1\.31\.3\+k3s1 as agent|restarted k3s-agent) \(/m)
    expect(await nodeFile(lab, B, SLOTS['k3s-w1'], 'var/log/k3s.log')).not.toContain('Node password rejected')
    expect(rerun.summary.match(/<td>yes<\/td>/g)).toHaveLength(4)
    const w1 = await kubectlGet(lab, setup, KUBECONFIG, ['node', 'k3s-w1'])
    expect(w1.status!.conditions!.find((c) => c.type === 'Ready')!.status).toBe('True')
  })

  test('the rerun records the air-gap images it pushed, so later runs leave k3s-w1 alone', async () => {
    expect(await nodeFile(lab, B, SLOTS['k3s-w1'], 'var/lib/rancher/k3s/agent/images/.tpi-version')).toBe(
      'v1.31.3+k3s1\n'
    )
  })
})

describe('6. k3s-cp3 stays NotReady', () => {
  let failed: ActionRun
  let rerun: ActionRun
  let inRerun: Record<string, number>
  beforeAll(async () => {
    await keepNotReady(lab, 'k3s-cp3', true)
    // A short cluster_timeout keeps the readiness poll (every 2 s) to three rounds.
    failed = await deploy(await file({ ...WIREGUARD, cluster_timeout: 6 }))
    await keepNotReady(lab, 'k3s-cp3', false)
    const before = await starts()
    rerun = await deploy(await file(WIREGUARD))
    inRerun = await since(before)
  }, 240_000)

  test('fails the join phase naming the node, its Ready condition with reason and message, and how to resume', () => {
    expectRun(failed, 1)
    expect(errors(failed)).toEqual([
      'join failed: cluster not ready after 6 s: k3s-cp3: Ready=False (KubeletNotReady: container runtime network not ready: NetworkReady=false ' +
        `reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized). ${RESUME}`
    ])
  })

  test('a rerun once it is Ready succeeds without restarting anything (the agent cut off in 5 included) and shows it Ready', () => {
    expectRun(rerun, 0)
    expect(inRerun).toEqual({ 'k3s-cp1': 0, 'k3s-cp2': 0, 'k3s-cp3': 0, 'k3s-w1': 0 })
    expect(rerun.summary).toMatch(readyRow('k3s-cp3', 'controlplane', '10.10.88.75'))
  })
})

describe('7. k3s-cp2 presents another SSH host key without having been reflashed', () => {
  let r: ActionRun
  let keys: { before: string; after: string }
  let calls: string
  beforeAll(async () => {
    keys = await replaceHostKey(lab, B, SLOTS['k3s-cp2'])
    calls = await nodeFile(lab, B, SLOTS['k3s-cp2'], 'var/log/lab-calls.jsonl')
    r = await deploy(await file(WIREGUARD))
  }, 240_000)

  test('is refused with an error naming the node, the phase and both fingerprints', () => {
    expectRun(r, 1)
    expect(keys.after).not.toBe(keys.before)
    expect(errors(r)).toEqual([
      `node k3s-cp2: os-bootstrap failed: node k3s-cp2: SSH host key changed: expected ${keys.before}, the node presented ${keys.after}. ` +
        'If the node was reflashed, re-run with reflash for it; otherwise treat this as a possible attack. To resume: check the node; ' +
        'if it was reflashed outside this action, remove its hostKey from the state file (or redeploy with reflash) and re-run'
    ])
  })

  test('runs nothing on the node, reflashes nothing and keeps the recorded key', async () => {
    expect(await nodeFile(lab, B, SLOTS['k3s-cp2'], 'var/log/lab-calls.jsonl')).toBe(calls)
    expect(r.log).not.toMatch(/flashing /)
    const state = JSON.parse(await readFile(join(setup.stateDir, 'production', 'state.json'), 'utf8')) as {
      nodes: Record<string, { hostKey?: string }>
    }
    expect(state.nodes['k3s-cp2']!.hostKey).toBe(keys.before)
  })
})
