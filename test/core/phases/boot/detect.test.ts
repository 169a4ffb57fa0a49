import { describe, expect, test } from '@jest/globals'
import { createServer } from 'node:net'
import type { Deps } from '../../../../src/core/deps.js'
import { PhaseError } from '../../../../src/core/errors.js'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'
import { tcpOpen } from '../../../../src/adapters/net/tcp-probe.js'
import type { Cluster } from '../../../../src/core/config/model.js'
import { k3sKind } from '../../../../src/core/kinds/k3s/kind.js'
import { talosKind } from '../../../../src/core/kinds/talos/kind.js'
import { newUartText, waitForBoot } from '../../../../src/core/phases/boot/detect.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { MemoryBmc } from '../flash/memory-bmc.js'

// The kind reads only the SSH block (K3s) of the cluster when probing.
const armbian = { kind: k3sKind, cluster: { kind: 'k3s', ssh: { port: 22, user: 'root' } } as unknown as Cluster }
const talos = { kind: talosKind, cluster: { kind: 'talos' } as unknown as Cluster }

const deps = (probe: () => string | undefined, mapped: string[] = [], toPort?: number): Deps =>
  ({
    net: {
      map: (host: string, port: number) => (mapped.push(`${host}:${port}`), { host: '127.0.0.1', port: toPort ?? port })
    },
    ssh: {
      probe: async () => probe(),
      connect: async () => {
        throw new Error('unused')
      }
    },
    ...plainAdapters(createLocalExec()),
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
  }) as unknown as Deps

describe('boot detection', () => {
  test('only bytes after the snapshot count, also when the ring rolled', () => {
    expect(newUartText('old login: ', 'old login: \nboot\n')).toBe('\nboot\n')
    const before = 'x'.repeat(600) + 'TAIL-OF-OLD-BOOT login: '
    const rolled = before.slice(300) + 'new kernel\n'
    expect(newUartText(before, rolled)).toBe('new kernel\n')
  })

  test('the SSH banner at the mapped address is the boot; the console is not read', async () => {
    const bmc = new MemoryBmc()
    let reads = 0
    bmc.readUart = async () => {
      reads++
      return ''
    }
    const mapped: string[] = []
    let n = 0
    const r = await waitForBoot({
      node: 'rk1-a',
      slot: 1,
      ip: '10.10.88.73',
      ...armbian,
      bmc,
      deps: deps(() => (++n > 2 ? 'SSH-2.0-OpenSSH_9.2' : undefined), mapped),
      snapshot: '',
      timeoutMs: 2000,
      pollMs: 5
    })
    expect(r.line).toBe('SSH banner "SSH-2.0-OpenSSH_9.2" on 10.10.88.73:22')
    expect(mapped).toContain('10.10.88.73:22')
    expect(reads).toBe(0)
  })

  test("a node that never boots fails naming the node and showing this boot's console lines", async () => {
    const bmc = new MemoryBmc()
    bmc.uart[3] = 'previous boot login: '
    setTimeout(() => (bmc.uart[3] += '\nU-Boot 2024.01\nStarting kernel ...\nKernel panic - not syncing: VFS'), 5)
    const e = (await waitForBoot({
      node: 'rk1-c',
      slot: 3,
      ip: '10.10.88.75',
      ...armbian,
      bmc,
      deps: deps(() => undefined),
      snapshot: bmc.uart[3],
      timeoutMs: 80,
      pollMs: 5
    }).catch((x: unknown) => x)) as PhaseError
    expect(e).toBeInstanceOf(PhaseError)
    expect(e.message).toMatch(
      /^node rk1-c: boot failed: SSH on 10\.10\.88\.75:22 did not answer within boot_timeout 0 s and slot 3's console shows no "login:" line; last console lines:\n/
    )
    expect(e.message).toContain('Kernel panic - not syncing: VFS')
    expect(e.message).not.toContain('previous boot login')
    expect(e.message).toContain('To resume:')
  })

  test('a failed boot while the BMC is busy (uploading another node) waits for it, then reads the console', async () => {
    const bmc = new MemoryBmc()
    let busyUntil = Date.now() + 60
    bmc.busy = () => Date.now() < busyUntil
    let readWhileBusy = false
    bmc.readUart = async () => {
      readWhileBusy ||= bmc.busy!()
      return 'rk1-d login: '
    }
    const e = (await waitForBoot({
      node: 'rk1-d',
      slot: 4,
      ip: '10.10.88.76',
      ...armbian,
      bmc,
      deps: deps(() => undefined),
      snapshot: '',
      timeoutMs: 20,
      pollMs: 5
    }).catch((x: unknown) => x)) as PhaseError
    expect(readWhileBusy).toBe(false)
    expect(e.message).toMatch(/console shows "rk1-d login:" but SSH on 10\.10\.88\.76:22 did not answer/)
    busyUntil = Date.now() + 10_000
    const e2 = (await waitForBoot({
      node: 'rk1-d',
      slot: 4,
      ip: '10.10.88.76',
      ...armbian,
      bmc,
      deps: deps(() => undefined),
      snapshot: '',
      timeoutMs: 20,
      pollMs: 5,
      consoleWaitMs: 30
    }).catch((x: unknown) => x)) as PhaseError
    expect(e2.message).toMatch(/console could not be read \(the BMC stayed busy/)
    expect(readWhileBusy).toBe(false)
  })

  test('a slow boot looks at the console once, only while the BMC is idle, and says what it shows', async () => {
    const bmc = new MemoryBmc()
    bmc.uart[2] = 'Starting kernel ...\n[   12.5] systemd[1]: Started Armbian first run.\n'
    const reporter = new MemoryReporter()
    // The node answers only once the console was read: the look at half the time-out happened first,
    // whatever the machine's load (a fixed probe count raced the 100 ms time-out on a busy CI machine).
    let uartReads = 0
    const readUart = bmc.readUart.bind(bmc)
    bmc.readUart = async (slot) => {
      uartReads++
      return readUart(slot)
    }
    await waitForBoot({
      node: 'rk1-b',
      slot: 2,
      ip: '10.10.88.74',
      ...armbian,
      bmc,
      deps: deps(() => (uartReads > 0 ? 'SSH-2.0-x' : undefined)),
      snapshot: '',
      timeoutMs: 2000,
      pollMs: 20,
      reporter
    })
    expect(uartReads).toBe(1)
    expect(reporter.text()).toMatch(
      /rk1-b: not answering yet after \d+ s; console: \[   12\.5\] systemd\[1\]: Started Armbian first run\./
    )
  })

  test('Talos: the API port 50000 through the address map', async () => {
    const server = createServer((sock) => sock.end())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    try {
      expect(await tcpOpen('127.0.0.1', port, 500)).toBe(true)
      const bmc = new MemoryBmc()
      bmc.uart[2] =
        '[talos] task start\n[    9.851478] [talos] entering maintenance service {"component": "controller-runtime", "controller": "config.AcquireController"}\n'
      const mapped: string[] = []
      const r = await waitForBoot({
        node: 't2',
        slot: 2,
        ip: '10.0.0.2',
        ...talos,
        bmc,
        deps: deps(() => undefined, mapped, port),
        snapshot: '',
        timeoutMs: 1000,
        pollMs: 5
      })
      expect(r.line).toBe('Talos API on 10.0.0.2:50000')
      expect(mapped).toEqual(['10.0.0.2:50000'])
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})
