// SFTP transfers against a real OpenSSH sshd end with an error when the connection drops or stalls,
// within their time-out (a floor plus a share per byte), instead of hanging; a partial upload's
// temporary file is removed at the next contact.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { createSshConnector, type SshConnectorOptions } from '../../../src/adapters/ssh/ssh2-connector.js'
import type { RemoteShell } from '../../../src/adapters/ssh/types.js'
import type { TpiError } from '../../../src/core/errors.js'
import { startSshd, type TestSshd } from './sshd.js'

let sshd: TestSshd
let work: string
beforeAll(async () => {
  sshd = await startSshd()
  work = mkdtempSync(join(tmpdir(), 'tpi-ssh-bounds-'))
})
afterAll(async () => {
  await sshd.stop()
  rmSync(work, { recursive: true, force: true })
})

async function shellWith(options: SshConnectorOptions): Promise<RemoteShell> {
  const connector = createSshConnector({ connectAttempts: 2, retryDelayMs: 50, ...options })
  const { shell } = await connector.connect({
    node: 'rk1-1',
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    privateKey: sshd.clientKey,
    connectTimeoutMs: 5000
  })
  return shell
}

/** A slow, endless upload source: 64 KiB every 5 ms, so the transfer is surely in flight. */
function trickle(): Readable {
  const chunk = Buffer.alloc(64 * 1024, 7)
  let timer: NodeJS.Timeout | undefined
  return new Readable({
    read() {
      timer = setTimeout(() => this.push(chunk), 5)
    },
    destroy(error, callback) {
      clearTimeout(timer)
      callback(error)
    }
  })
}

const until = async (ok: () => boolean, ms = 5000): Promise<void> => {
  for (const end = Date.now() + ms; !ok() && Date.now() < end;) await new Promise((r) => setTimeout(r, 10))
  if (!ok()) throw new Error('condition not met in time')
}
const partials = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((f) => f.includes('.tpi-')) : [])
const signal = (sig: NodeJS.Signals): void => sshd.sessionPids().forEach((pid) => process.kill(pid, sig))
const timed = async <T>(p: Promise<T>): Promise<{ error: TpiError; ms: number }> => {
  const started = Date.now()
  const error = (await p.then(
    () => new Error('the transfer did not fail'),
    (e: unknown) => e
  )) as TpiError
  return { error, ms: Date.now() - started }
}

describe('an SFTP upload (put)', () => {
  test('whose connection drops ends with an error at once; its temp file is removed at the next contact', async () => {
    const shell = await shellWith({ keepaliveIntervalMs: 60_000 })
    const dir = join(work, 'put-drop')
    try {
      const put = shell.put(join(dir, 'images.tar'), trickle(), { mode: 0o644 })
      await until(() => partials(dir).length === 1)
      const started = Date.now()
      signal('SIGKILL')
      const { error } = await timed(put)
      expect(Date.now() - started).toBeLessThan(2000)
      expect(error).toMatchObject({ code: 'SshConnectionLost' })
      expect(error.message).toMatch(
        /^node rk1-1: write .*images\.tar\.tpi-[0-9a-f]{8}: the SSH connection closed during the transfer$/
      )
      expect(partials(dir)).toHaveLength(1)
      expect((await shell.exec('echo back')).stdout).toBe('back\n')
      expect(partials(dir)).toEqual([])
    } finally {
      await shell.close()
    }
  })

  test('whose peer stops answering (no close) ends with a time-out: the floor plus a share per byte', async () => {
    const shell = await shellWith({ keepaliveIntervalMs: 60_000, transferFloorMs: 800, transferBytesPerSec: 64 << 20 })
    const dir = join(work, 'put-stall')
    try {
      const put = shell.put(join(dir, 'images.tar'), trickle(), { mode: 0o644 })
      await until(() => partials(dir).length === 1)
      signal('SIGSTOP')
      const { error, ms } = await timed(put)
      signal('SIGCONT')
      expect(error).toMatchObject({ code: 'SshTransferTimeout' })
      expect(error.message).toMatch(
        /: not finished after \d+\.\d s \(0\.8 s plus 1 s per 65536 KiB\); the connection was closed$/
      )
      expect(ms).toBeLessThan(3000)
      expect((await shell.exec('echo back')).stdout).toBe('back\n')
      expect(partials(dir)).toEqual([])
    } finally {
      await shell.close()
    }
  })

  test('a new process cleans what an earlier one left for the same path', async () => {
    const dir = join(work, 'put-stale')
    rmSync(dir, { recursive: true, force: true })
    const { mkdirSync } = await import('node:fs')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'k3s.tpi-0badf00d'), 'partial')
    const shell = await shellWith({})
    try {
      await shell.put(join(dir, 'k3s'), 'binary', { mode: 0o755 })
      expect(readdirSync(dir)).toEqual(['k3s'])
    } finally {
      await shell.close()
    }
  })
})

describe('an SFTP download (get)', () => {
  const big = (): string => {
    const path = join(work, 'big.bin')
    if (!existsSync(path)) writeFileSync(path, Buffer.alloc(64 << 20, 1))
    return path
  }

  test('whose connection drops ends with an error at once', async () => {
    const shell = await shellWith({ keepaliveIntervalMs: 60_000 })
    try {
      const path = big()
      await shell.get(join(work, 'put-stale', 'k3s')) // the SFTP session is open: the drop hits the read
      const get = shell.get(path)
      await new Promise((r) => setTimeout(r, 20))
      signal('SIGSTOP') // hold the transfer mid-way, then drop the connection
      signal('SIGKILL')
      const { error, ms } = await timed(get)
      expect(error).toMatchObject({ code: 'SshConnectionLost' })
      expect(error.message).toMatch(
        /^node rk1-1: (read|stat) \S*big\.bin: the SSH connection closed during the transfer$/
      )
      expect(ms).toBeLessThan(2000)
      expect((await shell.get(join(work, 'put-stale', 'k3s'))).toString()).toBe('binary')
    } finally {
      await shell.close()
    }
  })

  test('whose peer stops answering ends with a time-out proportional to the size', async () => {
    const shell = await shellWith({ keepaliveIntervalMs: 60_000, transferFloorMs: 500, transferBytesPerSec: 64 << 20 })
    try {
      const path = big()
      await shell.exec('true')
      signal('SIGSTOP')
      const { error, ms } = await timed(shell.get(path))
      signal('SIGCONT')
      expect(error).toMatchObject({ code: 'SshTransferTimeout' })
      expect(ms).toBeLessThan(2500)
      expect((await shell.exec('echo back')).stdout).toBe('back\n')
    } finally {
      await shell.close()
    }
  })
})
