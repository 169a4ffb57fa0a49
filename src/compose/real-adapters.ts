// The real BMC client and downloads for the fronts. Kept apart from runtime.ts so the lab can build
// the same adapters pointed at loopback.
import type { BmcClient } from '../adapters/bmc/types.js'
import type { Downloads } from '../adapters/downloads/types.js'
import type { AddressMap } from '../adapters/net/types.js'
import type { BoardSpec } from '../core/config/model.js'
import type { Reporter } from '../core/reporter.js'
import type { RunSettings } from '../core/settings.js'

export function createBmcFactory(_settings: RunSettings, _reporter: Reporter, _net: AddressMap): (board: BoardSpec) => Promise<BmcClient> {
  return async (board) => {
    throw new Error(`BMC client for ${board.bmc.endpoint} is not available in this build`)
  }
}

export function createDownloads(_options: { toolCache: string; tempDir: string; mirror?: string; reporter: Reporter; front: 'action' | 'cli' }): Downloads {
  return {
    fetch: async (request) => {
      throw new Error(`downloads are not available in this build (${request.tool} ${request.version})`)
    }
  }
}
