// The action's downloads: the same layout as @actions/tool-cache under RUNNER_TOOL_CACHE (so tc.find in
// a later step sees what this wrote), filled and verified by FileCacheDownloads. A cache hit is never
// taken on the cache's word: another job on the same runner can write there (see file-cache.ts).
import { FileCacheDownloads } from './file-cache.js'
import type { DigestCatalog, Downloads } from './types.js'

export interface ToolCacheOptions {
  /** RUNNER_TOOL_CACHE; set into process.env when tool-cache needs it (CLI, lab). */
  toolCache: string
  /** RUNNER_TEMP. */
  tempDir: string
  catalog: DigestCatalog
  log?: (message: string) => void
  warn?: (message: string) => void
}

export function createToolCacheDownloads(options: ToolCacheOptions): Downloads {
  process.env.RUNNER_TOOL_CACHE ??= options.toolCache
  process.env.RUNNER_TEMP ??= options.tempDir
  return new FileCacheDownloads({
    root: process.env.RUNNER_TOOL_CACHE,
    catalog: options.catalog,
    log: options.log,
    warn: options.warn
  })
}
