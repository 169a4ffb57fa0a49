// The action's K3s phases against simulated Armbian nodes (lab/node SimNode) over real SSH with the
// action's own adapter: os-bootstrap, install, join and npu bring three nodes to Ready; the runner's
// kubectl and helm stand-ins (lab/kube) reach the cluster through the lab K3s API bridge with the
// kubeconfig the install phase fetched (the addons phase installs MetalLB; kubectl lists the nodes).
// Board 26 (127.10.26.x): no other file boots nodes there (lab.test boots 0-7, the e2e suites 8-25, the
// Talos units 5-7, 9 and 27), and jest runs files in parallel, so 2222 and 6443 must not collide. It was
// 21, which the fleet e2e also boots.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { LabAddressMap } from '../../../lab/address-map.js'
import { buildArmbianImage, writeImageFiles } from '../../../lab/images/index.js'
import { INSTALL_STANDIN, k3sStandinBinary } from '../../../lab/k3s/binary.js'
import { helmStandinTarball, kubectlStandinBinary } from '../../../lab/kube/binaries.js'
import { startK3sKube } from '../../../lab/k3s/kube-bridge.js'
import { validEd25519 } from '../../../lab/node/armbian.js'
import { SimNode } from '../../../lab/node/sim-node.js'
import type { ArtifactRequest, Downloads } from '../../../src/adapters/downloads/types.js'
import { createLocalExec } from '../../../src/adapters/exec/local-exec.js'
import { createKube } from '../../../src/adapters/kube/exec-kube.js'
import { createSshConnector } from '../../../src/adapters/ssh/ssh2-connector.js'
import type { Deps } from '../../../src/core/deps.js'
import { createAddonsPhase } from '../../../src/core/phases/addons/index.js'
import { k3sInstallPhase } from '../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../src/core/kinds/k3s/join-phase.js'
import { createNpuPhase } from '../../../src/core/kinds/k3s/npu/index.js'
import { osBootstrapPhase } from '../../../src/core/kinds/k3s/os-bootstrap/index.js'
import { emptyOutputs, type PhaseContext } from '../../../src/core/phases/types.js'
import type { MemoryReporter } from '../../../src/core/reporter.js'
import { k3sCluster } from '../../core/kinds/k3s/fixtures.js'
import { writeLabRkllamaLock } from '../../../lab/k3s/rkllama-lock.js'
import { testPhaseContext, testSettings } from '../../core/context.js'
import { plainAdapters } from '../../../src/compose/real-adapters.js'

const BOARD = 26
const KUBECTL = fileURLToPath(new URL('../../../lab/kube/kubectl.mjs', import.meta.url))
const cluster = k3sCluster(
  `boot_timeout: 10
metallb_ip_range: 10.10.88.80-10.10.88.89
addons: { metallb: true }
npu_config: { install_rknn: true, install_rkllm: true, deploy_rkllama: true, model: qwen3-4b, rkllm_version: 1.2.3,
  rkllama_requirements_lock: rkllama-requirements.lock }`,
  `control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: k3s-w1, labels: { zone: b } }
  - { node: 3, ip: 10.10.88.75, hostname: k3s-w2 }`
)

class FakeBmc {
  events = new EventEmitter()
  constructor(private dir: string) {}
  uart() {
    return { write: () => undefined }
  }
  diskPath(slot: number) {
    return join(this.dir, `slot${slot}.img`)
  }
  power(slot: number, on: boolean) {
    this.events.emit('power', slot, on)
  }
  flashed(slot: number) {
    this.events.emit('flashed', slot)
  }
}

// What the mirror would serve: the k3s stand-in as "the k3s binary", the install script stand-in, lab
// bytes for the NPU runtimes and model, a source tarball for rkllama.
function fakeDownloads(cache: string): Downloads & { requests: ArtifactRequest[] } {
  const requests: ArtifactRequest[] = []
  mkdirSync(cache, { recursive: true })
  return {
    requests,
    async fetch(request) {
      requests.push(request)
      const path = join(cache, `${request.tool}-${request.version}`)
      if (!existsSync(path)) {
        if (request.tool === 'k3s')
          writeFileSync(path, k3sStandinBinary(`v${request.version.replace(/-k3s/, '+k3s')}`), { mode: 0o755 })
        else if (request.tool === 'k3s-install') writeFileSync(path, readFileSync(INSTALL_STANDIN), { mode: 0o755 })
        else if (request.tool === 'kubectl') writeFileSync(path, kubectlStandinBinary(), { mode: 0o755 })
        else if (request.tool === 'helm')
          writeFileSync(path, helmStandinTarball(request.arch === 'x64' ? 'amd64' : 'arm64'))
        else if (request.tool === 'rkllama') {
          const src = join(cache, 'src', `rkllama-${request.version}`)
          mkdirSync(src, { recursive: true })
          writeFileSync(join(src, 'setup.py'), '# rkllama lab source\n')
          await run('tar', ['-czf', path, '-C', join(cache, 'src'), `rkllama-${request.version}`])
        } else writeFileSync(path, `${request.tool} ${request.version} (lab bytes)\n`)
      }
      const bytes = readFileSync(path)
      return { path, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, downloaded: true }
    }
  }
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
  })
}

/** Running (a killed process whose parent has not reaped it yet is a zombie: dead). */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

let dir: string
let bmc: FakeBmc
let nodes: SimNode[]
let net: LabAddressMap
let bridge: { stop(): Promise<void> }
let ctx: PhaseContext & { reporter: MemoryReporter }
const key = validEd25519()

async function context(): Promise<PhaseContext & { reporter: MemoryReporter }> {
  const stateDir = join(dir, 'state')
  mkdirSync(stateDir, { recursive: true })
  writeLabRkllamaLock(stateDir)
  const labExec = createLocalExec({ ...process.env, TPI_ADDRESS_MAP: net.file, TPI_LAB_DIR: dir })
  const deps: Deps = {
    bmc: () => Promise.reject(new Error('no BMC here')),
    ssh: createSshConnector(),
    net,
    downloads: fakeDownloads(join(dir, 'cache')),
    // The runner's helm and kubectl (lab/kube stand-ins) find the API through the lab's address map.
    exec: labExec,
    ...plainAdapters(labExec),
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200)))
  }
  const settings = testSettings(stateDir, {
    stateDir,
    tempDir: stateDir,
    secrets: { sshPrivateKey: key.private, artifactRecipients: [] }
  })
  return testPhaseContext(cluster, deps, settings)
}

async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [KUBECTL, ...args, '--kubeconfig', ctx.outputs.kubeconfigPath!], {
    ...process.env,
    TPI_ADDRESS_MAP: net.file,
    TPI_LAB_DIR: dir
  })
}

/** The runner's kubectl, retried while the bridge brings the API up (it polls the store). */
async function kubectlNodes(): Promise<{ name: string; ready: string; labels: Record<string, string> }[]> {
  let last = ''
  for (let i = 0; i < 50; i++) {
    const out = await kubectl('get', 'nodes', '-o', 'json')
    if (out.code === 0) {
      const items = (
        JSON.parse(out.stdout) as {
          items: {
            metadata: { name: string; labels: Record<string, string> }
            status: { conditions: { type: string; status: string }[] }
          }[]
        }
      ).items
      return items.map((n) => ({
        name: n.metadata.name,
        ready: n.status.conditions.find((c) => c.type === 'Ready')!.status,
        labels: n.metadata.labels
      }))
    }
    last = out.stderr
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`kubectl get nodes kept failing: ${last}`)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tpi-sim-k3s-'))
  bmc = new FakeBmc(dir)
  const share = join(dir, 'share')
  mkdirSync(join(share, 'k3s'), { recursive: true })
  net = new LabAddressMap(join(dir, 'address-map.json'))
  const img = await buildArmbianImage({ dir })
  nodes = []
  for (const spec of cluster.nodes) {
    const slot = spec.slot
    await copyFile(img.path, bmc.diskPath(slot))
    await writeImageFiles(bmc.diskPath(slot), {
      '/etc/hostname': { content: 'turing-rk1\n', mode: 0o644 },
      '/root/.ssh/authorized_keys': { content: key.public + '\n', mode: 0o600 },
      '/root/.not_logged_in_yet': {
        content: `PRESET_NET_CHANGE_DEFAULTS="1"\nPRESET_NET_USE_STATIC="1"\nPRESET_NET_STATIC_IP="${spec.ip}"\nPRESET_NET_STATIC_MASK="255.255.255.0"\n`,
        mode: 0o600
      }
    })
    nodes.push(
      new SimNode({
        bmc,
        board: BOARD,
        slot,
        stateDir: join(dir, `node${slot}`),
        bootDelayMs: 20,
        share,
        onAddress: (n, ip) => (ip ? net.setNode(ip, BOARD, n.slot) : net.removeNode(BOARD, n.slot))
      })
    )
  }
  for (const n of nodes) bmc.power(n.slot, true)
  await Promise.all(nodes.map((n) => n.waitFor('up')))
  bridge = await startK3sKube({
    labDir: share,
    hostFor: (ip) => nodes.find((n) => n.lanIp === ip && n.state === 'up')?.host
  })
  ctx = await context()
}, 60_000)

afterAll(async () => {
  await bridge?.stop()
  for (const n of nodes ?? []) await n.close()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('K3s phases on simulated Armbian nodes over SSH', () => {
  test('os-bootstrap, install, join and npu bring 3 nodes Ready; the runner lists them through the bridge', async () => {
    // Node-scoped phases run side by side, as run.ts pipelines them.
    expect(
      (await Promise.all(cluster.nodes.map((node) => osBootstrapPhase.runNode!(ctx, node)))).map((r) => r.changed)
    ).toEqual([true, true, true])
    expect((await k3sInstallPhase.run!(ctx)).changed).toBe(true)
    expect((await k3sJoinPhase.run!(ctx)).summary).toBe('2 of 2 agent(s) changed; 3 node(s) Ready')
    // The shipped NPU phase (real paths /sys/kernel/debug/rknpu/version and /dev/dri) on a worker.
    const npu = await createNpuPhase().runNode!(ctx, cluster.nodes[1]!)
    expect(npu.summary).toMatch(
      /^changed: .*label turingpi\.io\/npu=rk3588 \(driver v0\.9\.8\); rkllama answers \(models: qwen3-4b\)$/
    )
    expect(Object.values(ctx.outputs.nodeStatus).map((s) => [s.node, s.ready])).toEqual([
      ['k3s-cp', true],
      ['k3s-w1', true],
      ['k3s-w2', true]
    ])

    const kubeconfig = readFileSync(ctx.outputs.kubeconfigPath!, 'utf8')
    expect(kubeconfig).toContain('server: https://10.10.88.73:6443\n')
    const listed = await kubectlNodes()
    expect(listed.map((n) => [n.name, n.ready, n.labels['node-role.kubernetes.io/control-plane'] ?? '-'])).toEqual([
      ['k3s-cp', 'True', 'true'],
      ['k3s-w1', 'True', '-'],
      ['k3s-w2', 'True', '-']
    ])
    // One store: the label the npu phase set with `k3s kubectl` on the first server, and the worker's own label.
    expect(listed[1]!.labels).toEqual(expect.objectContaining({ 'turingpi.io/npu': 'rk3588', zone: 'b' }))
    // The addons phase: helm and kubectl on the runner against the cluster's API, through the bridge.
    await createAddonsPhase({ createKube, arch: process.arch === 'x64' ? 'x64' : 'arm64', retryDelayMs: 50 }).run!(ctx)
    expect(ctx.outputs.addons.map((a) => [a.name, a.status])).toEqual([['metallb', 'installed']])
    expect((await kubectl('get', 'ipaddresspools.metallb.io', '-n', 'metallb-system', '-o', 'name')).stdout).toMatch(
      /^ipaddresspool\.metallb\.io\/\S+\n$/
    )
    const table = await kubectl('get', 'nodes')
    expect(table.stdout).toMatch(
      /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\nk3s-cp\s+Ready\s+control-plane,master\s+\S+\s+v1\.31\.3\+k3s1\n/
    )
  }, 60_000)

  test('a node fault shows on the runner too; a second run changes nothing', async () => {
    mkdirSync(join(dir, 'share/k3s/faults'), { recursive: true })
    writeFileSync(join(dir, 'share/k3s/faults/k3s-w2.notready'), '')
    let w2 = ''
    for (let i = 0; i < 40 && w2 !== 'False'; i++) {
      w2 = (await kubectlNodes()).find((n) => n.name === 'k3s-w2')!.ready
      if (w2 !== 'False') await new Promise((r) => setTimeout(r, 50))
    }
    expect(w2).toBe('False')
    await rm(join(dir, 'share/k3s/faults/k3s-w2.notready'))
    const again = { ...(await context()), outputs: emptyOutputs() }
    expect((await k3sInstallPhase.run!(again)).changed).toBe(false)
    expect((await k3sJoinPhase.run!(again)).changed).toBe(false)
    expect((await createNpuPhase().runNode!(again, cluster.nodes[1]!)).changed).toBe(false)
  }, 60_000)

  test('a node without the RKNPU driver is refused; power off kills its services; a reflashed first server loses the cluster', async () => {
    const w2 = nodes[2]!
    await w2.setNpuDriver(undefined)
    await expect(createNpuPhase().runNode!(ctx, cluster.nodes[2]!)).rejects.toThrow(
      /no RKNPU driver on kernel .*: \/sys\/kernel\/debug\/rknpu\/version is missing/
    )
    await w2.setNpuDriver('v0.9.8')

    // rkllama (started detached by systemctl on k3s-w1) dies with the node's power; systemd starts it again at boot.
    const w1 = nodes[1]!
    const pid = Number(readFileSync(join(w1.rootDir, 'run/lab-units/rkllama.service.pid'), 'utf8'))
    expect(alive(pid)).toBe(true)
    bmc.power(w1.slot, false)
    await w1.waitFor('off')
    expect(alive(pid)).toBe(false)
    bmc.power(w1.slot, true)
    await w1.waitFor('up')
    const back = Number(readFileSync(join(w1.rootDir, 'run/lab-units/rkllama.service.pid'), 'utf8'))
    expect(back).not.toBe(pid)
    expect(alive(back)).toBe(true)

    const cp = nodes[0]!
    bmc.flashed(cp.slot)
    await cp.waitFor('off')
    // The node's disk and the cluster datastore it held (kept in the shared store under its address) are gone.
    const left = (): boolean[] =>
      [cp.rootDir, join(dir, 'share/k3s/10.10.88.73.json'), join(dir, 'share/k3s/10.10.88.73.kube')].map((p) =>
        existsSync(p)
      )
    for (let i = 0; i < 200 && left().some(Boolean); i++) await new Promise((r) => setTimeout(r, 20))
    expect(left()).toEqual([false, false, false])
    const gone = await kubectl('get', 'nodes')
    expect(gone.code).not.toBe(0)
    expect(gone.stderr).toMatch(/^Unable to connect to the server/)
  }, 60_000)
})
