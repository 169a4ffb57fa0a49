// Downloads into the tool-cache layout without @actions/tool-cache, so the CLI and the lab share the
// action's cache format:  <root>/<tool>/<version>/<arch>/<file>  plus  <root>/<tool>/<version>/<arch>.complete
// The file is streamed to a staging folder on the same filesystem while being hashed, verified, then
// renamed into place: one copy of a multi-GB image, never a second.
//
// Trust: the expected digest comes from the user's pin, the committed catalog, or the upstream project's
// checksum file read over https from the upstream host; never from the mirror that serves the bytes, and
// never from the cache itself. A cache hit is hashed once against that digest; afterwards only a record
// carrying that same digest and the file's size and mtime spares the re-hash. A cached file that does not
// match is a warning, is discarded and fetched again (the tool cache is shared with other jobs).
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { TpiError } from '../../core/errors.js'
import { findChecksum } from './checksum.js'
import { getText, openUrl } from './http-get.js'
import type { ArtifactRequest, CachedArtifact, DigestCatalog, Downloads } from './types.js'

export interface FileCacheOptions {
  /** The cache root (RUNNER_TOOL_CACHE on a runner). */
  root: string
  /** Digests by upstream URL: the committed catalog, or the lab's own (tests only). */
  catalog?: DigestCatalog
  /** Progress lines (bytes so far) for long downloads. */
  log?: (message: string) => void
  /** A cached file discarded because it does not match. */
  warn?: (message: string) => void
  /** Extra trusted CA for https (tests' loopback upstream host). */
  ca?: string
}

export interface Expected {
  sha256: string
  /** Where the digest came from, for messages. */
  from: string
}

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/
const HEX64 = /^[0-9a-f]{64}$/
/** Beside a cached file: the digest it was verified against, its size and mtime at that moment. */
const RECORD = '.verified'

interface VerifiedRecord {
  sha256: string
  size: number
  mtimeMs: number
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function readRecord(path: string): Promise<VerifiedRecord | undefined> {
  try {
    const r = JSON.parse(await readFile(path, 'utf8')) as Partial<VerifiedRecord>
    return typeof r.sha256 === 'string' && typeof r.size === 'number' && typeof r.mtimeMs === 'number'
      ? (r as VerifiedRecord)
      : undefined
  } catch {
    return undefined
  }
}

async function writeRecord(file: string, sha256: string): Promise<void> {
  const info = await stat(file)
  await writeFile(`${file}${RECORD}`, JSON.stringify({ sha256, size: info.size, mtimeMs: info.mtimeMs }))
}

export class FileCacheDownloads implements Downloads {
  constructor(private readonly options: FileCacheOptions) {}

  dir(request: ArtifactRequest): string {
    return join(this.options.root, request.tool, request.version, request.arch)
  }

  /**
   * The digest `request` must have, and where it came from; undefined only for a first use straight from
   * the upstream https host (`firstUseOverHttps`); throws when nothing can vouch for the bytes.
   */
  async expected(request: ArtifactRequest): Promise<Expected | undefined> {
    const c = request.checksum
    const name = `${request.tool} ${request.fileName}`
    if (c?.sha256) {
      const pin = c.sha256.toLowerCase().replace(/^sha256:/, '')
      if (!HEX64.test(pin)) throw new TpiError('BadDigest', `${name}: pinned sha256 "${c.sha256}" is not 64 hex digits`)
      // A pin in the file never overrides the committed catalog: an edited file could otherwise vouch for
      // bytes a hostile mirror serves in place of a release the catalog knows.
      const known = this.options.catalog?.[request.upstream]?.sha256?.toLowerCase()
      if (known && known !== pin)
        throw new TpiError(
          'PinConflict',
          `${name} (${request.upstream}): the sha256 pinned in the cluster file (${pin}) differs from the digest catalog's (${known}); remove the pin or correct it`
        )
      return { sha256: pin, from: 'the sha256 pinned in the cluster file' }
    }
    const entry = this.options.catalog?.[request.upstream]
    if (entry?.sha256) return { sha256: entry.sha256.toLowerCase(), from: `the digest catalog (${entry.source})` }
    if (c?.sumsUrl) {
      // The checksum file must come from the upstream host over https: a mirror (or plain http) could
      // serve a checksum that matches the bytes it replaced.
      if (!c.sumsUrl.startsWith('https://'))
        throw new TpiError(
          'UntrustedChecksum',
          `${name}: checksum file ${c.sumsUrl} is not an https upstream URL; refusing a digest that could come from where the bytes come from`
        )
      const digest = findChecksum(await getText(c.sumsUrl, { ca: this.options.ca }), c.sumsEntry)
      if (!digest)
        throw new TpiError(
          'ChecksumMissing',
          `checksum file ${c.sumsUrl} has no entry for ${c.sumsEntry ?? '(bare digest)'}; refusing an unverified ${request.tool}`
        )
      return { sha256: digest, from: c.sumsUrl }
    }
    if (request.firstUseOverHttps && request.url === request.upstream && request.url.startsWith('https://'))
      return undefined
    throw new TpiError(
      'Unverified',
      `${name} (${request.upstream}): no digest to check it against: it is not in the digest catalog${entry ? ` (${entry.source})` : ''}, upstream publishes no checksum file, and no sha256 is pinned; pin its sha256 in the cluster file (digests: { "${request.upstream}": <sha256> }) or use a version the catalog lists`
    )
  }

  /** The cached artifact when it matches `expected`; a mismatching entry is discarded (undefined). */
  async cached(request: ArtifactRequest, expected: Expected): Promise<CachedArtifact | undefined> {
    const dir = this.dir(request)
    const path = join(dir, request.fileName)
    let size: number
    let mtimeMs: number
    try {
      await stat(`${dir}.complete`)
      ;({ size, mtimeMs } = await stat(path))
    } catch {
      return undefined
    }
    const record = await readRecord(`${path}${RECORD}`)
    if (record && record.sha256 === expected.sha256 && record.size === size && record.mtimeMs === mtimeMs)
      return { path, sha256: expected.sha256, bytes: size, downloaded: false }
    const actual = await sha256OfFile(path)
    if (actual === expected.sha256) {
      await writeRecord(path, actual)
      return { path, sha256: actual, bytes: size, downloaded: false }
    }
    this.options.warn?.(
      `cached ${request.tool} ${path} has sha256 ${actual}, expected ${expected.sha256} (from ${expected.from}); discarded, downloading it again`
    )
    await rm(`${dir}.complete`, { force: true })
    await rm(dir, { recursive: true, force: true })
    return undefined
  }

  async fetch(request: ArtifactRequest): Promise<CachedArtifact> {
    if (!SEMVER.test(request.version)) {
      throw new TpiError(
        'BadCacheKey',
        `cache key ${request.tool} "${request.version}" is not full semver (x.y.z[-pre]); it would never be found again`
      )
    }
    const expected = await this.expected(request)
    // Without an expected digest a cached file cannot be vouched for: download it again.
    const hit = expected && (await this.cached(request, expected))
    if (hit) return hit
    const dir = this.dir(request)
    const staging = `${dir}.staging-${process.pid}-${Date.now()}`
    await mkdir(staging, { recursive: true })
    try {
      const stagedFile = join(staging, request.fileName)
      const hash = createHash('sha256')
      let bytes = 0
      let nextLog = 256 * 2 ** 20
      const res = await openUrl(request.url, { ca: this.options.ca })
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
      if (expected && expected.sha256 !== sha256) {
        throw new TpiError(
          'ChecksumMismatch',
          `${request.tool} ${request.fileName} from ${request.url}: sha256 is ${sha256}, expected ${expected.sha256} (from ${expected.from}); the download was discarded`
        )
      }
      if (request.executable) await chmod(stagedFile, 0o755)
      await rm(`${dir}.complete`, { force: true })
      await rm(dir, { recursive: true, force: true })
      await mkdir(dirname(dir), { recursive: true })
      await rename(staging, dir)
      const path = join(dir, request.fileName)
      await writeRecord(path, sha256)
      await writeFile(`${dir}.complete`, '')
      return { path, sha256, bytes, downloaded: true }
    } finally {
      await rm(staging, { recursive: true, force: true })
    }
  }
}
