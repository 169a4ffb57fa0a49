// Routing of the emulated bmcd: login, auth middleware, fault injection, then the legacy handler,
// upload/cancel, backup and serial status. A second plain-HTTP listener mimics port 80.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { gzipSync } from 'node:zlib'
import type { BmcContext } from './context.js'
import { envelope, sendEmpty, sendJson, sendPlain } from './envelope.js'
import { handleLegacy, otherInfo } from './legacy.js'
import type { RequestLog } from './types.js'
import { handleUpload } from './upload.js'

const FLASH_FAMILY = new Set(['flash', 'firmware'])
const MAX_BODY = 1 << 20

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) return reject(new Error(`request body over ${MAX_BODY} bytes`))
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function logRequests(req: IncomingMessage, res: ServerResponse, url: URL, log: RequestLog[]): void {
  let logged = false
  // 'finish' comes before the client sees the end of the reply (tests read the log right after); 'close' covers drops.
  const entry = (): void => {
    if (logged) return
    logged = true
    log.push({
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      status: res.writableFinished ? res.statusCode : 0,
      time: Date.now()
    })
  }
  res.on('finish', entry)
  res.on('close', entry)
}

export function httpsHandler(ctx: BmcContext, log: RequestLog[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://bmc')
    logRequests(req, res, url, log)
    const handle = (): Promise<void> =>
      route(ctx, req, res, url).catch((e: unknown) => {
        if (!res.headersSent) sendPlain(res, 500, `Failed to handle request: ${(e as Error).message}`)
        else res.destroy()
      })
    // The web UI's static files are outside the /api/bmc scope and its auth middleware: not serialized.
    if (url.pathname !== '/api/bmc' && !url.pathname.startsWith('/api/bmc/')) return void handle()
    void ctx.lock.acquire().then((release) => {
      // Held until the reply has gone out (or the connection died): the next request's handler starts only then.
      if (res.writableFinished || res.destroyed) return release()
      res.once('finish', release)
      res.once('close', release)
      void handle()
    })
  }
}

async function route(ctx: BmcContext, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const path = url.pathname
  const ip = req.socket.remoteAddress ?? ''
  if (path === '/api/bmc/authenticate') {
    // With the loopback exemption the middleware lets the request through to routing, and no route
    // serves this path (login lives only in the middleware): 404 (§8.11).
    if (ctx.auth.exempt(ip)) {
      req.resume()
      res.writeHead(404, { 'Content-Length': 0 })
      res.end()
      return
    }
    // The middleware matches the path only: any method logs in.
    const reply = ctx.auth.login(ip, await readBody(req))
    const type = reply.status === 200 ? {} : { 'Content-Type': 'text/plain; charset=utf-8' }
    res.writeHead(reply.status, { ...type, ...reply.headers, 'Content-Length': Buffer.byteLength(reply.body) })
    res.end(reply.body)
    return
  }
  if (path !== '/api/bmc' && !path.startsWith('/api/bmc/')) {
    // The web UI: static files, unknown paths get index.html.
    res.writeHead(200, { 'Content-Type': 'text/html' })
    res.end('<!doctype html><title>Turing Pi 2</title><div id="root"></div>')
    return
  }
  const denied = ctx.auth.check(ip, req.headers.authorization)
  if (denied) {
    req.resume()
    sendPlain(res, denied.status, denied.body, denied.headers)
    return
  }
  const type = url.searchParams.get('type') ?? undefined
  const injected = ctx.faults.takeFailure(path, type)
  if (injected) {
    req.resume()
    const msg = `Failed to ${type ?? path}: injected fault (HTTP ${injected})`
    if (path === '/api/bmc' && !FLASH_FAMILY.has(type ?? '')) sendJson(res, injected, envelope(msg))
    else sendPlain(res, injected, msg)
    return
  }
  if (path === '/api/bmc') {
    const after = await handleLegacy(ctx, { req, res, q: url.searchParams, body: await readBody(req) })
    if (after === 'destroy') req.socket.destroy()
    if (after === 'restart') res.on('finish', () => ctx.restart())
    return
  }
  const upload = /^\/api\/bmc\/upload\/([^/]+)(\/cancel)?$/.exec(path)
  if (upload?.[2] && req.method === 'GET') {
    ctx.flash.cancel() // the handle is ignored
    return sendEmpty(res)
  }
  if (upload && !upload[2] && req.method === 'POST') return handleUpload(ctx, req, res, upload[1]!)
  if (path === '/api/bmc/backup' && req.method === 'GET') {
    const tar = gzipSync(Buffer.alloc(1024)) // an empty tar archive
    res.writeHead(200, {
      'Content-Type': 'application/gzip',
      'Content-Disposition': 'attachment; filename="backup.tar.gz"',
      'Content-Length': tar.length
    })
    res.end(tar)
    return
  }
  if (path === '/api/bmc/serial/status' && req.method === 'POST') {
    return sendPlain(res, 200, JSON.stringify(['Running', 'Running', 'Running', 'Running']))
  }
  req.resume()
  sendPlain(res, 404, 'Not Found')
}

/** Port 80: 308 to https for everything except the no-auth `/info`. */
export function httpHandler(
  ctx: BmcContext,
  httpsPort: () => number,
  log: RequestLog[]
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://bmc')
    logRequests(req, res, url, log)
    req.resume()
    if (url.pathname === '/info') return sendJson(res, 200, envelope(otherInfo(ctx)))
    // bmcd appends :443 to the Host header as sent, so a Host with a port becomes host:port:443 (§8.17).
    void httpsPort
    const host = req.headers.host ?? ctx.firmware.ip
    res.writeHead(308, { Location: `https://${host}:443${req.url ?? '/'}`, 'Content-Length': 0 })
    res.end()
  }
}
