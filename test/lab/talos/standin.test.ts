// The talosctl stand-in against one emulated Talos node API (no simulated board): output formats of
// real-samples C3, C4, C6, C7, C8 and the maintenance → configured → bootstrapped life of a node. Every
// test runs twice: as a node process of its own, and through the release wrapper the mirror serves into
// the lab's talosctl server (lib/serve.mjs), which must answer byte for byte the same.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile, spawn } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TALOSCTL_STANDIN, talosctlStandinBinary } from '../../../lab/talos/binary.js'
import { TalosNodeApi, parseRequest, startTalosctlServer } from '../../../lab/talos/lib/index.mjs'

type Run = { code: number; stdout: string; stderr: string }

const MODES = ['a node process of its own', 'the release wrapper into the lab talosctl server'] as const

function exec(file: string, args: string[], cwd: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    )
  })
}

describe.each(MODES)('talosctl stand-in, as %s', (mode) => {
  let dir: string
  let api: TalosNodeApi
  let server: { address: string; stop(): Promise<void> } | undefined
  const reboots: string[] = []
  const uart: string[] = []

  function talosctl(...args: string[]): Promise<Run> {
    const env = { TPI_ADDRESS_MAP: join(dir, 'map.json'), TALOSCTL_LAB_HEALTH_POLL_MS: '20' }
    if (!server) return exec(process.execPath, [TALOSCTL_STANDIN, ...args], dir, env)
    return exec(join(dir, 'talosctl'), args, dir, { ...env, TPI_LAB_TALOSCTL: server.address })
  }

  async function boot(): Promise<void> {
    api = new TalosNodeApi({
      host: '127.10.9.1',
      port: 50000,
      stateDir: join(dir, 'node'),
      version: 'v1.9.0',
      lanIp: () => '10.0.0.1',
      uart: (l) => uart.push(l),
      onReboot: (why) => reboots.push(why)
    })
    await api.start()
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tpi-talosctl-'))
    await writeFile(
      join(dir, 'map.json'),
      JSON.stringify({ '10.0.0.1:50000': '127.10.9.1:50000', '10.0.0.1': '127.10.9.1' })
    )
    if (mode === MODES[1]) {
      server = await startTalosctlServer()
      await writeFile(join(dir, 'talosctl'), talosctlStandinBinary('v1.9.0', 'amd64'))
      await chmod(join(dir, 'talosctl'), 0o755)
    }
    await boot()
  })
  afterAll(async () => {
    await api.stop()
    await server?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  test('version --client prints the tab-indented client block (C8)', async () => {
    const r = await talosctl('version', '--client')
    expect(r.stdout).toMatch(
      /^Client:\n\tTag:         v1\.9\.0\n\tSHA:         \w+\n\tBuilt:       \n\tGo version:  go1\.23\.4\n\tOS\/Arch:     linux\/(amd64|arm64)\n$/
    )
  })

  test('get disks --insecure answers the Talos ≥1.8 table in maintenance mode (C3)', async () => {
    const r = await talosctl('get', 'disks', '--insecure', '--nodes', '10.0.0.1', '--endpoints', '10.0.0.1')
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(
      /^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+SIZE\s+READ ONLY\s+TRANSPORT\s+ROTATIONAL\s+WWID\s+MODEL\s+SERIAL$/
    )
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
    const gen = await talosctl(
      'gen',
      'config',
      'lab',
      'https://10.0.0.1:6443',
      '--with-secrets',
      'secrets.yaml',
      '--output-types',
      'controlplane',
      '--output',
      'cp.yaml',
      '--install-disk',
      '/dev/mmcblk0'
    )
    expect(gen.code).toBe(0)
    await talosctl(
      'gen',
      'config',
      'lab',
      'https://10.0.0.1:6443',
      '--with-secrets',
      'secrets.yaml',
      '--output-types',
      'talosconfig',
      '--output',
      'talosconfig'
    )
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
    const status = await talosctl(
      'get',
      'machinestatus',
      '--output',
      'json',
      '--talosconfig',
      'talosconfig',
      '--nodes',
      '10.0.0.1',
      '--endpoints',
      '10.0.0.1'
    )
    expect(JSON.parse(status.stdout).spec).toEqual({
      stage: 'running',
      status: { ready: false, unmetConditions: [{ name: 'etcd', reason: 'service "etcd" is not running' }] }
    })
  })

  test('dry run of the same config: "No changes."; install disk change: a live diff', async () => {
    const same = await talosctl(
      'apply-config',
      '--talosconfig',
      'talosconfig',
      '--nodes',
      '10.0.0.1',
      '--file',
      'cp.yaml',
      '--mode',
      'auto',
      '--dry-run'
    )
    expect(same.stderr).toBe(
      'Dry run summary:\nApplied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\nNo changes.\n'
    )
    const { readFile } = await import('node:fs/promises')
    await writeFile(
      join(dir, 'cp2.yaml'),
      (await readFile(join(dir, 'cp.yaml'), 'utf8')).replace('disk: /dev/mmcblk0', 'disk: /dev/nvme0n1')
    )
    const changed = await talosctl(
      'apply-config',
      '--talosconfig',
      'talosconfig',
      '--nodes',
      '10.0.0.1',
      '--file',
      'cp2.yaml',
      '--dry-run'
    )
    expect(changed.stderr).toContain(
      'Applied configuration without a reboot (skipped in dry-run).\n\nConfig diff:\n\n--- a\n+++ b\n'
    )
    expect(changed.stderr).toContain('-        disk: /dev/mmcblk0\n+        disk: /dev/nvme0n1')
  })

  test('get machineconfig: one NODE row, or per node a `node:` document whose spec is the v1alpha1 document the node holds', async () => {
    const auth = ['--talosconfig', 'talosconfig', '--nodes', '10.0.0.1', '--endpoints', '10.0.0.1']
    const table = await talosctl('get', 'machineconfig', ...auth)
    expect(table.stdout.split('\n')[0]).toMatch(/^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION$/)
    expect(table.stdout.split('\n')[1]).toMatch(/^10\.0\.0\.1\s+config\s+MachineConfig\s+v1alpha1\s+\d+$/)
    const y = await talosctl('get', 'mc', '--output', 'yaml', ...auth)
    expect(y.code).toBe(0)
    expect(y.stdout).toMatch(
      /^node: 10\.0\.0\.1\nmetadata:\n {4}namespace: config\n {4}type: MachineConfigs\.config\.talos\.dev\n {4}id: v1alpha1\n {4}version: \d+\n {4}owner:\n {4}phase: running\n/
    )
    const { readFile } = await import('node:fs/promises')
    const { parse } = await import('yaml')
    const held = parse(
      await readFile(join(dir, 'node', 'talos', 'state.json'), 'utf8').then((t) => JSON.parse(t).config)
    )
    expect((parse(y.stdout) as { spec: unknown }).spec).toEqual(held)
    const j = await talosctl('get', 'machineconfig', '--output', 'json', ...auth)
    expect(Object.keys(JSON.parse(j.stdout))).toEqual(['metadata', 'node', 'spec'])
  })

  test('several nodes: a later node that does not answer is reported after the others, exit 1; a first one ends the command', async () => {
    const tc = ['--talosconfig', 'talosconfig']
    const later = await talosctl(
      'get',
      'machineconfig',
      '-o',
      'yaml',
      ...tc,
      '-n',
      '10.0.0.1,10.0.0.2',
      '-e',
      '10.0.0.1'
    )
    expect(later.code).toBe(1)
    expect(later.stdout).toMatch(/^node: 10\.0\.0\.1\n/)
    expect(later.stderr).toBe(
      '1 error occurred:\n\t* rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 10.0.0.2:50000: connect: no route to host"\n'
    )
    const first = await talosctl(
      'get',
      'machineconfig',
      '-o',
      'yaml',
      ...tc,
      '-n',
      '10.0.0.2,10.0.0.1',
      '-e',
      '10.0.0.1'
    )
    expect(first).toMatchObject({ code: 1, stdout: '' })
    expect(first.stderr).toMatch(/^rpc error: code = Unavailable .*10\.0\.0\.2:50000/)
  })

  test('version over several nodes: a block per node that answered, a warning for the others, exit 0; no endpoint answering fails it', async () => {
    const tc = ['--talosconfig', 'talosconfig']
    const r = await talosctl('version', ...tc, '--nodes', '10.0.0.1,10.0.0.2', '--endpoints', '10.0.0.1,10.0.0.2')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('Server:\n\tNODE:        10.0.0.1\n\tTag:         v1.9.0\n')
    expect(r.stdout).not.toContain('10.0.0.2')
    expect(r.stderr).toMatch(/^WARNING: 1 error occurred:\n\t\* 10\.0\.0\.2: rpc error: code = Unavailable /)
    const none = await talosctl('version', ...tc, '--nodes', '10.0.0.1,10.0.0.2', '--endpoints', '10.0.0.2')
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^error getting version: rpc error: code = Unavailable /)
  })

  test('bootstrap once; the second answers AlreadyExists as talosctl prints it (C6)', async () => {
    expect((await talosctl('bootstrap', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1')).code).toBe(0)
    expect(uart).toContain('[talos] bootstrap request received')
    const again = await talosctl('bootstrap', '--talosconfig', 'talosconfig', '--nodes', '10.0.0.1')
    expect(again).toMatchObject({
      code: 1,
      stderr: 'error executing bootstrap: rpc error: code = AlreadyExists desc = etcd data directory is not empty\n'
    })
  })

  test('health prints "...", then OK per check, non-TTY (C4)', async () => {
    const r = await talosctl(
      'health',
      '--talosconfig',
      'talosconfig',
      '--nodes',
      '10.0.0.1',
      '--control-plane-nodes',
      '10.0.0.1',
      '--wait-timeout',
      '5s'
    )
    expect(r.code).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines.slice(0, 4)).toEqual([
      'discovered nodes: ["10.0.0.1"]',
      'waiting for etcd to be healthy: ...',
      'waiting for etcd to be healthy: OK',
      'waiting for etcd members to be consistent across nodes: ...'
    ])
    expect(lines.at(-1)).toBe('waiting for all k8s nodes to report schedulable: OK')
  })

  test('health names the node that never reports and ends with context deadline exceeded', async () => {
    const r = await talosctl(
      'health',
      '--talosconfig',
      'talosconfig',
      '--nodes',
      '10.0.0.1',
      '--control-plane-nodes',
      '10.0.0.1',
      '--worker-nodes',
      '10.0.0.2',
      '--wait-timeout',
      '300ms'
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('waiting for all nodes to finish boot sequence: node 10.0.0.2: connection refused\n')
    expect(r.stderr).toBe('context deadline exceeded\n')
  })

  test('kubeconfig carries the cluster CA and the endpoint', async () => {
    const r = await talosctl(
      'kubeconfig',
      'kc',
      '--force',
      '--merge=false',
      '--talosconfig',
      'talosconfig',
      '--nodes',
      '10.0.0.1'
    )
    expect(r.code).toBe(0)
    const { readFile } = await import('node:fs/promises')
    const kc = await readFile(join(dir, 'kc'), 'utf8')
    expect(kc).toContain('server: https://10.0.0.1:6443')
    expect(kc).toMatch(/certificate-authority-data: \S{40,}/)
  })
})

describe('the lab talosctl server', () => {
  test('a request is complete only when every announced argument has arrived', () => {
    const wire = Buffer.from(['/work', 'TALOSCONFIG=/tc', 'TPI_LAB_DIR=', '--', '2', 'get', 'disks', ''].join('\0'))
    expect(parseRequest(wire.subarray(0, wire.length - 3))).toBeUndefined()
    expect(parseRequest(wire)).toEqual({ cwd: '/work', env: { TALOSCONFIG: '/tc' }, argv: ['get', 'disks'] })
  })

  test('the release wrapper runs its own stand-in process when the named server does not listen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tpi-talosctl-'))
    try {
      await writeFile(join(dir, 'talosctl'), talosctlStandinBinary('v1.8.3', 'amd64'))
      await chmod(join(dir, 'talosctl'), 0o755)
      const r = await exec(join(dir, 'talosctl'), ['version', '--client'], dir, { TPI_LAB_TALOSCTL: '127.0.0.1:1' })
      expect(r).toMatchObject({ code: 0, stderr: '' })
      expect(r.stdout).toContain('Tag:         v1.8.3')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a caller that goes away (killed on a timeout) aborts its command in the server', async () => {
    let aborted!: () => void
    const seen = new Promise<void>((resolve) => {
      aborted = resolve
    })
    const server = await startTalosctlServer({
      run: (_argv, o) =>
        new Promise((resolve) =>
          o?.signal?.addEventListener('abort', () => {
            aborted()
            resolve({ code: 1, stdout: '', stderr: '' })
          })
        )
    })
    const dir = await mkdtemp(join(tmpdir(), 'tpi-talosctl-'))
    try {
      await writeFile(join(dir, 'talosctl'), talosctlStandinBinary('v1.9.0', 'amd64'))
      await chmod(join(dir, 'talosctl'), 0o755)
      const child = spawn(join(dir, 'talosctl'), ['health', '--wait-timeout', '10m'], {
        env: { ...process.env, TPI_LAB_TALOSCTL: server.address },
        stdio: 'ignore'
      })
      await new Promise((resolve) => setTimeout(resolve, 300))
      child.kill('SIGKILL')
      await expect(
        Promise.race([
          seen.then(() => 'aborted'),
          new Promise((resolve) => setTimeout(() => resolve('still running'), 5000).unref())
        ])
      ).resolves.toBe('aborted')
    } finally {
      await server.stop()
      await rm(dir, { recursive: true, force: true })
    }
  })
})
