import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { INSTALL_STANDIN, k3sStandinBinary } from '../../../lab/k3s/binary.js'
import type { RemoteShell } from '../../../src/adapters/ssh/types.js'
import { PASSWORD_REJECTED_FOR_TESTS } from './samples.js'
import { k3sCluster } from '../../core/kinds/k3s/fixtures.js'
import { startHarness, type Harness } from '../../core/kinds/k3s/harness.js'

const cluster = k3sCluster(
  '',
  `control_plane: { node: 1, ip: 10.10.88.73, hostname: k3s-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: k3s-w1 }`
)
let lab: Harness
const shells: Record<string, RemoteShell> = {}

async function sh(id: string, script: string, stdin?: string) {
  return shells[id].exec(script, stdin ? { stdin } : {})
}

async function prepare(id: string, config: string, token: string): Promise<void> {
  await shells[id].put('/usr/local/bin/k3s', k3sStandinBinary('v1.31.3+k3s1'), { mode: 0o755 })
  await shells[id].put('/usr/local/lib/turingpi/k3s-install.sh', readFileSync(INSTALL_STANDIN), { mode: 0o755 })
  await shells[id].put('/etc/rancher/k3s/config.yaml', config, { mode: 0o600 })
  await shells[id].put('/etc/rancher/k3s/cluster-token', token, { mode: 0o600 })
}

beforeAll(async () => {
  lab = startHarness(cluster.nodes)
  for (const id of ['k3s-cp', 'k3s-w1']) shells[id] = await lab.shell(id)
  await prepare(
    'k3s-cp',
    'node-name: "k3s-cp"\nnode-ip: "10.10.88.73"\ntoken-file: "/etc/rancher/k3s/cluster-token"\n',
    'secret-one'
  )
  await prepare(
    'k3s-w1',
    'node-name: "k3s-w1"\nnode-ip: "10.10.88.74"\ntoken-file: "/etc/rancher/k3s/cluster-token"\nserver: "https://10.10.88.73:6443"\n',
    'secret-one'
  )
})
afterAll(() => lab.stop())

describe('k3s install.sh stand-in', () => {
  test('prints the [INFO] lines of the real script for an air-gapped agent install and creates the unit', async () => {
    const out = await sh(
      'k3s-w1',
      'INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_EXEC=agent sh /usr/local/lib/turingpi/k3s-install.sh'
    )
    expect(out.stdout).toBe(`[INFO]  Skipping k3s download and verify
[INFO]  Skipping installation of SELinux RPM
[INFO]  Creating /usr/local/bin/kubectl symlink to k3s
[INFO]  Creating /usr/local/bin/crictl symlink to k3s
[INFO]  Creating /usr/local/bin/ctr symlink to k3s
[INFO]  Creating killall script /usr/local/bin/k3s-killall.sh
[INFO]  Creating uninstall script /usr/local/bin/k3s-agent-uninstall.sh
[INFO]  env: Creating environment file /etc/systemd/system/k3s-agent.service.env
[INFO]  systemd: Creating service file /etc/systemd/system/k3s-agent.service
[INFO]  systemd: Enabling k3s-agent unit
[INFO]  systemd: Starting k3s-agent
`)
    expect(out.stderr).toBe(
      'Created symlink /etc/systemd/system/multi-user.target.wants/k3s-agent.service → /etc/systemd/system/k3s-agent.service.\n'
    )
    expect(lab.file('k3s-w1', 'etc/systemd/system/k3s-agent.service')).toContain('ExecStart=/usr/local/bin/k3s agent\n')
  })

  test('refuses to download: lab nodes have no internet', async () => {
    const out = await sh('k3s-w1', 'sh /usr/local/lib/turingpi/k3s-install.sh')
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/^\[ERROR\]  Download failed: this lab node has no internet/)
  })
})

describe('k3s stand-in', () => {
  test('server writes its token and kubeconfig; kubectl answers real List JSON with conditions and roles', async () => {
    expect((await sh('k3s-cp', 'K3S_STANDIN_ONESHOT=1 k3s server')).code).toBe(0)
    expect(lab.file('k3s-cp', 'var/lib/rancher/k3s/server/token')).toMatch(/^K10[0-9a-f]{64}::server:secret-one\n$/)
    expect(lab.file('k3s-cp', 'etc/rancher/k3s/k3s.yaml')).toContain('    server: https://127.0.0.1:6443\n')
    expect((await sh('k3s-cp', 'k3s --version')).stdout).toBe(
      'k3s version v1.31.3+k3s1 (6e6af988)\ngo version go1.22.8\n'
    )
    const list = JSON.parse((await sh('k3s-cp', 'k3s kubectl get nodes -o json')).stdout)
    expect(list.kind).toBe('List')
    expect(list.items[0].metadata.labels['node-role.kubernetes.io/control-plane']).toBe('true')
    expect(list.items[0].status.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'True', reason: 'KubeletReady' })
    ])
  })

  test('an agent with a wrong token never registers and logs 401', async () => {
    await shells['k3s-w1'].put('/etc/rancher/k3s/cluster-token', 'wrong', { mode: 0o600 })
    await sh('k3s-w1', 'K3S_STANDIN_ONESHOT=1 k3s agent || true')
    expect(lab.file('k3s-w1', 'var/log/k3s.log')).toContain(
      'level=info msg="Waiting to retrieve agent configuration; server is not ready: failed to retrieve configuration from server: https://10.10.88.73:6443/v1-k3s/config: 401 Unauthorized"'
    )
    expect((await sh('k3s-cp', 'k3s kubectl get node k3s-w1 || true')).stderr).toBe(
      'Error from server (NotFound): nodes "k3s-w1" not found\n'
    )
  })

  test("a reflashed agent (new node password) is rejected with k3s's message until its secret is deleted", async () => {
    await shells['k3s-w1'].put(
      '/etc/rancher/k3s/cluster-token',
      lab.file('k3s-cp', 'var/lib/rancher/k3s/server/token')!.trim(),
      { mode: 0o600 }
    )
    await sh('k3s-w1', 'K3S_STANDIN_ONESHOT=1 k3s agent')
    expect((await sh('k3s-cp', 'k3s kubectl get node k3s-w1')).code).toBe(0)
    await sh('k3s-w1', 'rm /etc/rancher/node/password; : > /var/log/k3s.log; K3S_STANDIN_ONESHOT=1 k3s agent')
    const log = lab.file('k3s-w1', 'var/log/k3s.log')!
    expect(log).toMatch(
      /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d turing-rk1 k3s\[\d+\]: time="[^"]+Z" level=info msg="Starting k3s agent v1\.31\.3\+k3s1"\n/
    )
    expect(log).toContain(`level=info msg="${PASSWORD_REJECTED_FOR_TESTS}"`)
    await sh('k3s-cp', 'k3s kubectl -n kube-system delete secret k3s-w1.node-password.k3s')
    await sh('k3s-w1', 'K3S_STANDIN_ONESHOT=1 k3s agent')
    expect(lab.file('k3s-w1', 'var/log/k3s.log')).toContain('Successfully registered node k3s-w1')
  })
})

describe('rkllama stand-in', () => {
  let dir: string
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tpi-rkllama-'))
  })
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  test('answers /api/tags with compact JSON, sorted keys, empty digest and format rkllm', async () => {
    const models = join(dir, 'models', 'qwen2.5-instruct:3b')
    mkdirSync(models, { recursive: true })
    writeFileSync(join(models, 'Modelfile'), 'FROM="Qwen2.5-3B-Instruct-rk3588-w8a8-opt-0-hybrid-ratio-0.0.rkllm"\n')
    writeFileSync(join(models, 'Qwen2.5-3B-Instruct-rk3588-w8a8-opt-0-hybrid-ratio-0.0.rkllm'), 'x'.repeat(1234))
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    // The stand-in checks the runtime at /usr/local/lib like the real import; the host has none, so run
    // it through a node root where it exists.
    const out = await sh(
      'k3s-cp',
      `mkdir -p /usr/local/lib && : > /usr/local/lib/librkllmrt.so
RKLLAMA_MODELS=${models}/.. TPI_NODE_ADDR=127.0.0.1 timeout 5 node ${join(process.cwd(), 'lab/k3s/standins/rkllama.mjs')} serve --port ${port} & 
for i in $(seq 1 50); do curl -fsS http://127.0.0.1:${port}/api/tags && break; sleep 0.1; done
kill %1`
    )
    const body = out.stdout.trim()
    expect(body).toMatch(
      /^\{"models":\[\{"details":\{"family":"llama","format":"rkllm","parameter_size":"3B","quantization_level":"Q8_0"\},"digest":"","model":"qwen2.5-instruct:3b","modified_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z","name":"qwen2.5-instruct:3b","size":1234\}\]\}$/
    )
  })
})
