// A minimal bmcd stand-in for the client's unit tests (the full emulator lives in lab/bmc). HTTPS with
// a throwaway certificate made at test time; counts requests so tests can assert retries and logins.
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface FakeBmc {
  url: string
  fingerprint: string
  calls: string[]
  /** TLS connections accepted. */
  connections: number
  logins: number
  uploadBody?: Buffer
  uploadHeaders?: Record<string, unknown>
  /** Next N GETs of /api/bmc answer 503. */
  fail5xx: number
  /** Next N GETs of /api/bmc have their connection destroyed. */
  drop: number
  /** Uploads lose their connection after 64 KiB. */
  dropUpload?: boolean
  /** Next N GETs of /api/bmc never get an answer. */
  hang: number
  /** Invalidate every token (like a BMC reload). */
  wipeTokens(): void
  banned: boolean
  password: string
  power: Record<string, string>
  uart: string[]
  flash: unknown
  /** Called on every flash status poll (e.g. to wipe tokens mid-flash). */
  onFlashPoll?: (poll: number) => void
  close(): Promise<void>
}

let cached: { key: Buffer; cert: Buffer } | undefined
function certificate(): { key: Buffer; cert: Buffer } {
  if (cached) return cached
  const dir = mkdtempSync(join(tmpdir(), 'fake-bmc-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, 'k.pem'),
      '-out',
      join(dir, 'c.pem'),
      '-subj',
      '/CN=Turing-Pi self signed',
      '-days',
      '1'
    ],
    { stdio: 'ignore' }
  )
  cached = { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }
  rmSync(dir, { recursive: true, force: true })
  return cached
}

const env = (result: unknown): string => JSON.stringify({ response: [{ result }] })

export async function startFakeBmc(): Promise<FakeBmc> {
  const { key, cert } = certificate()
  const tokens = new Set<string>()
  let n = 0
  let polls = 0
  let pending = 0
  const state: FakeBmc = {
    url: '',
    fingerprint: new X509Certificate(cert).fingerprint256,
    calls: [],
    connections: 0,
    logins: 0,
    fail5xx: 0,
    drop: 0,
    hang: 0,
    banned: false,
    password: 'turing',
    power: { node1: '0', node2: '0', node3: '0', node4: '0' },
    uart: ['', '', '', ''],
    flash: 'Ready',
    wipeTokens: () => tokens.clear(),
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((r) => server.close(() => r()))
    }
  }
  const reply = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, headers)
    res.end(body)
  }
  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer): void => {
    const url = new URL(req.url ?? '/', 'https://x')
    state.calls.push(`${req.method} ${url.pathname}${url.search}`)
    if (url.pathname === '/api/bmc/authenticate') {
      if (state.banned) return reply(res, 403, 'Exceeded allowed authentication attempts. Access blocked for 60s')
      const creds = JSON.parse(body.toString() || '{}') as { password?: string }
      if (creds.password !== state.password) return reply(res, 403, 'credentials incorrect')
      state.logins++
      const token = `tok${++n}`.padEnd(64, 'x')
      tokens.add(token)
      return reply(res, 200, JSON.stringify({ id: token, username: 'root' }), { 'x-auth-token': token })
    }
    const auth = req.headers.authorization ?? ''
    if (!tokens.has(auth.replace(/^Bearer /, '')))
      return reply(res, 401, 'token expired 1s ago', { 'www-authenticate': 'Bearer' })
    if (url.pathname.startsWith('/api/bmc/upload/')) {
      if (url.pathname.endsWith('/cancel')) {
        state.flash = { Error: 'cancelled by user' }
        return reply(res, 200, '')
      }
      state.uploadBody = body
      state.uploadHeaders = { ...req.headers }
      // Written; two more polls of "verify" before Done, so a test can act mid-flash.
      // bmcd's Transferring and Done carry the length announced at start, not the multipart body's size.
      const announced = (state.flash as { Transferring?: { size: number } }).Transferring?.size ?? body.length
      state.flash = {
        Transferring: {
          id: 7,
          process_name: 'Node 1 os install service',
          size: announced,
          cancelled: false,
          bytes_written: 0
        }
      }
      pending = 2
      return reply(res, 200, '')
    }
    if (state.drop > 0) {
      state.drop--
      req.socket.destroy()
      return
    }
    if (state.hang > 0) {
      state.hang--
      return
    }
    if (state.fail5xx > 0) {
      state.fail5xx--
      return reply(res, 503, 'busy')
    }
    const q = Object.fromEntries(url.searchParams)
    if (q.opt === 'get' && q.type === 'power') return reply(res, 200, env([state.power]))
    if (q.opt === 'set' && q.type === 'power') {
      for (const k of Object.keys(state.power)) if (q[k] !== undefined) state.power[k] = q[k] as string
      return reply(res, 200, env('ok'))
    }
    if (q.type === 'about')
      return reply(res, 200, env({ board_model: 'Turing Pi 2', api: '1.1', version: '2.3.4', bmcd_version: '2.3.7' }))
    if (q.type === 'sdcard') return reply(res, 400, env('Failed to get microSD card info: {}'))
    if (q.type === 'node_info')
      return reply(
        res,
        200,
        env([{ name: null, module_name: 'RK1', power_on_time: 12, uart_baud: 115200 }, {}, {}, {}])
      )
    if (q.type === 'uart') return reply(res, 200, JSON.stringify({ response: [{ uart: state.uart[Number(q.node)] }] }))
    if (q.type === 'flash' && q.opt === 'set') {
      state.flash = {
        Transferring: {
          id: 7,
          process_name: 'Node 1 os install service',
          size: Number(q.length),
          cancelled: false,
          bytes_written: 0
        }
      }
      return reply(res, 200, JSON.stringify({ handle: 7 }), { 'content-type': 'text/plain' })
    }
    if (q.type === 'flash' && q.opt === 'get') {
      state.onFlashPoll?.(++polls)
      if (pending > 0 && --pending === 0)
        state.flash = {
          Done: [{ secs: 3, nanos: 0 }, (state.flash as { Transferring: { size: number } }).Transferring.size]
        }
    }
    if (q.type === 'flash') return reply(res, 200, JSON.stringify(state.flash), { 'content-type': 'text/plain' })
    return reply(res, 400, env(`Invalid \`type\` parameter ${q.type}`))
  }
  const server: Server = createServer({ key, cert }, (req, res) => {
    const chunks: Buffer[] = []
    let received = 0
    const dropping =
      state.dropUpload && (req.url ?? '').startsWith('/api/bmc/upload/') && !(req.url ?? '').endsWith('/cancel')
    req.on('data', (c: Buffer) => {
      chunks.push(c)
      received += c.length
      if (dropping && received > 64 * 1024 && !req.socket.destroyed) {
        state.calls.push(`${req.method} ${req.url} (dropped after ${received} bytes)`)
        req.socket.destroy()
      }
    })
    req.on('end', () => handle(req, res, Buffer.concat(chunks)))
  })
  server.on('secureConnection', () => state.connections++)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const port = (server.address() as { port: number }).port
  state.url = `https://127.0.0.1:${port}`
  return state
}
