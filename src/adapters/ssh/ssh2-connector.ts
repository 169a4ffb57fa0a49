// The SSH adapter over ssh2: key auth, a pinned host key (refused when it changed), keepalive, a
// per-command timeout and a transparent reconnect on the next call after a dropped connection.
// Scripts run under `bash -c` with `set -eu` prepended; secrets only ever travel on stdin or in files.
import { connect as tcpConnect } from 'node:net'
import { Ssh2Shell } from './ssh2-shell.js'
import { connectWithRetry, defaultSshOptions, type ResolvedSshOptions, type SshConnectorOptions } from './ssh2-open.js'
import type { RemoteShell, SshConnector, SshTarget } from './types.js'

export { HostKeyMismatchError, type SshConnectorOptions } from './ssh2-open.js'

export function createSshConnector(options: SshConnectorOptions = {}): SshConnector {
  const resolved: ResolvedSshOptions = { ...defaultSshOptions, ...options }
  return {
    async connect(target: SshTarget): Promise<{ shell: RemoteShell; hostKeyFingerprint: string }> {
      const { client, fingerprint } = await connectWithRetry(target, target.hostKeyFingerprint, resolved)
      const shell = new Ssh2Shell(target, fingerprint, client, resolved)
      return { shell, hostKeyFingerprint: fingerprint }
    },
    probe
  }
}

/** Reads the SSH identification line (`SSH-2.0-...`), or undefined when nothing answers in time. */
export function probe(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port })
    let buffer = ''
    const done = (value: string | undefined): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve(value)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      const line = buffer.split('\n').find((l, i, all) => i < all.length - 1 && l.startsWith('SSH-'))
      if (line !== undefined) done(line.replace(/\r$/, ''))
      else if (buffer.length > 8192) done(undefined)
    })
    socket.on('error', () => done(undefined))
    socket.on('close', () => done(undefined))
  })
}
