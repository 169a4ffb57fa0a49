// The real BMC client: session token reused across calls, one fresh login on a 401 (expiry, BMC
// reload), backoff on 5xx and broken connections for idempotent calls only, and a hard stop when the
// BMC bans us (hammering would only extend the ban). Field quirks are decoded in parse.ts.
import type { Readable } from 'node:stream'
import { TpiError } from '../../core/errors.js'
import type { Reporter } from '../../core/reporter.js'
import { backoff, withRetry } from '../../core/tools/retry.js'
import type { AddressMap } from '../net/types.js'
import { multipartFile } from './multipart.js'
import * as parse from './parse.js'
import { BmcTransport, TransportError, type HttpReply } from './transport.js'
import type {
  BmcAbout,
  BmcClient,
  BmcConnectOptions,
  BmcInfo,
  FlashRequest,
  FlashStatus,
  NodeInfo,
  PowerState,
  SdCard,
  Slot,
  UsbState
} from './types.js'

export interface BmcClientOptions extends BmcConnectOptions {
  net?: AddressMap
  reporter?: Reporter
  sleep?: (ms: number) => Promise<void>
  /** Delays between retries of idempotent calls; default 4 retries from 500 ms doubling. */
  retryDelays?: number[]
}

interface CallOptions {
  /** Safe to send again after a 5xx or a broken connection. */
  idempotent: boolean
  /** Flash-family replies: a 500 is the BMC's definitive answer, not a transient fault. */
  bare?: boolean
}

const isBan = (r: HttpReply): boolean => r.status === 429 || (r.status === 403 && /blocked|exceeded/i.test(r.text))

class Retryable extends TpiError {}

/** A backoff wait that ends early once the client is abandoned (the next attempt then is not made). */
function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal?.addEventListener('abort', done, { once: true })
  })
}

export class HttpBmcClient implements BmcClient {
  private token?: string
  private readonly transport: BmcTransport
  private readonly sleep: (ms: number) => Promise<void>
  private readonly delays: number[]

  constructor(private readonly options: BmcClientOptions) {
    this.transport = new BmcTransport({
      endpoint: options.endpoint.replace(/\/+$/, ''),
      fingerprint: options.fingerprint,
      insecure: options.insecure,
      net: options.net,
      timeoutMs: options.timeoutMs ?? 15_000,
      signal: options.signal
    })
    this.sleep = options.sleep ?? ((ms) => abortableSleep(ms, options.signal))
    this.delays = options.retryDelays ?? backoff(4, 500)
    options.reporter?.secret(options.password)
  }

  get endpoint(): string {
    return this.transport.endpoint
  }

  busy(): boolean {
    return this.transport.busy
  }

  /** Drops idle keep-alive connections (they never hold the process open, this just frees them early). */
  close(): void {
    this.transport.close()
  }

  async login(): Promise<void> {
    const reply = await this.withRetries('login', { idempotent: true }, () =>
      this.transport.send('/api/bmc/authenticate', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: this.options.username, password: this.options.password })
      })
    )
    if (isBan(reply)) throw this.banned(reply)
    if (reply.status !== 200) {
      throw new TpiError(
        'BmcAuthFailed',
        `BMC ${this.endpoint}: login as ${this.options.username} refused (HTTP ${reply.status}: ${parse.errorText(reply.text)}); check the bmc-password input and bmc.username`
      )
    }
    let token = reply.headers['x-auth-token']
    if (typeof token !== 'string') token = (JSON.parse(reply.text || '{}') as { id?: string }).id
    if (!token) throw new TpiError('BmcBadReply', `BMC ${this.endpoint}: login reply carries no session token`)
    this.options.reporter?.secret(token)
    this.token = token
  }

  private banned(reply: HttpReply): TpiError {
    return new TpiError(
      'BmcBanned',
      `BMC ${this.endpoint} blocks this runner after repeated authentication failures (HTTP ${reply.status}: ${reply.text.trim().slice(0, 160)}); stopped instead of retrying. Fix the password, wait for the ban to end, then re-run`
    )
  }

  /** Sends with retries on broken connections and (unless bare) 5xx; maps bans and auth. */
  private async withRetries(what: string, call: CallOptions, send: () => Promise<HttpReply>): Promise<HttpReply> {
    if (!call.idempotent) return send()
    try {
      return await withRetry(
        async () => {
          const reply = await send()
          if (reply.status >= 500 && !(call.bare && reply.status === 500)) {
            throw new Retryable(
              'BmcRejected',
              `BMC ${this.endpoint}: ${what} answered HTTP ${reply.status}: ${parse.errorText(reply.text)}`
            )
          }
          return reply
        },
        {
          delays: this.delays,
          sleep: this.sleep,
          retryable: (e) => !this.options.signal?.aborted && (e instanceof TransportError || e instanceof Retryable),
          onRetry: (e, n, ms) =>
            this.options.reporter?.debug(
              `BMC ${this.endpoint}: ${what} attempt ${n} failed (${(e as Error).message}); retrying in ${ms} ms`
            )
        }
      )
    } catch (error) {
      if (error instanceof Retryable)
        throw new TpiError('BmcRejected', `${error.message} (after ${this.delays.length + 1} attempts)`)
      throw error
    }
  }

  /** An authenticated request: logs in when needed and once more on a 401. */
  private async call(
    what: string,
    path: string,
    call: CallOptions,
    extra: { method?: 'GET' | 'POST'; body?: string } = {}
  ): Promise<string> {
    if (!this.token) await this.login()
    const send = (): Promise<HttpReply> =>
      this.transport.send(path, {
        method: extra.method ?? 'GET',
        headers: {
          authorization: `Bearer ${this.token}`,
          ...(extra.body ? { 'content-type': 'application/json' } : {})
        },
        body: extra.body
      })
    let reply = await this.withRetries(what, call, send)
    if (reply.status === 401) {
      // bmcd quotes the refused token; name it generically so the reason survives the length cut.
      const why = (this.token ? reply.text.split(this.token).join('<session token>') : reply.text).trim().slice(0, 120)
      this.options.reporter?.debug(`BMC ${this.endpoint}: session no longer valid (${why}); logging in again`)
      this.token = undefined
      await this.login()
      reply = await this.withRetries(what, call, send)
    }
    return this.check(what, reply)
  }

  private check(what: string, reply: HttpReply): string {
    if (isBan(reply)) throw this.banned(reply)
    if (reply.status === 401)
      throw new TpiError(
        'BmcUnauthorized',
        `BMC ${this.endpoint}: ${what} refused after a fresh login (HTTP 401: ${reply.text.trim().slice(0, 120)})`
      )
    if (reply.status !== 200)
      throw new TpiError(
        'BmcRejected',
        `BMC ${this.endpoint}: ${what} answered HTTP ${reply.status}: ${parse.errorText(reply.text)}`
      )
    return reply.text
  }

  private get(what: string, query: string, idempotent = true): Promise<string> {
    return this.call(what, `/api/bmc?${query}`, { idempotent })
  }

  async about(): Promise<BmcAbout> {
    return parse.parseAbout(await this.get('about', 'opt=get&type=about'))
  }
  async info(): Promise<BmcInfo> {
    return parse.parseInfo(await this.get('info', 'opt=get&type=info'))
  }
  async sdcard(): Promise<SdCard | undefined> {
    try {
      return parse.parseSdCard(await this.get('sdcard', 'opt=get&type=sdcard'))
    } catch (error) {
      // bmcd answers 400 "Failed to get microSD card info" when no card is inserted.
      if (error instanceof TpiError && error.code === 'BmcRejected' && /microSD/i.test(error.message)) return undefined
      throw error
    }
  }
  async power(): Promise<PowerState> {
    return parse.parsePower(await this.get('power', 'opt=get&type=power'))
  }
  async nodeInfo(): Promise<NodeInfo[]> {
    return parse.parseNodeInfo(await this.get('node_info', 'opt=get&type=node_info'))
  }
  async setPower(slot: Slot, on: boolean): Promise<void> {
    // Setting a bit to a value is idempotent; power keys are node1..node4.
    await this.get(`power ${on ? 'on' : 'off'} slot ${slot}`, `opt=set&type=power&node${slot}=${on ? 1 : 0}`)
  }
  async reset(slot: Slot): Promise<void> {
    // Not retried: a lost reply may hide a reset that already happened.
    await this.get(`reset slot ${slot}`, `opt=set&type=reset&node=${slot - 1}`, false)
  }
  async readUart(slot: Slot): Promise<string> {
    const value = parse.envelope(
      'uart',
      await this.get(`uart read slot ${slot}`, `opt=get&type=uart&node=${slot - 1}&encoding=utf8`),
      'uart'
    )
    return typeof value === 'string' ? value : ''
  }
  async writeUart(slot: Slot, command: string): Promise<void> {
    await this.get(
      `uart write slot ${slot}`,
      `opt=set&type=uart&node=${slot - 1}&cmd=${encodeURIComponent(command)}`,
      false
    )
  }

  async startFlash(request: FlashRequest): Promise<number> {
    const q = new URLSearchParams({
      opt: 'set',
      type: 'flash',
      node: String(request.slot - 1),
      file: request.fileName,
      length: String(request.length)
    })
    if (request.sha256) q.set('sha256', request.sha256)
    let query = q.toString()
    if (request.skipCrc) query += '&skip_crc' // bmcd checks presence only; never send skip_crc=false
    // A repeated start only replaces a transfer that has not begun: safe to retry on a broken connection.
    const text = await this.call(`flash start slot ${request.slot}`, `/api/bmc?${query}`, {
      idempotent: true,
      bare: true
    })
    return parse.parseHandle(text)
  }

  async upload(handle: number, body: Readable, request: FlashRequest): Promise<void> {
    // Renew the session right before (TTL counts from last use) so the token cannot expire at the POST.
    await this.flashStatus()
    const form = multipartFile(body, request.fileName, request.length)
    const reply = await this.transport.send(`/api/bmc/upload/${handle}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${this.token}`,
        'content-type': form.contentType,
        'content-length': form.contentLength
      },
      body: form.parts,
      timeoutMs: request.timeoutMs ?? 3_600_000,
      onSent: request.onProgress
    })
    if (reply.status === 401) this.token = undefined
    this.check(`upload to slot ${request.slot}`, reply)
  }

  async flashStatus(): Promise<FlashStatus> {
    return parse.parseFlashStatus(
      await this.call('flash status', '/api/bmc?opt=get&type=flash', { idempotent: true, bare: true })
    )
  }

  async usb(): Promise<UsbState> {
    return parse.parseUsb(await this.get('usb', 'opt=get&type=usb'))
  }
  async setUsb(state: UsbState): Promise<void> {
    await this.get(
      `usb ${state.mode} slot ${state.slot}`,
      `opt=set&type=usb&node=${state.slot - 1}&mode=${parse.usbModeNumber(state)}`
    )
  }

  async cancelFlash(): Promise<void> {
    await this.call('flash cancel', '/api/bmc/upload/0/cancel', { idempotent: true, bare: true })
  }
}

/** Logs in and reads `about`, so a wrong password, pin or endpoint fails here, before any change. */
export async function createBmcClient(options: BmcClientOptions): Promise<HttpBmcClient> {
  const client = new HttpBmcClient(options)
  await client.login()
  await client.about()
  return client
}
