import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canonicalPath, mirrorUrl, startMirror, type Mirror } from '../../../lab/mirror/index.js'

interface Got {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}
function get(url: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
      .on('error', reject)
      .end()
  })
}

const K3S = 'https://github.com/k3s-io/k3s/releases/download/v1.31.3+k3s1/k3s-arm64'

describe('lab download mirror', () => {
  let m: Mirror
  let scratch: string
  beforeAll(async () => {
    m = await startMirror()
    scratch = await mkdtemp(join(tmpdir(), 'mirror-test-'))
  })
  afterAll(async () => {
    await m.stop()
    await rm(scratch, { recursive: true, force: true })
  })
  beforeEach(() => m.clearLog())

  it('maps an upstream URL to <base>/<host><path> on loopback', () => {
    expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(mirrorUrl(m.url, K3S)).toBe(`${m.url}/github.com/k3s-io/k3s/releases/download/v1.31.3+k3s1/k3s-arm64`)
    expect(m.urlFor(K3S)).toBe(mirrorUrl(m.url, K3S))
  })

  it('serves a "+" path whether the client sends it literally or as %2B, with Content-Length', async () => {
    await m.addFile('/github.com/k3s-io/k3s/releases/download/v1.31.3+k3s1/k3s-arm64', 'k3s binary')
    const literal = await get(m.urlFor(K3S))
    const encoded = await get(`${m.url}/github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64`)
    expect(literal.status).toBe(200)
    expect(literal.body.toString()).toBe('k3s binary')
    expect(literal.headers['content-length']).toBe('10')
    expect(encoded.body.toString()).toBe('k3s binary')
    expect(canonicalPath('/a/v1%2Bk3s1')).toBe(canonicalPath('/a/v1+k3s1'))
  })

  it('accepts a file added by upstream URL with %2B and finds it by the literal path', async () => {
    await m.addFile('https://dl.example/x/v2%2Bb/tool', Buffer.from('t'))
    expect((await get(`${m.url}/dl.example/x/v2+b/tool`)).body.toString()).toBe('t')
  })

  it('answers HEAD with the length and no body, and 404 for an unknown file', async () => {
    await m.addFile('/h.example/f', 'abcdef')
    const head = await get(`${m.url}/h.example/f`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe('6')
    expect(head.body.length).toBe(0)
    expect((await get(`${m.url}/h.example/missing`)).status).toBe(404)
  })

  it('serves a single byte range with 206 and Content-Range, and 416 past the end', async () => {
    await m.addFile('/r.example/f', '0123456789')
    const part = await get(`${m.url}/r.example/f`, { headers: { Range: 'bytes=2-5' } })
    expect(part.status).toBe(206)
    expect(part.body.toString()).toBe('2345')
    expect(part.headers['content-range']).toBe('bytes 2-5/10')
    expect((await get(`${m.url}/r.example/f`, { headers: { Range: 'bytes=7-' } })).body.toString()).toBe('789')
    expect((await get(`${m.url}/r.example/f`, { headers: { Range: 'bytes=-3' } })).body.toString()).toBe('789')
    expect((await get(`${m.url}/r.example/f`, { headers: { Range: 'bytes=20-30' } })).status).toBe(416)
  })

  it('logs every request with method, path, status and body bytes, so a warm cache can be shown to fetch nothing', async () => {
    await m.addFile('/l.example/f', 'xyz')
    m.clearLog()
    expect(m.requests).toEqual([])
    await get(`${m.url}/l.example/f`)
    await get(`${m.url}/l.example/none`)
    expect(m.requests).toEqual([
      { method: 'GET', path: '/l.example/f', status: 200, bytes: 3 },
      { method: 'GET', path: '/l.example/none', status: 404, bytes: 0 }
    ])
    expect(m.bytesServed()).toBe(3)
  })

  it('links a file given by path without copying it, and corrupt() damages only the served copy', async () => {
    const original = join(scratch, 'image.raw')
    await writeFile(original, Buffer.alloc(4096, 1))
    await m.addFile('/i.example/image.raw', { path: original })
    const before = await get(`${m.url}/i.example/image.raw`)
    await m.corrupt('/i.example/image.raw')
    const after = await get(`${m.url}/i.example/image.raw`)
    const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
    expect(after.body.length).toBe(4096)
    expect(sha(after.body)).not.toBe(sha(before.body))
    expect((await readFile(original)).equals(Buffer.alloc(4096, 1))).toBe(true)
  })

  it('applies a file mode when asked', async () => {
    await m.addFile('/x.example/bin/tool', '#!/bin/sh\n', { mode: 0o755 })
    const { stat } = await import('node:fs/promises')
    expect((await stat(join(m.root, 'x.example/bin/tool'))).mode & 0o777).toBe(0o755)
  })

  it('fails the next N requests of a path with the injected status, then serves it again', async () => {
    await m.addFile('/f.example/f', 'ok')
    m.failNext('/f.example/f', 503, 2)
    expect((await get(`${m.url}/f.example/f`)).status).toBe(503)
    expect((await get(`${m.url}/f.example/f`)).status).toBe(503)
    expect((await get(`${m.url}/f.example/f`)).status).toBe(200)
  })

  it('routes a registered prefix to its handler first (the Talos factory hook), and logs it', async () => {
    m.route('POST', '/factory.talos.dev/schematics', (req, res) => {
      req.resume()
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': 9 })
      res.end('{"id":"1"}'.slice(0, 9))
    })
    const r = await get(`${m.url}/factory.talos.dev/schematics`, { method: 'POST' })
    expect(r.status).toBe(201)
    expect(m.requests.at(-1)).toMatchObject({
      method: 'POST',
      path: '/factory.talos.dev/schematics',
      status: 201,
      bytes: 9
    })
    expect((await get(`${m.url}/factory.talos.dev/schematics`)).status).toBe(404) // GET is not routed
  })

  it('keeps every path inside its root: ".." segments are clamped, never followed', async () => {
    await m.addFile('/../../escape.example/x', 'inside')
    expect(await readFile(join(m.root, 'escape.example/x'), 'utf8')).toBe('inside')
    expect((await get(`${m.url}/%2e%2e/%2e%2e/etc/passwd`)).status).toBe(404)
  })
})
