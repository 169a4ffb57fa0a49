// The catalog's URLs under a mirror base (<mirror>/<upstream host><upstream path>) fetched and verified
// by the file cache, end to end against a loopback mirror. The mirror also serves checksum files; they
// are never read: the digests come from a catalog keyed by upstream URL.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileCacheDownloads } from '../../../src/adapters/downloads/file-cache.js'
import type { DigestCatalog } from '../../../src/adapters/downloads/types.js'
import { k3sBinary, kubectl, talosImage } from '../../../src/core/tools/catalog.js'

const files = new Map<string, Buffer>()
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
let server: Server
let mirror: string
let root: string
const asked: string[] = []

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mirror-'))
  const k3s = Buffer.from('k3s binary')
  const kube = Buffer.from('kubectl binary')
  files.set('/github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64', k3s)
  files.set(
    '/github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/sha256sum-arm64.txt',
    Buffer.from(`${sha(k3s)}  k3s-arm64\n${sha(Buffer.from('x'))}  k3s-airgap-images-arm64.tar.zst\n`)
  )
  files.set('/dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl', kube)
  files.set('/dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl.sha256', Buffer.from(sha(kube)))
  files.set(`/factory.talos.dev/image/${'a'.repeat(64)}/v1.9.0/metal-arm64.raw.xz`, Buffer.from('talos image'))
  server = createServer((req, res) => {
    asked.push(req.url ?? '')
    const body = files.get(req.url ?? '')
    res.writeHead(body ? 200 : 404)
    res.end(body)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  mirror = `http://127.0.0.1:${(server.address() as { port: number }).port}/`
})
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()))
  await rm(root, { recursive: true, force: true })
})

const catalog = (): DigestCatalog => ({
  'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64': {
    sha256: sha(Buffer.from('k3s binary')),
    source: 'test'
  },
  'https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl': {
    sha256: sha(Buffer.from('kubectl binary')),
    source: 'test'
  }
})

describe('downloads through a mirror', () => {
  test('k3s with +k3s1 in the URL, verified by its upstream URL in the catalog, cached as 1.31.3-k3s1', async () => {
    const got = await new FileCacheDownloads({ root, catalog: catalog() }).fetch(
      k3sBinary('v1.31.3+k3s1', 'arm64', mirror)
    )
    expect(got.path).toBe(join(root, 'k3s/1.31.3-k3s1/arm64/k3s-arm64'))
    expect(got.downloaded).toBe(true)
  })

  test("kubectl verified by the catalog; the mirror's own .sha256 is never asked for", async () => {
    const got = await new FileCacheDownloads({ root, catalog: catalog() }).fetch(kubectl('v1.31.0', 'x64', mirror))
    expect(got.sha256).toBe(sha(Buffer.from('kubectl binary')))
    expect(asked).not.toContain('/dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl.sha256')
  })

  test('checksum files are addressed at the upstream host over https, never under the mirror', () => {
    expect(k3sBinary('v1.31.3+k3s1', 'arm64', mirror).checksum?.sumsUrl).toBe(
      'https://github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/sha256sum-arm64.txt'
    )
    expect(kubectl('v1.31.0', 'x64', mirror).checksum?.sumsUrl).toBe(
      'https://dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl.sha256'
    )
  })

  test('a Talos image with a wrong pin is discarded', async () => {
    const req = talosImage('a'.repeat(64), 'v1.9.0', mirror, '0'.repeat(64))
    await expect(new FileCacheDownloads({ root }).fetch(req)).rejects.toMatchObject({ code: 'ChecksumMismatch' })
    const ok = await new FileCacheDownloads({ root }).fetch(
      talosImage('a'.repeat(64), 'v1.9.0', mirror, sha(Buffer.from('talos image')))
    )
    expect(ok.path.endsWith(`talos-image/1.9.0-s${'a'.repeat(64)}/arm64/metal-arm64.raw.xz`)).toBe(true)
  })
})
