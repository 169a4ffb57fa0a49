// One node's remote shell over an ssh2 client. A dropped connection fails the command in flight with
// exit code 255 (like the ssh client) and the next call reconnects, pinned to the host key seen first.
import { randomBytes } from 'node:crypto'
import { ReadStream } from 'node:fs'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2'
import { TpiError } from '../../core/errors.js'
import { shellQuote } from './fingerprint.js'
import { connectWithRetry, type ResolvedSshOptions } from './ssh2-open.js'
import type { ExecOptions, ExecResult, RemoteShell, SshTarget } from './types.js'

/** Exit code of a command the timeout killed (as timeout(1) reports it). */
export const TIMEOUT_EXIT = 124
/** Exit code of a command whose connection dropped (as the ssh client reports it). */
export const CONNECTION_LOST_EXIT = 255
/** bash -c takes one argument; Linux limits a single argument to 128 KiB. */
const MAX_SCRIPT_BYTES = 120 * 1024

export class Ssh2Shell implements RemoteShell {
  private client: Client | undefined
  private reconnecting: Promise<Client> | undefined
  private sftp: Promise<SFTPWrapper> | undefined
  private closed = false

  constructor(
    private readonly target: SshTarget,
    private readonly fingerprint: string,
    client: Client,
    private readonly options: ResolvedSshOptions
  ) {
    this.adopt(client)
  }

  private adopt(client: Client): void {
    this.client = client
    this.sftp = undefined
    client.once('close', () => {
      if (this.client === client) this.client = undefined
    })
  }

  private async live(): Promise<Client> {
    if (this.closed) throw new TpiError('SshClosed', `node ${this.target.node}: the SSH session was already closed`)
    if (this.client) return this.client
    this.reconnecting ??= connectWithRetry(this.target, this.fingerprint, this.options)
      .then(({ client }) => {
        this.adopt(client)
        return client
      })
      .finally(() => {
        this.reconnecting = undefined
      })
    return this.reconnecting
  }

  async exec(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const body = `set -eu\n${script}`
    if (Buffer.byteLength(body) > MAX_SCRIPT_BYTES)
      throw new TpiError('ScriptTooLarge', `node ${this.target.node}: script of ${Buffer.byteLength(body)} bytes exceeds ${MAX_SCRIPT_BYTES}; push it as a file instead`)
    const client = await this.live()
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      // sshd leaves a command running when its channel closes, so the node enforces the limit too.
      client.exec(`timeout -k 2 ${Math.ceil(timeoutMs / 1000) + 2} bash -c ${shellQuote(body)}`, (error, ch) => (error ? reject(this.wrap(error)) : resolve(ch)))
    )
    return new Promise<ExecResult>((resolve) => {
      const out: Buffer[] = []
      const err: Buffer[] = []
      let code: number | undefined
      let note = ''
      let settled = false
      const finish = (): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        client.removeListener('close', onDrop)
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') + note, code: code! })
      }
      const timer = setTimeout(() => {
        note = `\ncommand timed out after ${timeoutMs} ms on node ${this.target.node}`
        code = TIMEOUT_EXIT
        channel.close()
        finish()
      }, timeoutMs)
      const onDrop = (): void => {
        if (code === undefined) {
          note = `\nSSH connection to node ${this.target.node} was lost while the command ran`
          code = CONNECTION_LOST_EXIT
        }
      }
      client.once('close', onDrop)
      channel.on('data', (chunk: Buffer) => out.push(chunk))
      channel.stderr.on('data', (chunk: Buffer) => err.push(chunk))
      channel.on('exit', (exitCode: number | null, signal?: string) => {
        if (code === undefined) code = exitCode ?? (signal ? 128 + 9 : CONNECTION_LOST_EXIT)
      })
      channel.on('close', () => {
        if (code === undefined) onDrop()
        finish()
      })
      channel.on('error', () => {})
      if (options.stdin !== undefined) channel.end(options.stdin)
      else channel.end()
    })
  }

  private sftpSession(client: Client): Promise<SFTPWrapper> {
    this.sftp ??= new Promise<SFTPWrapper>((resolve, reject) =>
      client.sftp((error, sftp) => (error ? reject(this.wrap(error)) : resolve(sftp)))
    )
    return this.sftp
  }

  /** Writes to a temp name, sets mode and owner, then renames: readers never see a partial file. */
  async put(path: string, data: Buffer | string | Readable, options: { mode: number; owner?: string }): Promise<void> {
    const dir = posix.dirname(path)
    const tmp = `${path}.tpi-${randomBytes(4).toString('hex')}`
    await this.checked(`mkdir -p -- ${shellQuote(dir)}`, `create ${dir}`)
    const sftp = await this.sftpSession(await this.live())
    if (data instanceof ReadStream && typeof data.path === 'string') {
      // A local file (k3s binary, 200 MB air-gap images): fastPut keeps many SFTP writes in flight,
      // several times faster than a sequential stream on a LAN.
      const local = data.path
      data.destroy()
      await new Promise<void>((resolve, reject) =>
        sftp.fastPut(local, tmp, { mode: options.mode, concurrency: 32 }, (error) => (error ? reject(this.wrap(error, `write ${tmp}`)) : resolve()))
      )
    } else await new Promise<void>((resolve, reject) => {
      const stream = sftp.createWriteStream(tmp, { mode: options.mode })
      stream.on('error', (error: Error) => reject(this.wrap(error, `write ${tmp}`)))
      stream.on('close', () => resolve())
      const source = typeof data === 'string' || Buffer.isBuffer(data) ? Readable.from([Buffer.from(data)]) : data
      source.on('error', (error) => reject(error))
      source.pipe(stream)
    })
    // chmod after the write: the mode given to open() is filtered by the server's umask.
    const mode = (options.mode & 0o7777).toString(8)
    const chown = options.owner ? `chown -- ${shellQuote(options.owner)} ${shellQuote(tmp)}\n` : ''
    await this.checked(`chmod ${mode} -- ${shellQuote(tmp)}\n${chown}mv -f -- ${shellQuote(tmp)} ${shellQuote(path)}`, `install ${path}`)
  }

  async get(path: string): Promise<Buffer> {
    const sftp = await this.sftpSession(await this.live())
    return new Promise((resolve, reject) =>
      sftp.readFile(path, (error: Error | undefined, data: Buffer) => (error ? reject(this.wrap(error, `read ${path}`)) : resolve(data)))
    )
  }

  async close(): Promise<void> {
    this.closed = true
    const client = this.client
    this.client = undefined
    if (!client) return
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve())
      client.end()
    })
  }

  private async checked(script: string, what: string): Promise<void> {
    const result = await this.exec(script)
    if (result.code !== 0)
      throw new TpiError('SshCommandFailed', `node ${this.target.node}: could not ${what} (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-5).join(' | ')}`)
  }

  private wrap(error: Error, what?: string): TpiError {
    return new TpiError('SshFailed', `node ${this.target.node}: ${what ? `${what}: ` : ''}${error.message}`, { cause: error })
  }
}
