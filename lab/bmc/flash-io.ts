// The data path of a flash: raw stream → (length + sha256 tap) → [xz -dc] → throttle → eMMC file, and the
// CRC read-back. Everything streams, so a 2 GiB image never sits in memory.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { Duplex, Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** A failure the worker reports verbatim as Error("<message>"). */
export class FlashFailure extends Error {}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error)
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = (): void => {
      clearTimeout(t)
      reject(signal.reason as Error)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** Passes bytes through at most `rate` bytes/s (undefined = unlimited), reporting each chunk. */
export function throttle(rate: number | undefined, onBytes: (n: number) => void): Transform {
  const start = Date.now()
  let total = 0
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      total += chunk.length
      const wait = rate ? start + (total / rate) * 1000 - Date.now() : 0
      const pass = (): void => {
        onBytes(chunk.length)
        cb(null, chunk)
      }
      if (wait > 0) setTimeout(pass, wait)
      else pass()
    }
  })
}

export interface RawTap {
  stream: Transform
  digest(): string
  count(): number
}

/** Counts and hashes the raw (still compressed) stream as the worker receives it; no length check here (the upload handler does it). */
export function rawTap(): RawTap {
  const hash = createHash('sha256')
  let n = 0
  const stream = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length
      hash.update(chunk)
      cb(null, chunk)
    }
  })
  return { stream, digest: () => hash.copy().digest('hex'), count: () => n }
}

/**
 * bmcd decodes with async-compression over liblzma; its errors reach the status as liblzma's texts
 * (§8.15). `xz -dc` reports the same conditions in its own words, mapped back here.
 */
export function xzErrorText(stderr: string, rawBytes: number): string {
  if (rawBytes === 0 || /Unexpected end of input/i.test(stderr)) return 'More memory needed' // LZMA_BUF_ERROR: truncated
  if (/File format not recognized/i.test(stderr)) return 'stream/file format not recognized' // LZMA_FORMAT_ERROR
  if (/corrupt/i.test(stderr)) return 'Data is corrupt' // LZMA_DATA_ERROR
  return stderr.trim() || 'Data is corrupt'
}

/** `xz -dc` as a duplex; a corrupt stream fails with liblzma's message. */
function xzDecoder(signal: AbortSignal, rawBytes: () => number): { duplex: Duplex; done: Promise<void> } {
  const child = spawn('xz', ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'], signal })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  child.on('error', () => undefined) // abort kills it; the pipeline reports the abort
  child.stdin.on('error', () => undefined) // xz may exit before reading everything (corrupt input)
  const done = new Promise<void>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve() : reject(new FlashFailure(xzErrorText(stderr, rawBytes())))))
  })
  done.catch(() => undefined)
  return { duplex: Duplex.from({ writable: child.stdin, readable: child.stdout }), done }
}

export interface WriteResult {
  rawSha256: string
  rawBytes: number
}

export async function writeImage(o: {
  source: Readable
  diskPath: string
  xz: boolean
  bytesPerSec: number | undefined
  onBytes: (n: number) => void
  signal: AbortSignal
}): Promise<WriteResult> {
  const tap = rawTap()
  // 'w' truncates: the eMMC holds exactly what this flash wrote, from offset 0.
  const disk = createWriteStream(o.diskPath, { flags: 'w' })
  const slow = throttle(o.bytesPerSec, o.onBytes)
  if (o.xz) {
    const xz = xzDecoder(o.signal, () => tap.count())
    try {
      await pipeline(o.source, tap.stream, xz.duplex, slow, disk, { signal: o.signal })
    } catch (e) {
      await xz.done // the decoder's own verdict explains a broken pipe better
      throw e
    }
    await xz.done
  } else {
    await pipeline(o.source, tap.stream, slow, disk, { signal: o.signal })
  }
  return { rawSha256: tap.digest(), rawBytes: tap.count() }
}

/** The CRC read-back pass: re-reads the disk at the verify rate (the counter starts again at 0). */
export async function readBack(
  diskPath: string,
  bytesPerSec: number | undefined,
  onBytes: (n: number) => void,
  signal: AbortSignal
): Promise<void> {
  await pipeline(
    createReadStream(diskPath),
    throttle(bytesPerSec, onBytes),
    async (chunks: AsyncIterable<Buffer>) => {
      for await (const c of chunks) void c
    },
    { signal }
  )
}
