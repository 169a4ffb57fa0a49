// The real downloads and the plain adapters (TCP probe, HTTP, SSH keys, talosctl, file sources) for the
// fronts; tests reuse plainAdapters over their own exec. The BMC factory is src/adapters/bmc/factory.ts.
import { FileCacheDownloads } from '../adapters/downloads/file-cache.js'
import { createToolCacheDownloads } from '../adapters/downloads/tool-cache.js'
import type { DigestCatalog, Downloads } from '../adapters/downloads/types.js'
import { FileSource } from '../adapters/bmc/file-source.js'
import { httpFetch } from '../adapters/net/http.js'
import { tcpOpen } from '../adapters/net/tcp-probe.js'
import { sshKeys } from '../adapters/ssh/keys.js'
import { createTalosctl } from '../adapters/talosctl/exec-talosctl.js'
import type { Deps, LocalExec } from '../core/deps.js'
import type { Reporter } from '../core/reporter.js'
import { CATALOG } from '../core/tools/digests.js'

export function createDownloads(options: {
  toolCache: string
  tempDir: string
  reporter: Reporter
  front: 'action' | 'cli'
  catalog?: DigestCatalog
}): Downloads {
  const log = (message: string): void => options.reporter.info(message)
  const warn = (message: string): void => options.reporter.warn(message)
  // The lab (tests) serves its own bytes, so it hands its own catalog; everyone else gets the committed one.
  const catalog = options.catalog ?? CATALOG
  return options.front === 'action'
    ? createToolCacheDownloads({ toolCache: options.toolCache, tempDir: options.tempDir, catalog, log, warn })
    : new FileCacheDownloads({ root: options.toolCache, catalog, log, warn })
}

/** The adapters every front wires the same way (tests and the lab reuse them over their own exec). */
export function plainAdapters(exec: LocalExec): Pick<Deps, 'tcp' | 'http' | 'keys' | 'talosctl' | 'openFile'> {
  return {
    tcp: tcpOpen,
    http: httpFetch,
    keys: sshKeys,
    talosctl: (options) => createTalosctl({ exec, ...options }),
    openFile: (path, chunkBytes) => new FileSource(path, chunkBytes)
  }
}
