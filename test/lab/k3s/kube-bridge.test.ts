// The K3s API bridge against the k3s stand-in run as plain processes (node roots through TPI_NODE_ROOT,
// no namespaces): the first server's k3s.yaml carries the API's CA and token and works against the
// bridge at once; nodes, labels and faults are one store with `k3s kubectl`; the API follows its node
// (down: gone) and a first server that lost its disk starts a new cluster with a new CA.
// 127.10.23.x: no other suite uses board 23.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { K3S_STANDIN } from '../../../lab/k3s/binary.js'
import { startK3sKube } from '../../../lab/k3s/kube-bridge.js'

const FIRST = '10.10.88.73'
const HOST = '127.10.23.1'
let dir: string
let labDir: string
let up = true
let bridge: { stop(): Promise<void> }

function root(name: string): string {
  return join(dir, 'nodes', name)
}

function k3s(name: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [K3S_STANDIN, ...args],
      {
        env: {
          ...process.env,
          TPI_NODE_ROOT: root(name),
          TPI_LAB_DIR: labDir,
          TPI_NODE_ADDR: HOST,
          K3S_STANDIN_ONESHOT: '1'
        }
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
  })
}

function prepare(name: string, ip: string, server?: string): void {
  mkdirSync(join(root(name), 'etc/rancher/k3s'), { recursive: true })
  writeFileSync(join(root(name), 'etc/hostname'), `${name}\n`)
  writeFileSync(join(root(name), 'etc/rancher/k3s/cluster-token'), 'secret-one\n')
  writeFileSync(
    join(root(name), 'etc/rancher/k3s/config.yaml'),
    `node-name: "${name}"\nnode-ip: "${ip}"\ntoken-file: "/etc/rancher/k3s/cluster-token"\n${server ? `server: "https://${server}:6443"\n` : ''}`
  )
}

/** GET through the kubeconfig a node wrote (server 127.0.0.1:6443 → the bridge at HOST:6443). */
function get(kubeconfig: string, path: string): Promise<{ code: number; body: string }> {
  const kc = parse(kubeconfig) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[]
    users: { user: { token: string } }[]
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: HOST,
        port: 6443,
        path,
        ca: Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64'),
        headers: { authorization: `Bearer ${kc.users[0]!.user.token}` }
      },
      (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c.toString()))
        res.on('end', () => resolve({ code: res.statusCode ?? 0, body }))
      }
    )
    req.on('error', reject)
    req.end()
  })
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined
  for (let i = 0; i < 60; i++) {
    try {
      last = await fn()
      if (ok(last)) return last
    } catch {
      // not serving yet
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  if (last === undefined) return fn()
  return last
}

const kubeconfigOf = (name: string): string => readFileSync(join(root(name), 'etc/rancher/k3s/k3s.yaml'), 'utf8')

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tpi-k3s-bridge-'))
  labDir = join(dir, 'share')
  mkdirSync(join(labDir, 'k3s'), { recursive: true })
  bridge = await startK3sKube({ labDir, hostFor: (ip) => (ip === FIRST && up ? HOST : undefined) })
  prepare('k3s-cp', FIRST)
  prepare('k3s-w1', '10.10.88.74', FIRST)
})

afterAll(async () => {
  await bridge?.stop()
  rmSync(dir, { recursive: true, force: true })
})

describe('K3s API bridge', () => {
  test('k3s.yaml works against the bridge; the API lists what k3s kubectl lists, labels and faults included', async () => {
    expect((await k3s('k3s-cp', ['server'])).code).toBe(0)
    expect((await k3s('k3s-w1', ['agent'])).code).toBe(0)
    const kubeconfig = kubeconfigOf('k3s-cp')
    expect(kubeconfig).toMatch(/^    server: https:\/\/127\.0\.0\.1:6443\n/m)
    expect(kubeconfig).toMatch(/^    token: K10[0-9a-f]{48}\n/m)
    expect((await k3s('k3s-cp', ['kubectl', 'label', 'node', 'k3s-w1', 'turingpi.io/npu=rk3588'])).code).toBe(0)
    mkdirSync(join(labDir, 'k3s/faults'), { recursive: true })
    writeFileSync(join(labDir, 'k3s/faults/k3s-w1.notready'), '')

    // The bridge applies faults when it polls (every 50 ms): wait for both nodes and the fault to show.
    const notReady = (body: string): boolean => {
      const items = (
        JSON.parse(body) as {
          items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[]
        }
      ).items
      return (
        items.length === 2 &&
        items.some(
          (n) =>
            n.metadata.name === 'k3s-w1' &&
            n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'False')
        )
      )
    }
    const viaApi = await eventually(
      () => get(kubeconfig, '/api/v1/nodes'),
      (r) => r.code === 200 && notReady(r.body)
    )
    const onNode = JSON.parse((await k3s('k3s-cp', ['kubectl', 'get', 'nodes', '-o', 'json'])).stdout) as {
      items: Record<string, unknown>[]
    }
    const shape = (
      items: {
        metadata: { name: string; labels: Record<string, string> }
        status: { conditions: { type: string; status: string }[]; nodeInfo: { kubeletVersion: string } }
      }[]
    ) =>
      items.map((n) => ({
        name: n.metadata.name,
        labels: n.metadata.labels,
        ready: n.status.conditions.find((c) => c.type === 'Ready')!.status,
        version: n.status.nodeInfo.kubeletVersion
      }))
    const api = shape((JSON.parse(viaApi.body) as { items: never[] }).items)
    expect(api).toEqual(shape(onNode.items as never[]))
    expect(
      api.map((n) => [
        n.name,
        n.ready,
        n.version,
        n.labels['node-role.kubernetes.io/control-plane'] ?? '-',
        n.labels['turingpi.io/npu'] ?? '-'
      ])
    ).toEqual([
      ['k3s-cp', 'True', 'v1.31.3+k3s1', 'true', '-'],
      ['k3s-w1', 'False', 'v1.31.3+k3s1', '-', 'rk3588']
    ])
    rmSync(join(labDir, 'k3s/faults/k3s-w1.notready'))
    const healed = await eventually(
      () => get(kubeconfig, '/api/v1/nodes/k3s-w1'),
      (r) => r.body.includes('"KubeletReady"')
    )
    expect(healed.body).toContain('"KubeletReady"')
    // kube-system as k3s has it: namespaces, the packaged pods, node-password secrets.
    const pods = JSON.parse((await get(kubeconfig, '/api/v1/namespaces/kube-system/pods')).body) as {
      items: { metadata: { name: string } }[]
    }
    expect(pods.items.map((p) => p.metadata.name.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''))).toEqual([
      'coredns',
      'local-path-provisioner',
      'metrics-server',
      'traefik'
    ])
    expect((await get(kubeconfig, '/api/v1/namespaces/kube-system/secrets/k3s-w1.node-password.k3s')).code).toBe(200)
  })

  test('the API goes with its node; a first server that lost its disk starts a new cluster with a new CA', async () => {
    const old = kubeconfigOf('k3s-cp')
    up = false
    await eventually(
      () =>
        get(old, '/readyz').then(
          () => 'up',
          () => 'down'
        ),
      (s) => s === 'down'
    )
    await expect(get(old, '/readyz')).rejects.toThrow(/ECONNREFUSED/)
    up = true
    expect(
      (
        await eventually(
          () => get(old, '/readyz'),
          (r) => r.code === 200
        )
      ).body
    ).toBe('ok')

    // Reflashed: the node's disk is blank (the shared store still has the old cluster).
    rmSync(root('k3s-cp'), { recursive: true, force: true })
    prepare('k3s-cp', FIRST)
    expect((await k3s('k3s-cp', ['server'])).code).toBe(0)
    const fresh = kubeconfigOf('k3s-cp')
    expect(fresh).not.toBe(old)
    const nodes = await eventually(
      () => get(fresh, '/api/v1/nodes'),
      (r) => r.code === 200
    )
    expect(
      (JSON.parse(nodes.body) as { items: { metadata: { name: string } }[] }).items.map((n) => n.metadata.name)
    ).toEqual(['k3s-cp'])
    await expect(get(old, '/readyz')).rejects.toThrow(/certificate|self.signed|unable to verify/i)
  })
})
