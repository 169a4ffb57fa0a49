// The lab's download mirror: static files under <root>/<upstream host>/<upstream path>, HEAD and single
// Range support, per-request log (so a test can prove a warm cache downloads nothing), fault injection,
// and extra routes (the Talos image factory registers its own).
import { createReadStream } from 'node:fs'
import { chmod, copyFile, lstat, mkdir, mkdtemp, open, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { canonicalPath, fileFor, mirrorUrl } from './paths.js'

export { canonicalPath, mirrorUrl } from './paths.js'

export interface MirrorOptions {
  root?: string
  dir?: string /* alias of root */
  host?: string
  port?: number
}

export interface MirrorRequest {
  method: string
  path: string
  status: number
  bytes: number
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>

export interface Mirror {
  url: string
  root: string
  /** Stores a file at a mirror URL path (`/github.com/...`) or an upstream URL (`https://github.com/...`). */
  addFile(urlPath: string, content: Buffer | string | { path: string }, options?: { mode?: number }): Promise<void>
  /** Requests whose path starts with pathPrefix (and method matches, '*' = any) go to handler first. */
  route(method: string, pathPrefix: string, handler: RouteHandler): void
  /** <url>/<host><path> for an upstream URL. */
  urlFor(upstream: string): string
  requests: MirrorRequest[]
  bytesServed(): number
  clearLog(): void
  /** Flips bytes of a stored file in place (a served file that no longer matches its checksum). */
  corrupt(urlPath: string): Promise<void>
  failNext(urlPath: string, status: number, count?: number): void
  env(): Record<string, string>
  stop(): Promise<void>
  close(): Promise<void>
}

interface Range {
  start: number
  end: number
}

/** One `bytes=a-b`, `bytes=a-` or `bytes=-n` range; null = unsatisfiable; undefined = no/ignored header. */
function parseRange(header: string | undefined, size: number): Range | null | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  let start: number
  let end: number
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]))
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
  }
  return start > end || start >= size ? null : { start, end }
}

// A route writes its own body: count what passes through write/end.
function countWrites(res: ServerResponse, add: (n: number) => void): void {
  const size = (c: unknown): number =>
    typeof c === 'string' ? Buffer.byteLength(c) : c instanceof Uint8Array ? c.length : 0
  const write = res.write.bind(res) as (...a: unknown[]) => boolean
  const end = res.end.bind(res) as (...a: unknown[]) => ServerResponse
  res.write = ((...a: unknown[]) => {
    add(size(a[0]))
    return write(...a)
  }) as typeof res.write
  res.end = ((...a: unknown[]) => {
    if (typeof a[0] !== 'function') add(size(a[0]))
    return end(...a)
  }) as typeof res.end
}

export async function startMirror(options: MirrorOptions = {}): Promise<Mirror> {
  const given = options.root ?? options.dir
  const root = resolve(given ?? (await mkdtemp(join(tmpdir(), 'lab-mirror-'))))
  await mkdir(root, { recursive: true })
  const host = options.host ?? '127.0.0.1'
  const routes: { method: string; prefix: string; handler: RouteHandler }[] = []
  const failures = new Map<string, { status: number; left: number }>()
  const requests: MirrorRequest[] = []

  const serveFile = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    count: (n: number) => void
  ): Promise<void> => {
    const key = canonicalPath(path)
    const failure = failures.get(key)
    if (failure) {
      if (--failure.left <= 0) failures.delete(key)
      res.writeHead(failure.status, { 'Content-Type': 'text/plain' })
      return void res.end(`injected failure for ${path}`)
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' })
      return void res.end()
    }
    const file = fileFor(root, path)
    const st = file ? await stat(file).catch(() => undefined) : undefined
    if (!file || !st?.isFile()) {
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      return void res.end(`not in the lab mirror: ${path}`)
    }
    const range = parseRange(req.headers.range, st.size)
    if (range === null) {
      res.writeHead(416, { 'Content-Range': `bytes */${st.size}` })
      return void res.end()
    }
    const { start, end } = range ?? { start: 0, end: st.size - 1 }
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/octet-stream',
      'Accept-Ranges': 'bytes',
      'Content-Length': Math.max(0, end - start + 1),
      'Last-Modified': st.mtime.toUTCString()
    }
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${st.size}`
    res.writeHead(range ? 206 : 200, headers)
    if (req.method === 'HEAD' || st.size === 0) return void res.end()
    const stream = createReadStream(file, { start, end })
    stream.on('data', (c) => count(c.length))
    stream.on('error', () => res.destroy())
    stream.pipe(res)
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://mirror').pathname
    let bytes = 0
    const route = routes.find((r) => (r.method === '*' || r.method === req.method) && path.startsWith(r.prefix))
    let logged = false
    // 'finish' (reply handed to the socket) comes before the client sees the end; 'close' covers aborts.
    const log = (): void => {
      if (logged) return
      logged = true
      requests.push({ method: req.method ?? '', path, status: res.writableFinished ? res.statusCode : 0, bytes })
    }
    res.on('finish', log)
    res.on('close', log)
    if (route)
      countWrites(res, (n) => {
        bytes += n
      })
    const done = route
      ? Promise.resolve(route.handler(req, res))
      : serveFile(req, res, path, (n) => {
          bytes += n
        })
    done.catch((e: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'text/plain' })
        res.end(`mirror error: ${(e as Error).message}`)
      } else res.destroy()
    })
  })
  const sockets = new Set<Socket>()
  server.on('connection', (s) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((ok, fail) => {
    server.once('error', fail)
    server.listen(options.port ?? 0, host, () => ok())
  })
  const url = `http://${host}:${(server.address() as AddressInfo).port}`

  const target = (urlPath: string): string => {
    const file = fileFor(root, urlPath)
    if (!file) throw new Error(`mirror path ${urlPath} escapes the mirror root, expected /<host>/<path>`)
    return file
  }
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= new Promise<void>((ok) => {
      for (const s of sockets) s.destroy()
      server.close(() => ok())
    }).then(() => (given ? undefined : rm(root, { recursive: true, force: true })))
    return stopped
  }
  return {
    url,
    root,
    requests,
    urlFor: (upstream) => mirrorUrl(url, upstream),
    addFile: async (urlPath, content, opts = {}) => {
      const file = target(urlPath)
      await mkdir(dirname(file), { recursive: true })
      await unlink(file).catch(() => undefined)
      if (typeof content === 'object' && !Buffer.isBuffer(content)) {
        // A big image is linked, not copied; a mode change needs an own copy.
        if (opts.mode === undefined) await symlink(resolve(content.path), file)
        else await copyFile(content.path, file)
      } else {
        await writeFile(file, content)
      }
      if (opts.mode !== undefined) await chmod(file, opts.mode)
    },
    route: (method, prefix, handler) => {
      routes.push({ method: method.toUpperCase(), prefix, handler })
    },
    bytesServed: () => requests.reduce((n, r) => n + r.bytes, 0),
    clearLog: () => {
      requests.length = 0
    },
    corrupt: async (urlPath) => {
      const file = target(urlPath)
      const link = await lstat(file).catch(() => undefined)
      if (!link) throw new Error(`mirror has no file at ${urlPath} to corrupt`)
      if (link.isSymbolicLink()) {
        // Never damage the linked original: corrupt an own copy.
        const tmp = `${file}.corrupt-copy`
        await copyFile(file, tmp)
        await rm(file)
        await copyFile(tmp, file)
        await rm(tmp)
      }
      const size = (await stat(file)).size
      if (size === 0) throw new Error(`mirror file ${urlPath} is empty, nothing to corrupt`)
      const fh = await open(file, 'r+')
      try {
        for (const pos of new Set([0, Math.floor(size / 2), size - 1])) {
          const b = Buffer.alloc(1)
          await fh.read(b, 0, 1, pos)
          b[0] = b[0]! ^ 0xff
          await fh.write(b, 0, 1, pos)
        }
      } finally {
        await fh.close()
      }
    },
    failNext: (urlPath, status, count = 1) => {
      failures.set(canonicalPath(urlPath), { status, left: count })
    },
    env: () => ({ TPI_LAB_MIRROR: url, TPI_MIRROR: url }),
    stop,
    close: stop
  }
}
