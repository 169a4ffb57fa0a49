// The order of the Talos restore and scale-down procedures, against a scripted talosctl that keeps a small
// model of three control planes and a worker (what `service etcd`, `reset`, `bootstrap --recover-from` and
// `version` answer). The lab runs the same procedures against real etcd members in
// test/lab/talos/etcd-recovery.test.ts and through dist/ in test/e2e/lifecycle-talos.test.ts; here each
// call is recorded so the order and the refusals can be asserted exactly.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Talosctl } from '../../../../../src/adapters/talosctl/types.js'
import type { Deps } from '../../../../../src/core/deps.js'
import { removeTalosNode, wipeTalosNode } from '../../../../../src/core/kinds/talos/lifecycle/remove.js'
import { restoreTalos } from '../../../../../src/core/kinds/talos/lifecycle/restore.js'
import type { BackupManifest } from '../../../../../src/core/lifecycle/backup/manifest.js'
import type { PhaseContext } from '../../../../../src/core/phases/types.js'
import type { MemoryReporter } from '../../../../../src/core/reporter.js'
import { testPhaseContext, testSettings } from '../../../context.js'
import { talosCluster, threeCps } from '../fixtures.js'

const cluster = talosCluster(
  'boot_timeout: 5\nbootstrap_timeout: 5',
  `${threeCps}\nworkers:\n  - { node: 4, ip: 10.10.88.76, hostname: talos-w1 }`
)
const IPS = ['10.10.88.73', '10.10.88.74', '10.10.88.75', '10.10.88.76']

interface Node {
  etcd: 'Running' | 'Preparing' | 'Failed' | 'none'
  up: boolean
  /** After a reset: polls left until the node answers with its new state. */
  rebooting: number
  /** Takes a reset but keeps its etcd running (never Preparing). */
  stuck?: boolean
}

let dir: string
let calls: string[]
let nodes: Record<string, Node>

const flag = (args: string[], name: string): string | undefined =>
  args.includes(name) ? args[args.indexOf(name) + 1] : args.find((a) => a.startsWith(`${name}=`))?.split('=')[1]

/** A talosctl that answers from `nodes` and records every node call as "<verb> <ip> [details]". */
const fake: Talosctl = {
  async run(args) {
    if (args[0] === 'gen') {
      await writeFile(flag(args, '--output')!, 'context: lab\ncontexts:\n  lab:\n    ca: x\n')
      return { code: 0, stdout: '', stderr: '' }
    }
    const ip = flag(args, '--nodes')!
    const n = nodes[ip]!
    const down = {
      code: 1,
      stdout: '',
      stderr: `rpc error: code = Unavailable desc = connection error: connection refused`
    }
    if (n.rebooting > 0) {
      n.rebooting--
      return down
    }
    if (!n.up) return down
    if (args[0] === 'service')
      return { code: 0, stdout: `NODE     ${ip}\nID       etcd\nSTATE    ${n.etcd}\n`, stderr: '' }
    if (args[0] === 'version') return { code: 0, stdout: 'Server:\n\tTag:         v1.9.0\n', stderr: '' }
    if (args[0] === 'health') {
      calls.push(`health ${ip}`)
      return { code: 0, stdout: 'waiting for etcd to be healthy: OK\n', stderr: '' }
    }
    if (args[0] === 'reset') {
      const labels = args.filter((_, i) => args[i - 1] === '--system-labels-to-wipe')
      calls.push(
        `reset ${ip} ${args.filter((a) => a.startsWith('--graceful') || a === '--reboot').join(' ')} ${labels.join(',')}`.trim()
      )
      if (args.includes('--graceful=true') && ip === IPS[0])
        return {
          code: 1,
          stdout: '',
          stderr: 'error executing reset: rpc error: code = FailedPrecondition desc = failed to leave etcd'
        }
      n.rebooting = 2
      if (args.includes('--reboot') && !n.stuck) n.etcd = n.etcd === 'none' ? 'none' : 'Preparing'
      else n.up = false
      return { code: 0, stdout: '', stderr: '' }
    }
    if (args[0] === 'bootstrap') {
      const from = flag(args, '--recover-from')!
      calls.push(`recover ${ip} ${(await readFile(from, 'utf8')).trim()}`)
      if (n.etcd !== 'Preparing')
        return {
          code: 1,
          stdout: '',
          stderr: 'rpc error: code = AlreadyExists desc = etcd data directory is not empty'
        }
      for (const x of IPS.slice(0, 3)) nodes[x]!.etcd = 'Running'
      return {
        code: 0,
        stdout: `recovering from snapshot "${from}": hash 0badc0de, revision 7, total keys 9, total size 20480\n`,
        stderr: ''
      }
    }
    throw new Error(`unexpected talosctl ${args.join(' ')}`)
  }
}

async function context(): Promise<PhaseContext & { reporter: MemoryReporter }> {
  const deps = {
    downloads: { fetch: async () => ({ path: join(dir, 'bin'), sha256: '', cached: true }) },
    talosctl: () => fake,
    sleep: (ms: number) => new Promise((r) => setTimeout(r, Math.min(ms, 20))),
    exec: async () => ({ code: 0, stdout: 'node "talos-w1" deleted\n', stderr: '' })
  } as unknown as Deps
  const settings = testSettings(dir, {
    command: 'restore',
    secrets: { artifactRecipients: [], talosSecrets: 'cluster:\n  id: abc\n' }
  })
  return testPhaseContext(cluster, deps, settings)
}

const manifest = {
  name: 'lab-42',
  parts: [
    { path: 'etcd/snapshot.db', kind: 'etcd-snapshot' },
    { path: 'talos/secrets.yaml', kind: 'talos-secrets' }
  ]
} as BackupManifest
const files = new Map([
  ['etcd/snapshot.db', Buffer.from('SNAPSHOT')],
  ['talos/secrets.yaml', Buffer.from('cluster:\n  id: abc\n')]
])

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tpi-talos-lifecycle-'))
})
afterAll(() => rm(dir, { recursive: true, force: true }))

describe('Talos restore', () => {
  test('resets EPHEMERAL on every control plane first, then recovers on the first only, then waits for health', async () => {
    calls = []
    nodes = Object.fromEntries(IPS.map((ip, i) => [ip, { etcd: i < 3 ? 'Running' : 'none', up: true, rebooting: 0 }]))
    const ctx = await context()
    const steps = await restoreTalos(ctx, manifest, files)
    expect(calls).toEqual([
      'reset 10.10.88.73 --graceful=false --reboot EPHEMERAL',
      'reset 10.10.88.74 --graceful=false --reboot EPHEMERAL',
      'reset 10.10.88.75 --graceful=false --reboot EPHEMERAL',
      'recover 10.10.88.73 SNAPSHOT',
      'health 10.10.88.73'
    ])
    expect(steps).toEqual([
      'talos-cp1: EPHEMERAL reset, etcd Preparing',
      'talos-cp2: EPHEMERAL reset, etcd Preparing',
      'talos-cp3: EPHEMERAL reset, etcd Preparing',
      'talos-cp1: etcd recovered from the lab-42 snapshot (hash 0badc0de, revision 7, total keys 9, total size 20480)',
      'cluster healthy: 3 control plane(s) in etcd, 4 node(s) ready'
    ])
    expect(ctx.state.cluster().talosBootstrapped).toBe('10.10.88.73')
  })

  test('a re-run after a failure resets only where etcd still runs or failed; the snapshot file does not stay', async () => {
    calls = []
    nodes = Object.fromEntries(
      IPS.map((ip, i) => [
        ip,
        { etcd: (['Preparing', 'Failed', 'Preparing', 'none'] as const)[i]!, up: true, rebooting: 0 }
      ])
    )
    await restoreTalos(await context(), manifest, files)
    expect(calls.filter((c) => c.startsWith('reset'))).toEqual([
      'reset 10.10.88.74 --graceful=false --reboot EPHEMERAL'
    ])
    await expect(readFile(join(dir, 'tmp', 'talos-lab', 'recover.snapshot'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  test('a backup under another PKI than the talos-secrets input is refused before any node call', async () => {
    calls = []
    nodes = Object.fromEntries(IPS.map((ip) => [ip, { etcd: 'Running', up: true, rebooting: 0 }]))
    const other = new Map(files)
    other.set('talos/secrets.yaml', Buffer.from('cluster:\n  id: another\n'))
    await expect(restoreTalos(await context(), manifest, other)).rejects.toMatchObject({
      message: expect.stringContaining(
        "restore refused before any change: the backup's secrets bundle (talos/secrets.yaml) is not the talos-secrets input"
      )
    })
    expect(calls).toEqual([])
  })

  test('a control plane that never reaches Preparing stops the restore before the bootstrap, naming it (5 s bound)', async () => {
    calls = []
    nodes = Object.fromEntries(IPS.map((ip) => [ip, { etcd: 'Running', up: true, rebooting: 0 }]))
    nodes[IPS[2]!]!.stuck = true
    await expect(restoreTalos(await context(), manifest, files)).rejects.toMatchObject({
      node: 'talos-cp3',
      message: expect.stringContaining('etcd on 10.10.88.75 did not reach Preparing within boot_timeout 5 s')
    })
    expect(calls.some((c) => c.startsWith('recover'))).toBe(false)
  }, 15_000)
})

describe('Talos scale down and wipe', () => {
  test('a worker is reset gracefully (no reboot), waited for until its API is gone, then its Node is deleted', async () => {
    calls = []
    nodes = Object.fromEntries(IPS.map((ip) => [ip, { etcd: 'none', up: true, rebooting: 0 }]))
    const ctx = await context()
    await removeTalosNode(ctx, { ...cluster.nodes[3]!, id: 'talos-w1' })
    expect(calls).toEqual(['reset 10.10.88.76 --graceful=true'])
    expect(nodes[IPS[3]!]!.up).toBe(false)
  })

  test('a control plane that cannot leave etcd is not removed: the error says how to go on', async () => {
    calls = []
    nodes = Object.fromEntries(IPS.map((ip) => [ip, { etcd: 'Running', up: true, rebooting: 0 }]))
    await expect(removeTalosNode(await context(), cluster.nodes[0]!)).rejects.toMatchObject({
      node: 'talos-cp1',
      message: expect.stringContaining(
        'talosctl reset --graceful on 10.10.88.73 failed (exit 1): error executing reset'
      )
    })
  })

  test('wipe before destroy: a reset of every partition without the graceful part, the node shut down', async () => {
    calls = []
    nodes = Object.fromEntries(IPS.map((ip) => [ip, { etcd: 'Running', up: true, rebooting: 0 }]))
    expect(await wipeTalosNode(await context(), cluster.nodes[0]!)).toBe(
      'Talos reset (every partition wiped), shut down'
    )
    expect(calls).toEqual(['reset 10.10.88.73 --graceful=false'])
  })
})
