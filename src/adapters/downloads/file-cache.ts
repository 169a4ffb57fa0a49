// Downloads into the tool-cache layout without @actions/tool-cache, so the CLI and the lab share the
// action's cache format:  <root>/<tool>/<version>/<arch>/<file>  plus  <root>/<tool>/<version>/<arch>.complete
// The file is streamed to a staging folder on the same filesystem while being hashed, verified, then
// renamed into place: one copy of a multi-GB image, never a second. A sidecar <file>.sha256 spares
// re-hashing on a cache hit. A checksum mismatch is fatal and the staged file is deleted.
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { TpiError } from '../../core/errors.js'
import { findChecksum } from './checksum.js'
import { getText, openUrl } from './http-get.js'
import type { ArtifactRequest, CachedArtifact, Checksum, Downloads } from './types.js'

export interface FileCacheOptions {
  /** The cache root (RUNNER_TOOL_CACHE on a runner). */
  root: string
  /** Progress lines (bytes so far) for long downloads. */
  log?: (message: string) => void
}

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/

export class FileCacheDownloads implements Downloads {
  constructor(private readonly options: FileCacheOptions) {}

  dir(request: ArtifactRequest): string {
    return join(this.options.root, request.tool, request.version, request.arch)
  }

  /** The cached artifact, or undefined. */
  async find(request: ArtifactRequest): Promise<CachedArtifact | undefined> {
    const dir = this.dir(request)
    const path = join(dir, request.fileName)
    try {
      await stat(`${dir}.complete`)
      const [info, sha] = await Promise.all([stat(path), readFile(`${path}.sha256`, 'utf8')])
      return { path, sha256: sha.trim(), bytes: info.size, downloaded: false }
    } catch {
      return undefined
    }
  }

  async fetch(request: ArtifactRequest): Promise<CachedArtifact> {
    if (!SEMVER.test(request.version)) {
      throw new TpiError('BadCacheKey', `cache key ${request.tool} "${request.version}" is not full semver (x.y.z[-pre]); it would never be found again`)
    }
    const hit = await this.find(request)
    if (hit) return hit
    const expected = await this.expected(request)
    const dir = this.dir(request)
    const staging = `${dir}.staging-${process.pid}-${Date.now()}`
    await mkdir(staging, { recursive: true })
    try {
      const stagedFile = join(staging, request.fileName)
      const hash = createHash('sha256')
      let bytes = 0
      let nextLog = 256 * 2 ** 20
      const res = await openUrl(request.url)
      const tap = new Transform({
        transform: (chunk: Buffer, _enc, done) => {
          hash.update(chunk)
          bytes += chunk.length
          if (bytes >= nextLog) {
            this.options.log?.(`${request.tool} ${request.fileName}: ${(bytes / 2 ** 20).toFixed(0)} MiB`)
            nextLog += 256 * 2 ** 20
          }
          done(null, chunk)
        }
      })
      await pipeline(res, tap, createWriteStream(stagedFile, { mode: 0o644 }))
      const sha256 = hash.digest('hex')
      if (expected && expected !== sha256) {
        throw new TpiError('ChecksumMismatch', `${request.tool} ${request.fileName} from ${request.url}: sha256 is ${sha256}, expected ${expected}; the download was discarded`)
      }
      if (request.executable) await chmod(stagedFile, 0o755)
      await writeFile(`${stagedFile}.sha256`, `${sha256}\n`)
      await rm(dir, { recursive: true, force: true })
      await mkdir(dirname(dir), { recursive: true })
      await rename(staging, dir)
      await writeFile(`${dir}.complete`, '')
      return { path: join(dir, request.fileName), sha256, bytes, downloaded: true }
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  }

  private async expected(request: ArtifactRequest): Promise<string | undefined> {
    const c: Checksum | undefined = request.checksum
    if (c?.sha256) return c.sha256.toLowerCase()
    if (!c?.sumsUrl) return undefined
    const text = await getText(c.sumsUrl)
    const digest = findChecksum(text, c.sumsEntry)
    if (!digest) {
      throw new TpiError('ChecksumMissing', `checksum file ${c.sumsUrl} has no entry for ${c.sumsEntry ?? '(bare digest)'}; refusing an unverified ${request.tool}`)
    }
    return digest
  }
}
