import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createSshConnector, HostKeyMismatchError } from '../../../src/adapters/ssh/ssh2-connector.js'
import type { RemoteShell, SshTarget } from '../../../src/adapters/ssh/types.js'
import { startSshd, type TestSshd } from './sshd.js'

let sshd: TestSshd
let work: string
const connector = createSshConnector({ connectAttempts: 2, retryDelayMs: 50, keepaliveIntervalMs: 1000 })

const target = (extra: Partial<SshTarget> = {}): SshTarget => ({
  node: 'rk1-1',
  host: '127.0.0.1',
  port: sshd.port,
  user: sshd.user,
  privateKey: sshd.clientKey,
  connectTimeoutMs: 5000,
  ...extra
})

async function withShell<T>(fn: (shell: RemoteShell) => Promise<T>, extra: Partial<SshTarget> = {}): Promise<T> {
  const { shell } = await connector.connect(target(extra))
  try {
    return await fn(shell)
  } finally {
    await shell.close()
  }
}

beforeAll(async () => {
  sshd = await startSshd()
  work = mkdtempSync(join(tmpdir(), 'tpi-ssh-work-'))
})
afterAll(async () => {
  await sshd.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('ssh2 connector against OpenSSH sshd', () => {
  test('reports the host key fingerprint exactly as ssh-keygen -lf prints it', async () => {
    const { shell, hostKeyFingerprint } = await connector.connect(target())
    await shell.close()
    expect(hostKeyFingerprint).toBe(sshd.hostFingerprint)
  })

  test('returns stdout, stderr and the exit code of a failing script', async () => {
    const result = await withShell((s) => s.exec('echo out; echo err >&2; exit 3'))
    expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n', code: 3 })
  })

  test('runs scripts under set -eu: a failing command stops the script', async () => {
    const result = await withShell((s) => s.exec('false\necho never'))
    expect(result.code).toBe(1)
    expect(result.stdout).toBe('')
    const unset = await withShell((s) => s.exec('echo "$TPI_SURELY_UNSET"'))
    expect(unset.code).not.toBe(0)
    expect(unset.stderr).toMatch(/unbound variable/)
  })

  test('feeds stdin to the script so secrets stay off the command line', async () => {
    const result = await withShell((s) =>
      s.exec('token=$(cat); ps -eo args | grep -c "[s]3cr3t-token" || true; echo "len=${#token}"', {
        stdin: 's3cr3t-token'
      })
    )
    expect(result.stdout).toBe('0\nlen=12\n')
  })

  test('kills a command that exceeds its timeout and reports exit 124', async () => {
    const started = Date.now()
    const result = await withShell((s) => s.exec('echo started; sleep 20', { timeoutMs: 1500 }))
    expect(result.code).toBe(124)
    expect(result.stdout).toBe('started\n')
    expect(result.stderr).toMatch(/timed out after 1500 ms on node rk1-1/)
    expect(Date.now() - started).toBeLessThan(10_000)
  })

  test('puts a file over SFTP with mode and owner, atomically, and reads it back', async () => {
    const path = join(work, 'sub', 'config.yaml')
    await withShell(async (s) => {
      await s.put(path, 'token: abc\n', { mode: 0o600, owner: 'root:root' })
      await s.put(path, Buffer.from('token: def\n'), { mode: 0o640 })
      expect((await s.get(path)).toString()).toBe('token: def\n')
    })
    expect(readFileSync(path, 'utf8')).toBe('token: def\n')
    expect(statSync(path).mode & 0o777).toBe(0o640)
    expect(statSync(path).uid).toBe(0)
  })

  test('pushes a local file stream with many writes in flight and the same bytes', async () => {
    const { createReadStream, writeFileSync } = await import('node:fs')
    const { randomBytes } = await import('node:crypto')
    const source = join(work, 'big.bin')
    const bytes = randomBytes(3 * 1024 * 1024 + 17)
    writeFileSync(source, bytes)
    const path = join(work, 'pushed', 'big.bin')
    await withShell((s) => s.put(path, createReadStream(source), { mode: 0o755 }))
    expect(readFileSync(path).equals(bytes)).toBe(true)
    expect(statSync(path).mode & 0o777).toBe(0o755)
  })

  test('refuses a host whose key differs from the pinned fingerprint, naming node and both keys', async () => {
    const pinned = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
    const error = await connector.connect(target({ hostKeyFingerprint: pinned })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(HostKeyMismatchError)
    expect((error as Error).message).toContain('node rk1-1')
    expect((error as Error).message).toContain(pinned)
    expect((error as Error).message).toContain(sshd.hostFingerprint)
  })

  test('accepts the pinned fingerprint when it matches', async () => {
    const result = await withShell((s) => s.exec('echo ok'), { hostKeyFingerprint: sshd.hostFingerprint })
    expect(result.stdout).toBe('ok\n')
  })

  test('fails a command whose connection drops with 255, then reconnects on the next call', async () => {
    const { shell } = await connector.connect(target())
    try {
      const marker = join(work, 'begun')
      const running = shell.exec(`touch ${marker}; sleep 20`)
      for (let i = 0; i < 200 && !existsSync(marker); i++) await new Promise((r) => setTimeout(r, 25))
      for (const pid of sshd.sessionPids()) process.kill(pid, 'SIGKILL')
      const dropped = await running
      expect(dropped.code).toBe(255)
      expect(dropped.stderr).toMatch(/connection to node rk1-1 was lost/)
      const again = await shell.exec('echo back')
      expect(again).toEqual({ stdout: 'back\n', stderr: '', code: 0 })
    } finally {
      await shell.close()
    }
  })

  test('does not retry a refused key and names the node and address', async () => {
    const { execFileSync } = await import('node:child_process')
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'other_key')])
    const other = readFileSync(join(work, 'other_key'), 'utf8')
    const error = (await connector.connect(target({ privateKey: other })).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(
      new RegExp(`node rk1-1: cannot connect over SSH to ${sshd.user}@127.0.0.1:${sshd.port}`)
    )
    expect(error.message).not.toContain('PRIVATE KEY')
  })

  test('probe reads the SSH banner and gives undefined where nothing listens', async () => {
    expect(await connector.probe('127.0.0.1', sshd.port, 2000)).toMatch(/^SSH-2\.0-OpenSSH/)
    expect(await connector.probe('127.0.0.1', 1, 500)).toBeUndefined()
  })
})
