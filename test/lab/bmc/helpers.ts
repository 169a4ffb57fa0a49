// HTTPS helpers for the BMC emulator conformance tests: one fresh connection per call (no keep-alive
// handles left behind), Basic root:turing unless told otherwise.
import { request } from 'node:https'
import type { BmcEmulator } from '../../../lab/bmc/index.js'

export interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
  error?: string
}

export interface CallOptions {
  method?: string
  /** 'basic' (default) = root:turing; null = no header; any other string is sent as the Authorization value. */
  auth?: string | null
  body?: string | Buffer
  headers?: Record<string, string>
}

export function basic(user = 'root', pass = 'turing'): string {
  return `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`
}

export function call(bmc: Pick<BmcEmulator, 'url'>, path: string, o: CallOptions = {}): Promise<Reply> {
  const auth = o.auth === undefined || o.auth === 'basic' ? basic() : o.auth
  const headers: Record<string, string> = { ...o.headers }
  if (auth !== null) headers.Authorization = auth
  if (o.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(o.body))
  return new Promise((resolve) => {
    const req = request(
      `${bmc.url}${path}`,
      { method: o.method ?? 'GET', headers, rejectUnauthorized: false, agent: false },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') })
        )
        res.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }))
      }
    )
    req.on('error', (e) => resolve({ status: 0, headers: {}, body: '', error: e.message }))
    req.end(o.body)
  })
}

export const api = (bmc: Pick<BmcEmulator, 'url'>, query: string, o: CallOptions = {}): Promise<Reply> =>
  call(bmc, `/api/bmc?${query}`, o)

export async function login(bmc: Pick<BmcEmulator, 'url'>): Promise<string> {
  const r = await call(bmc, '/api/bmc/authenticate', {
    method: 'POST',
    auth: null,
    body: '{"username":"root","password":"turing"}'
  })
  if (r.status !== 200) throw new Error(`login failed: ${r.status} ${r.body}`)
  return (JSON.parse(r.body) as { id: string }).id
}

export function multipart(
  data: Buffer,
  fileName = 'image.img',
  extraPart?: Buffer
): { body: Buffer; headers: Record<string, string> } {
  const b = 'labboundary7MA4YWxkTrZu0gW'
  const part = (name: string, content: Buffer): Buffer[] => [
    Buffer.from(
      `--${b}\r\nContent-Disposition: form-data; name="${name}"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n`
    ),
    content,
    Buffer.from('\r\n')
  ]
  const body = Buffer.concat([
    ...part('file', data),
    ...(extraPart ? part('second', extraPart) : []),
    Buffer.from(`--${b}--\r\n`)
  ])
  return { body, headers: { 'Content-Type': `multipart/form-data; boundary=${b}` } }
}

export function upload(
  bmc: Pick<BmcEmulator, 'url'>,
  handle: number | string,
  data: Buffer,
  fileName?: string,
  extraPart?: Buffer
): Promise<Reply> {
  const m = multipart(data, fileName, extraPart)
  return call(bmc, `/api/bmc/upload/${handle}`, { method: 'POST', body: m.body, headers: m.headers })
}

export async function startFlash(bmc: Pick<BmcEmulator, 'url'>, query: string): Promise<number> {
  const r = await api(bmc, `opt=set&type=flash&${query}`)
  if (r.status !== 200) throw new Error(`flash start failed: ${r.status} ${r.body}`)
  return (JSON.parse(r.body) as { handle: number }).handle
}

export async function flashStatus(bmc: Pick<BmcEmulator, 'url'>): Promise<unknown> {
  return JSON.parse((await api(bmc, 'opt=get&type=flash')).body)
}

/** Polls until the status is Done or Error (or the timeout), returning every distinct status seen. */
export async function pollFlash(bmc: Pick<BmcEmulator, 'url'>, timeoutMs = 10_000, everyMs = 5): Promise<unknown[]> {
  const seen: unknown[] = []
  const end = Date.now() + timeoutMs
  for (;;) {
    const s = await flashStatus(bmc)
    if (JSON.stringify(s) !== JSON.stringify(seen.at(-1))) seen.push(s)
    if (typeof s === 'object' && s !== null && ('Done' in s || 'Error' in s)) return seen
    if (Date.now() > end) throw new Error(`flash still ${JSON.stringify(s)} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
