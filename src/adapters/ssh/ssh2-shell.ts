// One node's remote shell over an ssh2 client. A dropped connection fails the command in flight with
// exit code 255 (like the ssh client) and the next call reconnects, pinned to the host key seen first.
// SFTP transfers are bounded: they end with an error when the connection closes or when a time-out
// proportional to their size passes (ssh2 leaves SFTP callbacks pending forever on a dead session),
// and the temporary file of a broken upload is removed at the next contact.
import { randomBytes } from 'node:crypto'
import { ReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { posix } from 'node:path'
import { Readable } from 'node:stream'
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2'
import { TpiError } from '../../core/errors.js'
import { q as shellQuote } from '../../core/remote/script.js'
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
  /** Temporary files of uploads that broke off; removed at the next contact. */
  private readonly partials = new Set<string>()

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
      if (this.client !== client) return
      this.client = undefined
      this.sftp = undefined
    })
  }

  /** Gives up a connection that no longer moves data; the next call reconnects. */
  private drop(client: Client): void {
    if (this.client === client) {
      this.client = undefined
      this.sftp = undefined
    }
    client.end()
    ;(client as unknown as { destroy?: () => void }).destroy?.()
  }

  /**
   * Runs one SFTP transfer, ending it with an error when the connection closes or the time-out passes:
   * transferFloorMs plus one second per transferBytesPerSec bytes, counted up front (known size) and
   * as bytes pass (streams of unknown size).
   */
  private bounded<T>(
    client: Client,
    what: string,
    bytes: number,
    run: (passed: (n: number) => void) => Promise<T>
  ): Promise<T> {
    const { transferFloorMs: floor, transferBytesPerSec: rate } = this.options
    const started = Date.now()
    let allowedMs = floor + (bytes * 1000) / rate
    return new Promise<T>((resolve, reject) => {
      let settled = false
      const end = (settle: () => void): void => {
        if (settled) return
        settled = true
        clearInterval(timer)
        client.removeListener('close', onClose)
        settle()
      }
      const onClose = (): void =>
        end(() =>
          reject(
            new TpiError(
              'SshConnectionLost',
              `node ${this.target.node}: ${what}: the SSH connection closed during the transfer`
            )
          )
        )
      const timer = setInterval(
        () => {
          if (Date.now() - started <= allowedMs) return
          end(() => {
            this.drop(client)
            reject(
              new TpiError(
                'SshTransferTimeout',
                `node ${this.target.node}: ${what}: not finished after ${(allowedMs / 1000).toFixed(1)} s (${floor / 1000} s plus 1 s per ${Math.round(rate / 1024)} KiB); the connection was closed`
              )
            )
          })
        },
        Math.max(10, Math.min(1000, floor / 10))
      )
      client.once('close', onClose)
      // Closed before we listened: 'close' will not come again.
      if (this.client !== client) return onClose()
      run((n) => void (allowedMs += (n * 1000) / rate)).then(
        (value) => end(() => resolve(value)),
        (error: unknown) => end(() => reject(error))
      )
    })
  }

  /** Removes the temporary files of uploads that broke off (first call after a reconnect). */
  private async sweep(): Promise<void> {
    if (!this.partials.size) return
    const list = [...this.partials]
    const result = await this.run(`rm -f -- ${list.map(shellQuote).join(' ')}`, { timeoutMs: 30_000 })
    if (result.code === 0) for (const p of list) this.partials.delete(p)
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
    await this.sweep().catch(() => undefined)
    return this.run(script, options)
  }

  private async run(script: string, options: ExecOptions = {}): Promise<ExecResult> {
    const body = `set -eu\n${script}`
    if (Buffer.byteLength(body) > MAX_SCRIPT_BYTES)
      throw new TpiError(
        'ScriptTooLarge',
        `node ${this.target.node}: script of ${Buffer.byteLength(body)} bytes exceeds ${MAX_SCRIPT_BYTES}; push it as a file instead`
      )
    const client = await this.live()
    const timeoutMs = options.timeoutMs ?? this.options.commandTimeoutMs
    let code: number | undefined
    this.options.onExec?.(this.target.node)
    const channel = await new Promise<ClientChannel>((resolve, reject) =>
      // sshd leaves a command running when its channel closes, so the node enforces the limit too.
      client.exec(`timeout -k 2 ${Math.ceil(timeoutMs / 1000) + 2} bash -c ${shellQuote(body)}`, (error, ch) => {
        if (error) return reject(this.wrap(error))
        // A fast command's exit status can come in the same read as the channel's opening, before the
        // listeners below exist (they attach a microtask later): taken here, it is never missed and read
        // as a lost connection.
        ch.on('exit', (exitCode: number | null, signal?: string) => {
          if (code === undefined) code = exitCode ?? (signal ? 128 + 9 : CONNECTION_LOST_EXIT)
        })
        resolve(ch)
      })
    )
    return new Promise<ExecResult>((resolve) => {
      const out: Buffer[] = []
      const err: Buffer[] = []
      let note = ''
      let settled = false
      const finish = (): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        client.removeListener('close', onDrop)
        resolve({
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8') + note,
          code: code!
        })
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
    // Also removes what an upload of this path left behind in an earlier process.
    await this.checked(`mkdir -p -- ${shellQuote(dir)}\nrm -f -- ${shellQuote(path)}.tpi-*`, `create ${dir}`)
    const client = await this.live()
    const sftp = await this.bounded(client, 'open an SFTP session', 0, () => this.sftpSession(client))
    try {
      await this.transfer(sftp, client, tmp, data, options.mode)
    } catch (error) {
      // The temp file may hold part of the upload; the connection may be gone, so remove it later.
      this.partials.add(tmp)
      throw error
    }
    // chmod after the write: the mode given to open() is filtered by the server's umask.
    const mode = (options.mode & 0o7777).toString(8)
    const chown = options.owner ? `chown -- ${shellQuote(options.owner)} ${shellQuote(tmp)}\n` : ''
    await this.checked(
      `chmod ${mode} -- ${shellQuote(tmp)}\n${chown}mv -f -- ${shellQuote(tmp)} ${shellQuote(path)}`,
      `install ${path}`
    )
  }

  private async transfer(
    sftp: SFTPWrapper,
    client: Client,
    tmp: string,
    data: Buffer | string | Readable,
    fileMode: number
  ): Promise<void> {
    const options = { mode: fileMode }
    if (data instanceof ReadStream && typeof data.path === 'string') {
      // A local file (k3s binary, 200 MB air-gap images): fastPut keeps many SFTP writes in flight,
      // several times faster than a sequential stream on a LAN.
      const local = data.path
      data.destroy()
      const { size } = await stat(local)
      await this.bounded(
        client,
        `write ${tmp}`,
        size,
        () =>
          new Promise<void>((resolve, reject) =>
            sftp.fastPut(local, tmp, { mode: options.mode, concurrency: 32 }, (error) =>
              error ? reject(this.wrap(error, `write ${tmp}`)) : resolve()
            )
          )
      )
    } else {
      const known = typeof data === 'string' || Buffer.isBuffer(data)
      const source = known ? Readable.from([Buffer.from(data)]) : data
      await this.bounded(
        client,
        `write ${tmp}`,
        known ? Buffer.byteLength(data) : 0,
        (passed) =>
          new Promise<void>((resolve, reject) => {
            const stream = sftp.createWriteStream(tmp, { mode: options.mode })
            stream.on('error', (error: Error) => reject(this.wrap(error, `write ${tmp}`)))
            stream.on('close', () => resolve())
            source.on('error', (error) => reject(error))
            if (!known) source.on('data', (chunk: Buffer | string) => passed(Buffer.byteLength(chunk)))
            source.pipe(stream)
          })
      ).catch((error: unknown) => {
        if (!known) source.unpipe()
        throw error
      })
    }
  }

  async get(path: string): Promise<Buffer> {
    await this.sweep().catch(() => undefined)
    const client = await this.live()
    const sftp = await this.bounded(client, 'open an SFTP session', 0, () => this.sftpSession(client))
    const size = await this.bounded(
      client,
      `stat ${path}`,
      0,
      () =>
        new Promise<number>((resolve, reject) =>
          sftp.stat(path, (error, stats) => (error ? reject(this.wrap(error, `read ${path}`)) : resolve(stats.size)))
        )
    )
    return this.bounded(
      client,
      `read ${path}`,
      size,
      () =>
        new Promise<Buffer>((resolve, reject) =>
          sftp.readFile(path, (error: Error | undefined, data: Buffer) =>
            error ? reject(this.wrap(error, `read ${path}`)) : resolve(data)
          )
        )
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
      throw new TpiError(
        'SshCommandFailed',
        `node ${this.target.node}: could not ${what} (exit ${result.code}): ${result.stderr.trim().split('\n').slice(-5).join(' | ')}`
      )
  }

  private wrap(error: Error, what?: string): TpiError {
    return new TpiError('SshFailed', `node ${this.target.node}: ${what ? `${what}: ` : ''}${error.message}`, {
      cause: error
    })
  }
}
