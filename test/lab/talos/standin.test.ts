// The talosctl stand-in against one emulated Talos node API (no simulated board): output formats of
// real-samples C3, C4, C6, C7, C8 and the maintenance → configured → bootstrapped life of a node.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TALOSCTL_STANDIN } from '../../../lab/talos/binary.js'
import { TalosNodeApi } from '../../../lab/talos/lib/index.mjs'

let dir: string
let api: TalosNodeApi
const reboots: string[] = []
const uart: string[] = []

function talosctl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TALOSCTL_STANDIN, ...args], { cwd: dir, env: { ...process.env, TPI_ADDRESS_MAP: join(dir, 'map.json'), TALOSCTL_LAB_HEALTH_POLL_MS: '20' } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }))
  })
}

async function boot(): Promise<void> {
  api = new TalosNodeApi({ host: '127.10.9.1', port: 50000, stateDir: join(dir, 'node'), version: 'v1.9.0', lanIp: () => '10.0.0.1', uart: (l) => uart.push(l), onReboot: (why) => reboots.push(why) })
  await api.start()
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tpi-talosctl-'))
  await writeFile(join(dir, 'map.json'), JSON.stringify({ '10.0.0.1:50000': '127.10.9.1:50000', '10.0.0.1': '127.10.9.1' }))
  await boot()
})
afterAll(async () => {
  await api.stop()
  await rm(dir, { recursive: true, force: true })
})

describe('talosctl stand-in', () => {
  test('version --client prints the tab-indented client block (C8)', async () => {
    const r = await talosctl('version', '--client')
    expect(r.stdout).toMatch(/^Client:\n\tTag:         v1\.9\.0\n\tSHA:         \w+\n\tBuilt:       \n\tGo version:  go1\.23\.4\n\tOS\/Arch:     linux\/(amd64|arm64)\n$/)
  })

  test('get disks --insecure answers the Talos ≥1.8 table in maintenance mode (C3)', async () => {
    const r = await talosctl('get', 'disks', '--insecure', '--nodes', '10.0.0.1', '--endpoints', '10.0.0.1')
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+SIZE\s+READ ONLY\s+TRANSPORT\s+ROTATIONAL\s+WWID\s+MODEL\s+SERIAL$/)
    expect(lines[1]).toMatch(/^10\.0\.0\.1\s+runtime\s+Disk\s+loop0\s+2\s+75 MB\s+true$/)
    expect(lines[2]).toMatch(/mmcblk0\s+2\s+31 GB\s+false\s+mmc/)
  })

  test('an address the lab map does not know is unreachable, never dialled', async () => {
    const r = await talosctl('get', 'disks', '--insecure', '--nodes', '10.0.0.99')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('dial tcp 10.0.0.99:50000: connect: no route to host')
  })

  test('gen secrets, gen config and apply --insecure: one line and the node installs (C7)', async () => {
    expect((await talosctl('gen', 'secrets', '--output-file', 'secrets.yaml')).code).toBe(0)
    const gen = await talosctl('gen', 'config', 'lab', 'https://10.0.0.1:6443', '--with-secrets', 'secrets.yaml', '--output-types', 'controlplane', '--output', 'cp.yaml', '--install-disk', '/dev/mmcblk0')
    expect(gen.code).toBe(0)
    await talosctl('gen', 'config', 'lab', 'https://10.0.0.1:6443', '--with-secrets', 'secrets.yaml', '--output-types', 'talosconfig', '--output', 'talosconfig')
    const r = await talosctl('apply-config', '--insecure', '--nodes', '10.0.0.1', '--file', 'cp.yaml')
    expect(r).toMatchObject({ code: 0, stderr: 'Applied configuration without a reboot\n' })
    await new Promise((res) => setTimeout(res, 20))
    expect(reboots).toEqual(['install'])
    await api.stop()
    await boot()
  })

  test('a configured node refuses the insecure service (the action reads this as "configured")', async () => {
    const r = await talosctl('get', 'disks', '--insecure', '--nodes', '10.0.0.1')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('tls: certificate required')
    const status = await talosctl('get', 'machinestatus', '--output', 'json', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1', '--endpoints', '10.0.0.1')
    expect(JSON.parse(status.stdout).spec).toEqual({ stage: 'running', status: { ready: false, unmetConditions: [{ name: 'etcd', reason: 'service "etcd" is not running' }] } })
  })

  test('dry run of the same config: "No changes."; install disk change: a live diff', async () => {
    const same = await talosctl('apply-config', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1', '--file', 'cp.yaml', '--mode', 'auto', '--dry-run')
    expect(same.stderr).toBe('Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\nNo changes.\n')
    const { readFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'cp2.yaml'), (await readFile(join(dir, 'cp.yaml'), 'utf8')).replace('disk: /dev/mmcblk0', 'disk: /dev/nvme0n1'))
    const changed = await talosctl('apply-config', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1', '--file', 'cp2.yaml', '--dry-run')
    expect(changed.stderr).toContain('Applied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\n--- a\n+++ b\n')
    expect(changed.stderr).toContain('-        disk: /dev/mmcblk0\n+        disk: /dev/nvme0n1')
  })

  test('bootstrap once; the second answers AlreadyExists as talosctl prints it (C6)', async () => {
    expect((await talosctl('bootstrap', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1')).code).toBe(0)
    expect(uart).toContain('[talos] bootstrap request received')
    const again = await talosctl('bootstrap', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1')
    expect(again).toMatchObject({ code: 1, stderr: 'error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n' })
  })

  test('health prints "...", then OK per check, non-TTY (C4)', async () => {
    const r = await talosctl('health', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1', '--control-plane-nodes', '10.0.0.1', '--wait-timeout', '5s')
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines.slice(0, 4)).toEqual(['discovered nodes: ["10.0.0.1"]', 'waiting for etcd to be healthy: ...', 'waiting for etcd to be healthy: OK', 'waiting for etcd members to be consistent across nodes: ...'])
    expect(lines.at(-1)).toBe('waiting for all k8s nodes to report schedulable: OK')
  })

  test('health names the node that never reports and ends with context deadline exceeded', async () => {
    const r = await talosctl('health', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1', '--control-plane-nodes', '10.0.0.1', '--worker-nodes', '10.0.0.2', '--wait-timeout', '300ms')
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('waiting for all nodes to finish boot sequence: node 10.0.0.2: connection refused\n')
    expect(r.stderr).toBe('context deadline exceeded\n')
  })

  test('kubeconfig carries the cluster CA and the endpoint', async () => {
    const r = await talosctl('kubeconfig', 'kc', '--force', '--merge=false', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1')
    expect(r.code).toBe(0)
    const { readFile } = await import('node:fs/promises')
    const kc = await readFile(join(dir, 'kc'), 'utf8')
    expect(kc).toContain('server: https://10.0.0.1:6443')
    expect(kc).toMatch(/certificate-authority-data: \S{40,}/)
  })
})
