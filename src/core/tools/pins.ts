// The cluster file's `digests:` map: sha256 pins by upstream https URL for what the committed digest
// catalog does not pin yet (the k3s install.sh, the NPU runtimes, rkllama, models, a newer version).
// They reach the downloads adapter as the request's pin, the same path as `armbian_image.sha256`, so a
// hostile mirror is still checked against a digest that did not come from it; where the catalog has a
// digest too, the two must agree (file-cache.ts), so a file edit cannot replace a catalog pin.
import type { Downloads } from '../../adapters/downloads/types.js'

export function withPinnedDigests(downloads: Downloads, pins: Record<string, string> | undefined): Downloads {
  if (!pins || !Object.keys(pins).length) return downloads
  return {
    fetch: (request) => {
      const pin = pins[request.upstream]
      if (!pin || request.checksum?.sha256) return downloads.fetch(request)
      return downloads.fetch({ ...request, checksum: { ...request.checksum, sha256: pin }, firstUseOverHttps: false })
    }
  }
}
