// The catalog's URLs under a mirror base (<mirror>/<upstream host><upstream path>) fetched and verified
// by the file cache, end to end against a loopback mirror.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileCacheDownloads } from '../../../src/adapters/downloads/file-cache.js'
import { k3sBinary, kubectl, talosImage } from '../../../src/core/tools/catalog.js'

const files = new Map<string, Buffer>()
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
let server: Server
let mirror: string
let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mirror-'))
  const k3s = Buffer.from('k3s binary')
  const kube = Buffer.from('kubectl binary')
  files.set('/github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/k3s-arm64', k3s)
  files.set('/github.com/k3s-io/k3s/releases/download/v1.31.3%2Bk3s1/sha256sum-arm64.txt', Buffer.from(`${sha(k3s)}  k3s-arm64\n${sha(Buffer.from('x'))}  k3s-airgap-images-arm64.tar.zst\n`))
  files.set('/dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl', kube)
  files.set('/dl.k8s.io/release/v1.31.0/bin/linux/amd64/kubectl.sha256', Buffer.from(sha(kube)))
  files.set(`/factory.talos.dev/image/${'a'.repeat(64)}/v1.9.0/metal-arm64.raw.xz`, Buffer.from('talos image'))
  server = createServer((req, res) => {
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

describe('downloads through a mirror', () => {
  test('k3s with +k3s1 in the URL, verified from sha256sum-arm64.txt, cached as 1.31.3-k3s1', async () => {
    const got = await new FileCacheDownloads({ root }).fetch(k3sBinary('v1.31.3+k3s1', 'arm64', mirror))
    expect(got.path).toBe(join(root, 'k3s/1.31.3-k3s1/arm64/k3s-arm64'))
    expect(got.downloaded).toBe(true)
  })

  test('kubectl verified from its bare .sha256', async () => {
    const got = await new FileCacheDownloads({ root }).fetch(kubectl('v1.31.0', 'x64', mirror))
    expect(got.sha256).toBe(sha(Buffer.from('kubectl binary')))
  })

  test('a Talos image with a wrong pin is discarded', async () => {
    const req = talosImage('a'.repeat(64), 'v1.9.0', mirror, '0'.repeat(64))
    await expect(new FileCacheDownloads({ root }).fetch(req)).rejects.toMatchObject({ code: 'ChecksumMismatch' })
    const ok = await new FileCacheDownloads({ root }).fetch(talosImage('a'.repeat(64), 'v1.9.0', mirror, sha(Buffer.from('talos image'))))
    expect(ok.path.endsWith(`talos-image/1.9.0-s${'a'.repeat(64)}/arm64/metal-arm64.raw.xz`)).toBe(true)
  })
})
