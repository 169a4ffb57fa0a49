// The cluster file's `digests:` pins reach the downloads adapter as the request's own pin, for the
// upstream URL they name and for nothing else.
import { describe, expect, it } from '@jest/globals'
import type { ArtifactRequest, CachedArtifact, Downloads } from '../../../src/adapters/downloads/types.js'
import { withPinnedDigests } from '../../../src/core/tools/pins.js'

const INSTALL = 'https://raw.githubusercontent.com/k3s-io/k3s/v1.31.3%2Bk3s1/install.sh'
const PIN = 'ab'.repeat(32)

function recording(): { downloads: Downloads; seen: ArtifactRequest[] } {
  const seen: ArtifactRequest[] = []
  return {
    seen,
    downloads: {
      fetch: async (r): Promise<CachedArtifact> => (
        seen.push(r),
        { path: '/x', sha256: PIN, bytes: 1, downloaded: true }
      )
    }
  }
}

const request = (upstream: string, extra: Partial<ArtifactRequest> = {}): ArtifactRequest => ({
  tool: 'k3s-install',
  version: '1.31.3',
  arch: 'arm64',
  url: `http://mirror.lan/${upstream.slice(8)}`,
  upstream,
  fileName: 'install.sh',
  ...extra
})

describe('digest pins from the cluster file', () => {
  it('hand the pin for the upstream URL they name to the downloads adapter, fetched from the mirror still', async () => {
    const { downloads, seen } = recording()
    await withPinnedDigests(downloads, { [INSTALL]: PIN }).fetch(
      request(INSTALL, { checksum: { sumsUrl: 'https://example.org/sums' } })
    )
    expect(seen[0]!.checksum).toEqual({ sumsUrl: 'https://example.org/sums', sha256: PIN })
    expect(seen[0]!.url).toBe('http://mirror.lan/raw.githubusercontent.com/k3s-io/k3s/v1.31.3%2Bk3s1/install.sh')
  })

  it('leave every other download, and one the file already pins elsewhere (armbian_image.sha256), as it was', async () => {
    const { downloads, seen } = recording()
    const pinned = withPinnedDigests(downloads, { [INSTALL]: PIN })
    const other = request('https://example.org/other.tar.gz')
    await pinned.fetch(other)
    const own = request(INSTALL, { checksum: { sha256: 'cd'.repeat(32) } })
    await pinned.fetch(own)
    expect(seen).toEqual([other, own])
  })

  it('never let a pinned Image Factory download skip its check as a first use over https', async () => {
    const { downloads, seen } = recording()
    await withPinnedDigests(downloads, { [INSTALL]: PIN }).fetch(request(INSTALL, { firstUseOverHttps: true }))
    expect(seen[0]!.firstUseOverHttps).toBe(false)
  })
})
