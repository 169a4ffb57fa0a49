import { afterAll, describe, expect, test } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseCluster } from '../../../../src/core/config/load.js'
import { k3sInstallPhase } from '../../../../src/core/kinds/k3s/install-phase.js'
import { k3sJoinPhase } from '../../../../src/core/kinds/k3s/join-phase.js'
import { createNpuPhase } from '../../../../src/core/kinds/k3s/npu/index.js'
import { osBootstrapPhase } from '../../../../src/core/kinds/k3s/os-bootstrap/index.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { execute } from '../../../../src/core/run.js'
import { SSH_KEY } from './context.js'
import { NPU_TEST_PATHS, startHarness, type Harness } from './harness.js'
import { testSettings } from '../../context.js'

const file = `kind: k3s
name: lab
bmc: { endpoint: https://10.10.88.70, tls: { insecure: true } }
armbian_image: { path: armbian.img }
endpoint: https://10.10.88.73:6443
control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: k3s-w1 }
  - { node: 3, ip: 10.10.88.75, hostname: k3s-w2 }
boot_timeout: 6
npu_config: { install_rknn: true }
`
let lab: Harness | undefined
afterAll(() => lab?.stop())

describe('the engine runs the K3s phases end to end on the lab', () => {
  test('deploy, then a converged redeploy that changes nothing; no secret in the output', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpi-k3s-engine-'))
    writeFileSync(join(dir, 'cluster.yaml'), file)
    writeFileSync(join(dir, 'armbian.img'), '') // a local image must exist at validate time
    const cluster = parseCluster(file, 'cluster.yaml').cluster!
    lab = startHarness(cluster.nodes)
    for (const node of cluster.nodes) lab.setNpu(node.id, 'v0.9.8')
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const modules = [osBootstrapPhase, k3sInstallPhase, k3sJoinPhase, createNpuPhase({ paths: NPU_TEST_PATHS, port })]
    const settings = testSettings(dir, {
      phases: ['os-bootstrap', 'install', 'join', 'npu'],
      tempDir: dir,
      secrets: { sshPrivateKey: SSH_KEY, artifactRecipients: [] }
    })
    const reporter = new MemoryReporter()
    const first = await execute(settings, async () => lab!.deps, reporter, { modules })
    expect(first.error).toBeUndefined()
    expect(first.status).toBe('ok')
    expect(Object.keys(first.outputs.timings)).toEqual(['os-bootstrap', 'install', 'join', 'npu'])
    expect(first.outputs.nodeStatus['k3s-w2']).toMatchObject({ ready: true, npu: 'RKNPU v0.9.8' })

    const again = new MemoryReporter()
    const second = await execute(settings, async () => lab!.deps, again, { modules })
    expect(second.status).toBe('ok')
    const phaseLines = again.lines.filter((l) =>
      /(^|: )(os-bootstrap|install|join|npu): (changed|unchanged) — /.test(l)
    )
    expect(phaseLines.length).toBe(3 + 1 + 1 + 3)
    expect(phaseLines.filter((l) => l.includes(': changed — '))).toEqual([])

    const kubeconfig = readFileSync(second.outputs.kubeconfigPath!, 'utf8')
    const text = reporter.text() + again.text()
    for (const secret of [
      second.outputs.k3sToken!,
      'lab-test-key-material',
      ...kubeconfig
        .split('\n')
        .filter((l) => l.includes('-data:'))
        .map((l) => l.split(': ')[1])
    ])
      expect(text).not.toContain(secret)
  })
})
