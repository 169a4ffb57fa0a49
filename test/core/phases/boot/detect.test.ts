import { describe, expect, test } from '@jest/globals'
import { createServer } from 'node:net'
import { identityAddressMap } from '../../../../src/adapters/net/types.js'
import type { Deps } from '../../../../src/core/deps.js'
import { PhaseError } from '../../../../src/core/errors.js'
import { newUartText, tcpOpen, waitForBoot } from '../../../../src/core/phases/boot/detect.js'
import { MemoryBmc } from '../flash/memory-bmc.js'

const deps = (probe: () => string | undefined, mapped: string[] = [], toPort?: number): Deps =>
  ({
    net: { map: (host: string, port: number) => (mapped.push(`${host}:${port}`), { host: '127.0.0.1', port: toPort ?? port }) },
    ssh: { probe: async () => probe(), connect: async () => { throw new Error('unused') } },
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
  }) as unknown as Deps

describe('boot detection', () => {
  test('only bytes after the snapshot count, also when the ring rolled', () => {
    expect(newUartText('old login: ', 'old login: \nboot\n')).toBe('\nboot\n')
    const before = 'x'.repeat(600) + 'TAIL-OF-OLD-BOOT login: '
    const rolled = before.slice(300) + 'new kernel\n'
    expect(newUartText(before, rolled)).toBe('new kernel\n')
  })

  test('an old login: in the ring does not count; a new one plus the SSH banner does', async () => {
    const bmc = new MemoryBmc()
    bmc.uart[1] = 'rk1 login: '
    const mapped: string[] = []
    let n = 0
    setTimeout(() => (bmc.uart[1] += '\nArmbian 25.2 rk1 ttyS9\nrk1-a login: '), 30)
    const r = await waitForBoot({ node: 'rk1-a', slot: 1, ip: '10.10.88.73', os: 'armbian', sshPort: 22, bmc, deps: deps(() => (++n > 1 ? 'SSH-2.0-OpenSSH_9.2' : undefined), mapped), snapshot: bmc.uart[1], timeoutMs: 2000, pollMs: 5 })
    expect(r.line).toBe('rk1-a login:')
    expect(mapped).toContain('10.10.88.73:22')
  })

  test('a node that never boots fails naming the node and showing the last console lines', async () => {
    const bmc = new MemoryBmc()
    bmc.uart[3] = 'previous boot login: '
    setTimeout(() => (bmc.uart[3] += '\nU-Boot 2024.01\nStarting kernel ...\nKernel panic - not syncing: VFS'), 5)
    const e = (await waitForBoot({ node: 'rk1-c', slot: 3, ip: '10.10.88.75', os: 'armbian', sshPort: 22, bmc, deps: deps(() => undefined), snapshot: bmc.uart[3], timeoutMs: 80, pollMs: 5 }).catch((x: unknown) => x)) as PhaseError
    expect(e).toBeInstanceOf(PhaseError)
    expect(e.message).toContain('node rk1-c: boot failed')
    expect(e.message).toContain('Kernel panic - not syncing: VFS')
    expect(e.message).not.toContain('previous boot login')
    expect(e.message).toContain('To resume:')
  })

  test('Talos: maintenance line, then the API port 50000 through the address map', async () => {
    const server = createServer((sock) => sock.end())
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    try {
      expect(await tcpOpen('127.0.0.1', port, 500)).toBe(true)
      const bmc = new MemoryBmc()
      bmc.uart[2] = '[talos] task start\n[    9.851478] [talos] entering maintenance service {"component": "controller-runtime", "controller": "config.AcquireController"}\n'
      const mapped: string[] = []
      const r = await waitForBoot({ node: 't2', slot: 2, ip: '10.0.0.2', os: 'talos', sshPort: 22, bmc, deps: deps(() => undefined, mapped, port), snapshot: '', timeoutMs: 1000, pollMs: 5 })
      expect(r.line).toContain('entering maintenance service')
      expect(mapped).toEqual(['10.0.0.2:50000'])
    } finally {
      await new Promise<void>((r) => server.close(() => r()))
    }
  })
})
