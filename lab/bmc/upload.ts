// POST /api/bmc/upload/{handle}: multipart, first part only, fed to the worker with backpressure (bmcd's
// 16-chunk channel), so the reply comes once the (throttled) eMMC write has ended. The request lock is
// held all that time (§8.1). Every failure is 500 text/plain with the bare message, except a handle
// that is not a u32: actix's path extractor answers 404 (§8.7).
import busboy from 'busboy'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { PassThrough, Readable, Transform } from 'node:stream'
import type { BmcContext } from './context.js'
import { sendEmpty, sendPlain } from './envelope.js'
import type { Transfer } from './flash.js'
import { decimalSize, wrappingMissing } from './humansize.js'

// Answer without reading the rest of the body, then drop the connection so the client stops sending.
function refuse(req: IncomingMessage, res: ServerResponse, message: string, status = 500): void {
  req.unpipe()
  req.resume()
  if (!res.headersSent && !res.destroyed) sendPlain(res, status, message, { Connection: 'close' })
}

/** Destroys the socket once more than `after` request bytes went through (fault injection). */
function dropper(req: IncomingMessage, after: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length
      if (seen > after) {
        req.socket.destroy()
        return cb()
      }
      cb(null, chunk)
    }
  })
}

function parseHandle(text: string): number | undefined {
  // serde's u32 from a path segment: decimal digits (an optional +), within 0..2^32-1.
  if (!/^\+?\d+$/.test(text)) return undefined
  const n = Number(text)
  return n <= 0xffff_ffff ? n : undefined
}

export function handleUpload(ctx: BmcContext, req: IncomingMessage, res: ServerResponse, handleText: string): void {
  const handle = parseHandle(handleText)
  if (handle === undefined)
    return refuse(req, res, `Path deserialize error: can not parse "${decodeURIComponent(handleText)}" to a u32`, 404)
  let t: Transfer
  try {
    t = ctx.flash.claimUpload(handle)
  } catch (e) {
    return refuse(req, res, (e as Error).message)
  }
  ctx.uploads.active++
  let counted = true
  const uncount = (): void => {
    if (counted) {
      counted = false
      ctx.uploads.active--
    }
  }
  res.once('finish', uncount)
  res.once('close', uncount)
  // What the worker reads: the first part's bytes. Ending it without data is bmcd's dropped sender (EOF).
  const feed = new PassThrough({ highWaterMark: 16 * 64 * 1024 })
  t.source.resolve(feed)
  const invalid = (): void => {
    // §8.8: the sender is dropped, the worker sees EOF and usually ends Done with nothing written.
    feed.end()
    refuse(req, res, 'Multipart form invalid')
  }
  let parser: busboy.Busboy
  try {
    parser = busboy({ headers: req.headers })
  } catch {
    return invalid()
  }
  let first = true
  let received = 0
  parser.on('file', (_field, stream: Readable) => {
    if (!first) return stream.resume() // bmcd reads only the first part
    first = false
    stream.on('data', (c: Buffer) => {
      received += c.length
      if (!feed.write(c)) {
        stream.pause()
        feed.once('drain', () => stream.resume())
      }
    })
    stream.on('end', () => {
      if (received !== t.req.size) {
        // §8.5: u64 arithmetic (an over-long body wraps), humansize DECIMAL, and the transfer is cancelled.
        ctx.flash.cancel()
        feed.end()
        refuse(req, res, `missing ${decimalSize(wrappingMissing(t.req.size, received))} bytes`)
        return
      }
      feed.end()
      t.written.promise.then(
        () => sendEmpty(res),
        (e: Error) => refuse(req, res, e.message)
      )
    })
  })
  parser.on('close', () => {
    if (first) invalid()
  })
  parser.on('error', () => invalid())
  // A connection that breaks mid-body drops the sender like an invalid form: the worker sees EOF.
  req.on('close', () => {
    if (!req.complete) feed.end()
  })
  const dropAfter = ctx.faults.takeDropUpload()
  if (dropAfter === undefined) req.pipe(parser)
  else req.pipe(dropper(req, dropAfter)).pipe(parser)
}
