// The real BMC client and downloads for the fronts. Kept apart from runtime.ts so the lab can build
// the same adapters pointed at loopback.
import { createBmcClient } from '../adapters/bmc/client.js'
import type { BmcClient } from '../adapters/bmc/types.js'
import { FileCacheDownloads } from '../adapters/downloads/file-cache.js'
import { createToolCacheDownloads } from '../adapters/downloads/tool-cache.js'
import type { DigestCatalog, Downloads } from '../adapters/downloads/types.js'
import { FileSource } from '../adapters/bmc/file-source.js'
import { httpFetch } from '../adapters/net/http.js'
import { tcpOpen } from '../adapters/net/tcp-probe.js'
import type { AddressMap } from '../adapters/net/types.js'
import { sshKeys } from '../adapters/ssh/keys.js'
import { createTalosctl } from '../adapters/talosctl/exec-talosctl.js'
import type { Deps, LocalExec } from '../core/deps.js'
import { TpiError } from '../core/errors.js'
import type { Reporter } from '../core/reporter.js'
import type { RunSettings } from '../core/settings.js'
import { CATALOG } from '../core/tools/digests.js'

/**
 * One logged-in client per board, made on first use (validate and a static plan never log in). The first
 * caller's signal (drift giving up on a board) ends that client's requests and retries.
 */
export function createBmcFactory(settings: RunSettings, reporter: Reporter, net: AddressMap): Deps['bmc'] {
  const clients = new Map<string, Promise<BmcClient>>()
  return (board, options = {}) => {
    let client = clients.get(board.name)
    if (!client) {
      const password = settings.secrets.bmcPassword
      if (!password)
        return Promise.reject(new TpiError('BmcPasswordMissing', `board ${board.name}: the BMC at ${board.bmc.endpoint} needs the bmc-password input (TPI_BMC_PASSWORD for the CLI)`))
      client = createBmcClient({
        endpoint: board.bmc.endpoint,
        username: settings.bmcUsername ?? board.bmc.username,
        password,
        fingerprint: board.bmc.tls.fingerprint,
        insecure: board.bmc.tls.insecure,
        net,
        reporter,
        signal: options.signal
      })
      client.catch(() => clients.delete(board.name))
      clients.set(board.name, client)
    }
    return client
  }
}

export function createDownloads(options: { toolCache: string; tempDir: string; reporter: Reporter; front: 'action' | 'cli'; catalog?: DigestCatalog }): Downloads {
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
