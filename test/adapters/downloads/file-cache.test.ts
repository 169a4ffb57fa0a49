import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileCacheDownloads } from '../../../src/adapters/downloads/file-cache.js'
import { createToolCacheDownloads } from '../../../src/adapters/downloads/tool-cache.js'
import { findChecksum } from '../../../src/adapters/downloads/checksum.js'
import type { ArtifactRequest } from '../../../src/adapters/downloads/types.js'

const payload = Buffer.from('#!/bin/sh\necho fake talosctl\n')
const sha = createHash('sha256').update(payload).digest('hex')
let server: Server
let base: string
let root: string
const hits: string[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dl-'))
  server = createServer((req, res) => {
    hits.push(req.url ?? '')
    if (req.url === '/rel/talosctl-linux-arm64') return res.end(payload)
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/rel/talosctl-linux-arm64' })
      return res.end()
    }
    if (req.url === '/rel/sha256sum.txt') return res.end(`${'0'.repeat(64)}  talosctl-linux-amd64\n${sha}  _out/talosctl-linux-arm64\n`)
    res.writeHead(404)
    res.end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  await rm(root, { recursive: true, force: true })
})

const req = (over: Partial<ArtifactRequest> = {}): ArtifactRequest => ({
  tool: 'talosctl', version: '1.9.0', arch: 'arm64', fileName: 'talosctl-linux-arm64', executable: true,
  url: `${base}/rel/talosctl-linux-arm64`,
  checksum: { sumsUrl: `${base}/rel/sha256sum.txt`, sumsEntry: 'talosctl-linux-arm64' },
  ...over
})

describe('FileCacheDownloads', () => {
  test('downloads, verifies against the sums file by basename, and caches in the tool-cache layout', async () => {
    const dl = new FileCacheDownloads({ root })
    const got = await dl.fetch(req())
    expect(got).toEqual({ path: join(root, 'talosctl/1.9.0/arm64/talosctl-linux-arm64'), sha256: sha, bytes: payload.length, downloaded: true })
    expect(existsSync(join(root, 'talosctl/1.9.0/arm64.complete'))).toBe(true)
    expect((await stat(got.path)).mode & 0o777).toBe(0o755)
    expect(await readFile(got.path)).toEqual(payload)
  })

  test('skips the download entirely when cached', async () => {
    const dl = new FileCacheDownloads({ root })
    await dl.fetch(req())
    const before = hits.length
    const again = await dl.fetch(req())
    expect(again.downloaded).toBe(false)
    expect(hits.length).toBe(before)
  })

  test('a pin mismatch is fatal and leaves nothing in the cache', async () => {
    const dl = new FileCacheDownloads({ root })
    const bad = req({ version: '1.9.1', checksum: { sha256: 'f'.repeat(64) } })
    await expect(dl.fetch(bad)).rejects.toMatchObject({ code: 'ChecksumMismatch', message: expect.stringContaining(`sha256 is ${sha}, expected ${'f'.repeat(64)}`) })
    expect(await readdir(join(root, 'talosctl/1.9.1'))).toEqual([])
    expect(existsSync(join(root, 'talosctl/1.9.1/arm64.complete'))).toBe(false)
  })

  test('a sums file without the entry refuses an unverified download', async () => {
    const dl = new FileCacheDownloads({ root })
    await expect(dl.fetch(req({ version: '1.9.2', checksum: { sumsUrl: `${base}/rel/sha256sum.txt`, sumsEntry: 'other' } }))).rejects.toMatchObject({ code: 'ChecksumMissing' })
  })

  test('follows redirects', async () => {
    const dl = new FileCacheDownloads({ root })
    const got = await dl.fetch(req({ version: '1.9.3', url: `${base}/redirect` }))
    expect(got.sha256).toBe(sha)
  })

  test('refuses a non-semver cache key', async () => {
    const dl = new FileCacheDownloads({ root })
    await expect(dl.fetch(req({ version: 'v1.31.3+k3s1' }))).rejects.toMatchObject({ code: 'BadCacheKey' })
  })

  test('the tool-cache front finds what the file cache stored (same layout)', async () => {
    const dl = createToolCacheDownloads({ toolCache: root, tempDir: root })
    await new FileCacheDownloads({ root }).fetch(req({ version: '1.9.4' }))
    const before = hits.length
    const got = await dl.fetch(req({ version: '1.9.4' }))
    expect(got).toMatchObject({ downloaded: false, sha256: sha })
    expect(hits.length).toBe(before)
  })
})

describe('findChecksum', () => {
  test('reads a bare kubectl .sha256 digest', () => {
    expect(findChecksum(`${'a'.repeat(64)}\n`)).toBe('a'.repeat(64))
  })
  test('matches helm-style "<hex>  <name>" on the basename', () => {
    expect(findChecksum(`${'B'.repeat(64)}  helm-v3.16.0-linux-arm64.tar.gz`, 'helm-v3.16.0-linux-arm64.tar.gz')).toBe('b'.repeat(64))
  })
  test('undefined when the entry is missing', () => {
    expect(findChecksum(`${'a'.repeat(64)}  k3s`, 'k3s-arm64')).toBeUndefined()
  })
})
