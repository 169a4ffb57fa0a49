// The action's downloads: @actions/tool-cache finds what an earlier job step or a cached runner holds;
// misses are downloaded by FileCacheDownloads into the SAME layout under RUNNER_TOOL_CACHE, so tc.find
// sees them later. tc.downloadTool + tc.cacheFile is not used because it writes a second copy of a
// multi-GB image and does not hash while streaming.
import * as tc from '@actions/tool-cache'
import { join } from 'node:path'
import { readFile, stat } from 'node:fs/promises'
import { FileCacheDownloads } from './file-cache.js'
import type { ArtifactRequest, CachedArtifact, Downloads } from './types.js'

export interface ToolCacheOptions {
  /** RUNNER_TOOL_CACHE; set into process.env when tool-cache needs it (CLI, lab). */
  toolCache: string
  /** RUNNER_TEMP. */
  tempDir: string
  log?: (message: string) => void
}

export function createToolCacheDownloads(options: ToolCacheOptions): Downloads {
  process.env.RUNNER_TOOL_CACHE ??= options.toolCache
  process.env.RUNNER_TEMP ??= options.tempDir
  const files = new FileCacheDownloads({ root: process.env.RUNNER_TOOL_CACHE, log: options.log })
  return {
    async fetch(request: ArtifactRequest): Promise<CachedArtifact> {
      const dir = tc.find(request.tool, request.version, request.arch)
      if (dir) {
        const path = join(dir, request.fileName)
        try {
          const [info, sha] = await Promise.all([stat(path), readFile(`${path}.sha256`, 'utf8')])
          return { path, sha256: sha.trim(), bytes: info.size, downloaded: false }
        } catch {
          /* cached by someone else without our sidecar: fall through and refresh */
        }
      }
      return files.fetch(request)
    }
  }
}
