// Three emulated Talos control planes with a real etcd behind each (lab/talos/lib/etcd-ops.mjs), driven by
// the lab talosctl as an operator would: bootstrap makes one member and the others join; `etcd snapshot`
// is a real snapshot; the disaster-recovery procedure (reset EPHEMERAL on every control plane, etcd
// Preparing, bootstrap --recover-from on one) rebuilds the member set with the snapshot's data; a graceful
// reset leaves etcd, and the last member cannot leave. Addresses 127.10.23.11-13 (no lab board uses slots
// above 4).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getPrefixSync, memberList, putSync, stopAllEtcd } from '../../../lab/etcd/index.mjs'
import { TalosNodeApi, runTalosctl } from '../../../lab/talos/lib/index.mjs'

const HOSTS = ['127.10.23.11', '127.10.23.12', '127.10.23.13']
const LAN = ['10.9.0.11', '10.9.0.12', '10.9.0.13']
const KEY = '/registry/configmaps/default/drill'

let dir: string
const apis: (TalosNodeApi | undefined)[] = []
const uart: string[] = []

function boot(i: number): Promise<void> {
  const api: TalosNodeApi = new TalosNodeApi({
    host: HOSTS[i]!,
    port: 50000,
    stateDir: join(dir, `cp${i + 1}`),
    version: 'v1.9.0',
    lanIp: () => LAN[i]!,
    uart: (l) => uart.push(`cp${i + 1} ${l}`),
    // A reboot: the API goes away and a new one boots on the same state.
    onReboot: () =>
      void (async () => {
        await api.stop()
        apis[i] = undefined
        await boot(i)
      })()
  })
  apis[i] = api
  return api.start()
}

const talosctl = (...args: string[]) => runTalosctl(args, { env: { TPI_ADDRESS_MAP: join(dir, 'map.json') }, cwd: dir })
const tc = (i: number, ...args: string[]) =>
  talosctl(...args, '--talosconfig', 'talosconfig', '--nodes', LAN[i]!, '--endpoints', LAN[i]!)

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await fn().catch(() => undefined)
    if (v !== undefined) return v
    if (Date.now() > end)
      throw new Error(
        `timed out waiting for ${what}; last etcd console lines: ${uart
          .filter((l) => l.includes('etcd'))
          .slice(-6)
          .join(' | ')}`
      )
    await new Promise((r) => setTimeout(r, 100))
  }
}
const endpoint = (i: number): string => `http://${HOSTS[i]}:2379`
const names = async (i: number): Promise<string[]> => (await memberList(endpoint(i))).map((m) => m.name).sort()
/** Three members, each started (a member added but not started yet has no name). */
const threeStarted = async (): Promise<true | undefined> => {
  const n = await names(0)
  return n.length === 3 && !n.includes('') ? true : undefined
}
const etcdState = async (i: number): Promise<string | undefined> =>
  /STATE\s+(\w+)/.exec((await tc(i, 'service', 'etcd')).stdout)?.[1]

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tpi-talos-etcd-'))
  const map: Record<string, string> = {}
  LAN.forEach((ip, i) => (map[ip] = HOSTS[i]!))
  await writeFile(join(dir, 'map.json'), JSON.stringify(map))
  expect((await talosctl('gen', 'secrets', '--output-file', 'secrets.yaml')).code).toBe(0)
  for (const t of ['controlplane', 'talosconfig'])
    expect(
      (
        await talosctl(
          'gen',
          'config',
          'drill',
          'https://10.9.0.11:6443',
          '--with-secrets',
          'secrets.yaml',
          '--output-types',
          t,
          '--output',
          t === 'talosconfig' ? 'talosconfig' : 'cp.yaml',
          '--install-disk',
          '/dev/mmcblk0'
        )
      ).code
    ).toBe(0)
  for (let i = 0; i < 3; i++) {
    await boot(i)
    const r = await talosctl('apply-config', '--insecure', '--nodes', LAN[i]!, '--file', 'cp.yaml')
    expect(r.code).toBe(0)
  }
  // Installed and rebooted into the configured system.
  await until('three configured nodes', async () => (apis.every((a) => a?.stage === 'running') ? true : undefined))
}, 60_000)
afterAll(async () => {
  for (const a of apis) await a?.stop()
  await stopAllEtcd()
  await rm(dir, { recursive: true, force: true })
})

describe('a Talos control plane with a real etcd', () => {
  test('before bootstrap every control plane waits with etcd Preparing', async () => {
    expect(await Promise.all([0, 1, 2].map(etcdState))).toEqual(['Preparing', 'Preparing', 'Preparing'])
  })

  test('bootstrap starts one member, and the other control planes join it as members', async () => {
    const r = await tc(0, 'bootstrap')
    expect(r).toMatchObject({ code: 0, stdout: '' })
    await until('three members', threeStarted, 150_000)
    expect(await names(0)).toEqual(['talos-23-11', 'talos-23-12', 'talos-23-13'].sort())
    expect(await Promise.all([0, 1, 2].map(etcdState))).toEqual(['Running', 'Running', 'Running'])
    const members = await tc(1, 'etcd', 'members')
    expect(members.stdout.split('\n')[0]).toMatch(/^NODE\s+ID\s+HOSTNAME\s+PEER URLS\s+CLIENT URLS\s+LEARNER$/)
    expect(members.stdout.trim().split('\n')).toHaveLength(4)
  }, 240_000)

  test('etcd snapshot writes a real snapshot and prints what talosctl prints', async () => {
    putSync(endpoint(0), KEY, '{"data":{"value":"kept"}}')
    const r = await tc(1, 'etcd', 'snapshot', 'db.snapshot')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^etcd snapshot saved to "db\.snapshot" \((\d+) bytes\)\nsnapshot info: hash [0-9a-f]{8}, revision \d+, total keys \d+, total size \d+\n$/
    )
    const bytes = Number(/\((\d+) bytes\)/.exec(r.stdout)![1])
    expect((await stat(join(dir, 'db.snapshot'))).size).toBe(bytes)
    expect(((await stat(join(dir, 'db.snapshot'))).mode & 0o777).toString(8)).toBe('600')
  })

  test('reset of EPHEMERAL on every control plane wipes etcd; bootstrap --recover-from rebuilds the member set with the data', async () => {
    putSync(endpoint(0), KEY, '{"data":{"value":"changed after the snapshot"}}')
    const resets = await Promise.all(
      [0, 1, 2].map((i) =>
        tc(i, 'reset', '--graceful=false', '--reboot', '--system-labels-to-wipe', 'EPHEMERAL', '--wait=false')
      )
    )
    expect(resets.map((r) => r.code)).toEqual([0, 0, 0])
    await until('etcd Preparing on all three', async () =>
      (await Promise.all([0, 1, 2].map(etcdState))).every((s) => s === 'Preparing') ? true : undefined
    )
    for (let i = 0; i < 3; i++) await expect(stat(join(dir, `cp${i + 1}`, 'talos', 'etcd'))).rejects.toThrow()
    const r = await tc(0, 'bootstrap', '--recover-from=./db.snapshot')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(
      /^recovering from snapshot "\.\/db\.snapshot": hash [0-9a-f]{8}, revision \d+, total keys \d+, total size \d+\n$/
    )
    // (Read once the others joined: between a member's add and its start the cluster has no quorum, and a
    // synchronous read here would hold the event loop that starts it.)
    await until('three members again', threeStarted, 150_000)
    expect(getPrefixSync(endpoint(0), KEY)).toEqual({ [KEY]: '{"data":{"value":"kept"}}' })
    expect(uart.some((l) => l.startsWith('cp1 recovering etcd from snapshot: hash'))).toBe(true)
  }, 300_000)

  test('a second bootstrap --recover-from is refused: etcd data is there', async () => {
    const r = await tc(0, 'bootstrap', '--recover-from', 'db.snapshot')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('error executing bootstrap: rpc error: code = AlreadyExists')
  })

  test('a graceful reset leaves etcd and shuts the node down; the last member cannot leave', async () => {
    await until('cp3 running', async () => ((await etcdState(2)) === 'Running' ? true : undefined))
    const r = await tc(2, 'reset', '--graceful', '--wait=false')
    expect(r.code).toBe(0)
    expect(await names(0)).toEqual(['talos-23-11', 'talos-23-12'])
    await until('cp3 down', async () => ((await tc(2, 'version')).code !== 0 ? true : undefined))
    expect(uart).toContain('cp3 [talos] shutdown sequence complete, powering off')
    const r2 = await tc(1, 'reset', '--wait=false')
    expect(r2.code).toBe(0)
    const last = await tc(0, 'reset', '--wait=false')
    expect(last.code).toBe(1)
    expect(last.stderr).toContain(
      'error executing reset: rpc error: code = FailedPrecondition desc = failed to leave etcd: this node is the only etcd member'
    )
  }, 60_000)
})
