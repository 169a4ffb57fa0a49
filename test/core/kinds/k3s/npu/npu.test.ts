import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createServer } from 'node:net'
import { k3sInstallPhase } from '../../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../../src/core/kinds/k3s/join-phase.js'
import { resolveModel } from '../../../../../src/core/kinds/k3s/npu/artifacts.js'
import { createNpuPhase } from '../../../../../src/core/kinds/k3s/npu/index.js'
import { LAB_RKLLAMA_LOCK, writeLabRkllamaLock } from '../../../../../lab/k3s/rkllama-lock.js'
import { phaseContext } from '../context.js'
import { k3sCluster } from '../fixtures.js'
import { NPU_TEST_PATHS, startHarness, type Harness } from '../harness.js'

const nodes = `control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: k3s-w1 }`
const npuConfig = `boot_timeout: 6
npu_config: { install_rknn: true, install_rkllm: true, deploy_rkllama: true, model: qwen3-4b, rkllm_version: 1.2.3,
  rkllama_requirements_lock: rkllama-requirements.lock }`
const cluster = k3sCluster(npuConfig, nodes)
let lab: Harness
let stateDir: string
let port: number

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
}

beforeAll(async () => {
  port = await freePort()
  lab = startHarness(cluster.nodes)
  const ctx = await phaseContext(cluster, lab.deps)
  stateDir = ctx.settings.stateDir
  writeLabRkllamaLock(ctx.settings.workingDirectory)
  await k3sInstallPhase.run!(ctx)
  await k3sJoinPhase.run!(ctx)
})
afterAll(() => lab.stop())

describe('npu phase on the lab', () => {
  test('installs both runtimes and rkllama with the model, probes /api/tags and labels the node; a rerun changes nothing', async () => {
    lab.setNpu('k3s-w1', 'v0.9.8')
    const phase = createNpuPhase({ paths: NPU_TEST_PATHS, port })
    const ctx = await phaseContext(cluster, lab.deps, stateDir)
    const node = cluster.nodes[1]
    const first = await phase.runNode!(ctx, node)
    expect(first.changed).toBe(true)
    expect(first.summary).toBe(
      'changed: rknn=2.3.2, rkllm=1.2.3, rkllama=0.0.54, rkllama.service, model=qwen3-4b:w8a8:Qwen3-4B-rk3588-w8a8_g128-opt-1-hybrid-ratio-1.0.rkllm, started=rkllama, label turingpi.io/npu=rk3588 (driver v0.9.8); rkllama answers (models: qwen3-4b)'
    )
    expect(lab.file('k3s-w1', 'usr/local/lib/librkllmrt.so')).toBe('librkllmrt 1.2.3 (lab bytes)\n')
    expect(lab.file('k3s-w1', 'usr/local/lib/librknnrt.so')).toBe('librknnrt 2.3.2 (lab bytes)\n')
    // rkllama's Python dependencies: only from the shipped lock, with hashes; rkllama itself fetches nothing.
    expect(lab.file('k3s-w1', 'opt/rkllama/requirements.lock')).toBe(LAB_RKLLAMA_LOCK)
    const pip = lab.file('k3s-w1', 'var/log/lab-pip.log')
    expect(pip).toContain(
      'pip install -q --require-hashes --no-deps --no-build-isolation -r /opt/rkllama/requirements.lock'
    )
    expect(pip).toContain('pip install -q --no-index --no-deps --no-build-isolation /opt/rkllama/app')
    expect(pip).toMatch(/^locked setuptools==80\.9\.0 --hash=sha256:[0-9a-f]{64}$/m)
    expect(pip).not.toMatch(/^refused/m)
    expect(ctx.outputs.nodeStatus['k3s-w1'].npu).toBe('RKNPU v0.9.8')
    const again = await phase.runNode!(await phaseContext(cluster, lab.deps, stateDir), node)
    expect(again).toEqual({
      changed: false,
      summary: 'NPU stack unchanged (driver v0.9.8); rkllama answers (models: qwen3-4b)'
    })
  })

  test('drift: none for the node that runs the stack; the node without the driver is one symptom row', async () => {
    const ctx = await phaseContext(cluster, lab.deps, stateDir)
    expect(await createNpuPhase({ paths: NPU_TEST_PATHS, port }).drift!(ctx)).toEqual([
      {
        subject: 'k3s-cp',
        field: 'npu.driver',
        wanted: 'RKNPU driver loaded (Armbian vendor kernel)',
        found: expect.stringMatching(/^none on kernel \S+$/),
        kind: 'drift',
        fixedBy: [],
        path: ['control_plane'],
        symptom: true
      }
    ])
  })

  test('drift: rkllama stopped is one service row fixed by the npu phase, not also an API row', async () => {
    const w1 = lab.nodes.get('k3s-w1')!
    const { shell } = await lab.deps.ssh.connect({
      node: 'k3s-w1',
      host: w1.addr,
      port: 22,
      user: 'root',
      privateKey: 'unused'
    })
    await shell.exec('systemctl stop rkllama')
    const phase = createNpuPhase({ paths: NPU_TEST_PATHS, port })
    const ctx = await phaseContext(cluster, lab.deps, stateDir)
    const rows = (await phase.drift!(ctx)).filter((r) => r.subject === 'k3s-w1')
    expect(rows).toEqual([
      {
        subject: 'k3s-w1',
        field: 'npu.rkllama.service',
        wanted: 'active',
        found: 'inactive',
        kind: 'drift',
        fixedBy: ['npu'],
        path: ['workers', 0]
      }
    ])
    expect((await phase.runNode!(ctx, cluster.nodes[1]!)).summary).toMatch(
      /started=rkllama.*rkllama answers \(models: qwen3-4b\)$/
    )
    expect(
      (await phase.drift!(await phaseContext(cluster, lab.deps, stateDir))).filter((r) => r.subject === 'k3s-w1')
    ).toEqual([])
  })

  test('drift: a node that lost its NPU label is one label row', async () => {
    const cp = lab.nodes.get('k3s-cp')!
    const { shell } = await lab.deps.ssh.connect({
      node: 'k3s-cp',
      host: cp.addr,
      port: 22,
      user: 'root',
      privateKey: 'unused'
    })
    await shell.exec('k3s kubectl label node k3s-w1 turingpi.io/npu-')
    const rows = (
      await createNpuPhase({ paths: NPU_TEST_PATHS, port }).drift!(await phaseContext(cluster, lab.deps, stateDir))
    ).filter((r) => r.subject === 'k3s-w1')
    expect(rows).toEqual([
      {
        subject: 'k3s-w1',
        field: 'npu.label',
        wanted: 'turingpi.io/npu=rk3588',
        found: 'absent',
        kind: 'drift',
        fixedBy: ['npu'],
        path: ['workers', 0]
      }
    ])
  })

  test('refuses a node whose kernel has no RKNPU driver, saying why', async () => {
    const phase = createNpuPhase({ paths: NPU_TEST_PATHS, port })
    const ctx = await phaseContext(cluster, lab.deps, stateDir)
    const error = (await phase.runNode!(ctx, cluster.nodes[0]).catch((e: unknown) => e)) as Error & { code: string }
    expect(error.code).toBe('NpuDriverMissing')
    expect(error.message).toMatch(
      /^node k3s-cp: npu failed: no RKNPU driver on kernel \S+: \/run\/lab-debug\/rknpu\/version is missing; the NPU needs Armbian's vendor kernel/
    )
  })

  test('a model converted for another RKLLM minor version is refused before anything is installed', () => {
    expect(resolveModel('qwen3-4b', 'w8a8', '1.1.4')).toEqual({
      problem:
        'model qwen3-4b (w8a8) was converted with RKLLM 1.2.1 but rkllm_version is 1.1.4; RKLLM loads only models of its own minor version, so set rkllm_version to 1.2.x or choose another model'
    })
    expect(resolveModel('nope', 'w8a8', '1.2.3')).toEqual({
      problem: 'unknown model "nope"; known: qwen3-4b, gemma-3-1b'
    })
  })
})
