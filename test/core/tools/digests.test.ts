// The committed catalog covers every artifact of the supported versions, under the exact upstream URL
// the action asks for; what it pins is well formed; and what it could not pin says so.
import { describe, expect, test } from '@jest/globals'
import { CATALOG } from '../../../src/core/tools/digests.js'
import { supportedArtifacts } from '../../../src/core/tools/supported.js'

describe('the digest catalog', () => {
  test('has an entry for every artifact of every supported version, keyed by its upstream https URL', () => {
    const missing = supportedArtifacts()
      .map((a) => a.upstream)
      .filter((url) => !(url in CATALOG))
    expect(missing).toEqual([])
  })

  test('keys are upstream https URLs and digests are 64 lowercase hex digits', () => {
    for (const [url, entry] of Object.entries(CATALOG)) {
      expect(url).toMatch(/^https:\/\//)
      if (entry.sha256 !== undefined) expect(entry.sha256).toMatch(/^[0-9a-f]{64}$/)
      expect(entry.source.length).toBeGreaterThan(10)
    }
  })

  test('an artifact without a pinned digest has an upstream checksum file, or its entry says why it is not pinned', () => {
    for (const a of supportedArtifacts()) {
      const entry = CATALOG[a.upstream]!
      if (!entry.sha256 && !a.checksum?.sumsUrl) expect(entry.source).toMatch(/not available offline/)
    }
  })
})
