// HTTPS to one BMC with the certificate pinned by SHA-256 fingerprint. The BMC certificate is
// self-signed and usually expired, so CA verification is off and the pin is checked on the socket's
// 'secureConnect' BEFORE any byte (credentials included) is written. `insecure` skips the pin.
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https'
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { Readable } from 'node:stream'
import { TpiError } from '../../core/errors.js'
import type { AddressMap } from '../net/types.js'
import { FileSource } from './file-source.js'

export interface HttpReply {
  status: number
  headers: IncomingHttpHeaders
  text: string
}

export interface TransportOptions {
  endpoint: string
  fingerprint?: string
  insecure: boolean
  net?: AddressMap
  timeoutMs: number
  /** Aborting it fails every request in flight and every later one at once. */
  signal?: AbortSignal
}

export interface SendOptions {
  method: 'GET' | 'POST'
  headers?: Record<string, string | number>
  /** A small body (JSON), a stream, or head + streamed file + tail (upload). */
  body?: string | Readable | { head: Buffer; file: Readable; tail: Buffer }
  timeoutMs?: number
  /** Upload bodies: called with the file bytes the socket has taken so far. */
  onSent?: (bytes: number) => void
}

/** A connection-level failure (reset, refused, timeout): safe to retry for idempotent calls. */
export class TransportError extends TpiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BmcUnreachable', message, options)
  }
}

export function normalizeFingerprint(value: string): string {
  return value.replace(/[^0-9a-f]/gi, '').toUpperCase()
}

/**
 * bmcd serves one authenticated request at a time (its auth middleware holds a mutex across the
 * handler, bmc-api.md §8.1): a second request only waits inside the BMC, where its reply timeout would
 * run out behind a multi-minute upload. So the client sends one request at a time itself, FIFO, and a
 * request's timeout starts when it is sent, not when it was queued.
 */
class SendQueue {
  private tail: Promise<void> = Promise.resolve()
  private waiting = 0
  private running = false

  /** Runs `task` after every earlier one has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    this.waiting++
    const turn = this.tail
    let done!: () => void
    this.tail = new Promise<void>((resolve) => (done = resolve))
    return turn.then(async () => {
      this.waiting--
      this.running = true
      try {
        return await task() // an aborted signal fails it at once (sendNow)
      } finally {
        this.running = false
        done()
      }
    })
  }

  /** A request is in flight or queued. */
  get busy(): boolean {
    return this.running || this.waiting > 0
  }
}

export class BmcTransport {
  private readonly url: URL
  private readonly queue = new SendQueue()
  private readonly pin?: string
  /**
   * Keep-alive: the BMC's RSA-4096 handshake is costly on its small ARM CPU, and a flash polls every
   * second. Idle sockets are unref'd by node, so they never keep a process alive. No TLS session
   * resumption: a resumed session shows no peer certificate, and the pin needs one on every connection.
   */
  private readonly verified = new WeakSet<object>()
  private readonly agent = new Agent({
    keepAlive: true,
    maxSockets: 4,
    rejectUnauthorized: false,
    maxCachedSessions: 0
  })

  constructor(private readonly options: TransportOptions) {
    this.url = new URL(options.endpoint)
    if (!options.insecure) {
      if (!options.fingerprint) {
        throw new TpiError(
          'BmcTlsUnpinned',
          `BMC ${options.endpoint}: no certificate fingerprint pinned (bmc.tls.fingerprint) and bmc.tls.insecure is not true`
        )
      }
      this.pin = normalizeFingerprint(options.fingerprint)
      if (this.pin.length !== 64) {
        throw new TpiError(
          'BmcTlsUnpinned',
          `BMC ${options.endpoint}: fingerprint has ${this.pin.length} hex digits, expected 64 (SHA-256)`
        )
      }
    }
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy()
  }

  get endpoint(): string {
    return this.options.endpoint
  }

  /** True while a request to this BMC is in flight or waiting to be sent. */
  get busy(): boolean {
    return this.queue.busy
  }

  /** Sends once every earlier request to this BMC has its reply (see SendQueue). */
  send(pathAndQuery: string, send: SendOptions): Promise<HttpReply> {
    return this.queue.run(() => this.sendNow(pathAndQuery, send))
  }

  private sendNow(pathAndQuery: string, send: SendOptions): Promise<HttpReply> {
    const https = this.url.protocol === 'https:'
    const port = Number(this.url.port || (https ? 443 : 80))
    const target = (this.options.net ?? { map: (host: string, p: number) => ({ host, port: p }) }).map(
      this.url.hostname,
      port
    )
    const timeoutMs = send.timeoutMs ?? this.options.timeoutMs
    const opts: RequestOptions = {
      host: target.host,
      port: target.port,
      method: send.method,
      path: pathAndQuery,
      headers: { host: this.url.host, ...send.headers },
      // The pin replaces CA verification; see the header comment.
      rejectUnauthorized: false,
      agent: https ? this.agent : false
    }
    if (this.options.signal?.aborted)
      return Promise.reject(
        new TransportError(
          `BMC ${this.endpoint}: ${send.method} ${redact(pathAndQuery)} not sent (the caller stopped waiting)`
        )
      )
    return new Promise<HttpReply>((resolve, reject) => {
      let settled = false
      const fail = (error: Error): void => {
        if (settled) return
        settled = true
        req.destroy()
        reject(error)
      }
      const req = (https ? httpsRequest : httpRequest)(opts, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('error', (e) =>
          fail(new TransportError(`BMC ${this.endpoint}: reply broke off: ${e.message}`, { cause: e }))
        )
        res.on('end', () => {
          if (settled) return
          settled = true
          clearTimeout(timer)
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') })
        })
      })
      const timer = setTimeout(
        () =>
          fail(
            new TransportError(
              `BMC ${this.endpoint}: no reply to ${send.method} ${redact(pathAndQuery)} within ${timeoutMs} ms`
            )
          ),
        timeoutMs
      )
      const signal = this.options.signal
      const abandoned = (): void => {
        clearTimeout(timer)
        fail(
          new TransportError(
            `BMC ${this.endpoint}: ${send.method} ${redact(pathAndQuery)} abandoned (the caller stopped waiting)`
          )
        )
      }
      signal?.addEventListener('abort', abandoned, { once: true })
      req.once('close', () => signal?.removeEventListener('abort', abandoned))
      req.on('error', (e) => {
        clearTimeout(timer)
        fail(
          e instanceof TpiError
            ? e
            : new TransportError(`BMC ${this.endpoint}: ${send.method} ${redact(pathAndQuery)} failed: ${e.message}`, {
                cause: e
              })
        )
      })
      const write = (): void => {
        if (send.body === undefined) req.end()
        else if (typeof send.body === 'string') req.end(send.body)
        else if ('head' in send.body) {
          const { head, file, tail } = send.body
          const readFailed = (e: Error): void =>
            fail(new TransportError(`BMC ${this.endpoint}: reading the upload failed: ${e.message}`, { cause: e }))
          req.write(head)
          if (file instanceof FileSource) {
            pumpReused(req, file, tail, send.onSent).catch((e: unknown) => {
              if (!settled && !req.destroyed) readFailed(e as Error)
            })
          } else {
            file.on('error', readFailed)
            if (send.onSent) {
              let sent = 0
              const onSent = send.onSent
              file.on('data', (c: Buffer) => onSent((sent += c.length)))
            }
            file.pipe(req, { end: false })
            file.once('end', () => req.end(tail))
          }
        } else {
          send.body.on('error', (e) =>
            fail(new TransportError(`BMC ${this.endpoint}: reading the upload failed: ${e.message}`, { cause: e }))
          )
          send.body.pipe(req)
        }
      }
      if (!https) return write()
      req.on('socket', (socket) => {
        // A reused keep-alive socket was checked when it connected.
        if (this.verified.has(socket)) return write()
        socket.once('secureConnect', () => {
          const problem = this.checkPeer(socket as TLSSocket)
          if (problem) {
            clearTimeout(timer)
            fail(new TpiError('BmcTlsMismatch', problem))
          } else {
            this.verified.add(socket)
            write()
          }
        })
      })
    })
  }

  private checkPeer(socket: TLSSocket): string | undefined {
    if (!this.pin) return undefined
    const seen = normalizeFingerprint(socket.getPeerCertificate()?.fingerprint256 ?? '')
    if (seen === this.pin) return undefined
    return `BMC ${this.endpoint}: certificate fingerprint ${seen || '(none)'} does not match the pinned ${this.pin}; nothing was sent. Update bmc.tls.fingerprint if the BMC certificate was regenerated`
  }
}

/**
 * Writes a FileSource's reused chunks with at most two writes in flight: chunk k is requested (which
 * refills the buffer of chunk k-2) only once the socket took chunk k-2 (write callback). The kernel
 * socket buffer and the second write keep the BMC fed while the next chunk is read and encrypted.
 */
async function pumpReused(
  req: ClientRequest,
  file: FileSource,
  tail: Buffer,
  onSent?: (bytes: number) => void
): Promise<void> {
  const BUFFERS = 3
  const inFlight: Promise<void>[] = []
  let sent = 0
  const write = (chunk: Buffer): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const closed = (): void => reject(new Error('request closed during the upload'))
      const length = chunk.length
      req.once('close', closed)
      req.write(chunk, (error) => {
        req.off('close', closed)
        if (error) reject(error)
        else {
          onSent?.((sent += length))
          resolve()
        }
      })
    })
  const chunks = file.reused(BUFFERS)[Symbol.asyncIterator]()
  try {
    for (;;) {
      // Asking for the next chunk refills the oldest buffer: its write must have completed.
      if (inFlight.length >= BUFFERS - 1) await inFlight.shift()
      const { value, done } = await chunks.next()
      if (done) break
      if (req.destroyed) return
      const w = write(value)
      w.catch(() => undefined) // awaited below; a failure also surfaces on the request
      inFlight.push(w)
    }
    await Promise.all(inFlight)
  } finally {
    await chunks.return?.(undefined)
  }
  if (!req.destroyed) req.end(tail)
}

/** Strips query values that could be secrets or noise from messages (none today, but cheap insurance). */
function redact(path: string): string {
  return path.replace(/(cmd=)[^&]*/g, '$1…')
}
