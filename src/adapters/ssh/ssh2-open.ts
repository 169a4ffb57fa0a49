// Opening an ssh2 connection: key auth, the host key checked against a pinned fingerprint, and
// retries for transient failures only (never for a refused key or a changed host key).
import { Client, type ConnectConfig } from 'ssh2'
import { TpiError } from '../../core/errors.js'
import { fingerprintOfKeyBlob } from './fingerprint.js'
import type { SshTarget } from './types.js'

export interface SshConnectorOptions {
  /** Keepalive probe interval; a dead peer is noticed after interval * countMax. */
  keepaliveIntervalMs?: number
  keepaliveCountMax?: number
  /** Default per-command timeout when the caller gives none. */
  commandTimeoutMs?: number
  /** Connection attempts for transient failures (refused, reset, timeout). */
  connectAttempts?: number
  retryDelayMs?: number
  sleep?: (ms: number) => Promise<void>
  /** An SFTP transfer ends with an error after this floor plus one second per transferBytesPerSec bytes. */
  transferFloorMs?: number
  transferBytesPerSec?: number
  /** Called once per command a channel is opened for (the run's counts). */
  onExec?: (node: string) => void
}

export interface ResolvedSshOptions {
  keepaliveIntervalMs: number
  keepaliveCountMax: number
  commandTimeoutMs: number
  connectAttempts: number
  retryDelayMs: number
  sleep: (ms: number) => Promise<void>
  transferFloorMs: number
  transferBytesPerSec: number
  onExec?: (node: string) => void
}

export const defaultSshOptions: ResolvedSshOptions = {
  keepaliveIntervalMs: 10_000,
  keepaliveCountMax: 3,
  commandTimeoutMs: 600_000,
  connectAttempts: 3,
  retryDelayMs: 2_000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  // A node on the board's gigabit switch moves 30+ MiB/s; 1 MiB/s is a link that is as good as dead.
  transferFloorMs: 60_000,
  transferBytesPerSec: 1 << 20
}

/** Thrown when a node presents another host key than the pinned one. */
export class HostKeyMismatchError extends TpiError {
  constructor(
    readonly node: string,
    readonly expected: string,
    readonly seen: string
  ) {
    super(
      'HostKeyMismatch',
      `node ${node}: SSH host key changed: expected ${expected}, the node presented ${seen}. ` +
        'If the node was reflashed, re-run with reflash for it; otherwise treat this as a possible attack'
    )
  }
}

function transient(error: Error & { code?: string; level?: string }): boolean {
  if (error instanceof HostKeyMismatchError) return false
  if (error.level === 'client-authentication') return false
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE'].includes(error.code ?? '') ||
    /timed out|handshake|ended/i.test(error.message)
  )
}

/** One connection attempt; resolves with the ready client and the fingerprint it saw. */
export function openClient(
  target: SshTarget,
  expected: string | undefined,
  options: ResolvedSshOptions
): Promise<{ client: Client; fingerprint: string }> {
  return new Promise((resolve, reject) => {
    const client = new Client()
    let seen = ''
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: target.connectTimeoutMs ?? 20_000,
      keepaliveInterval: options.keepaliveIntervalMs,
      keepaliveCountMax: options.keepaliveCountMax,
      hostVerifier: (key: Buffer) => {
        seen = fingerprintOfKeyBlob(key)
        return expected === undefined || seen === expected
      }
    }
    client.once('ready', () => {
      client.removeAllListeners('error')
      client.on('error', () => {}) // later errors surface as 'close' and a failed command
      resolve({ client, fingerprint: seen })
    })
    client.once('error', (error: Error & { level?: string }) => {
      client.end()
      if (expected !== undefined && seen && seen !== expected)
        reject(new HostKeyMismatchError(target.node, expected, seen))
      else reject(error)
    })
    try {
      client.connect(config)
    } catch (error) {
      // ssh2 throws synchronously on an unparsable key; its message never contains the key itself.
      reject(
        new TpiError(
          'SshKeyInvalid',
          `node ${target.node}: the SSH private key cannot be used: ${(error as Error).message}`
        )
      )
    }
  })
}

/** Connects with retries for transient failures; the final error names the node and address. */
export async function connectWithRetry(
  target: SshTarget,
  expected: string | undefined,
  options: ResolvedSshOptions
): Promise<{ client: Client; fingerprint: string }> {
  let last: Error | undefined
  for (let attempt = 1; attempt <= options.connectAttempts; attempt++) {
    try {
      return await openClient(target, expected, options)
    } catch (error) {
      last = error as Error
      if (error instanceof TpiError || !transient(last)) break
      if (attempt < options.connectAttempts) await options.sleep(options.retryDelayMs)
    }
  }
  if (last instanceof TpiError) throw last
  throw new TpiError(
    'SshConnectFailed',
    `node ${target.node}: cannot connect over SSH to ${target.user}@${target.host}:${target.port}: ${last?.message ?? 'unknown error'}`,
    { cause: last }
  )
}
