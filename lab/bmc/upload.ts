// POST /api/bmc/upload/{handle}: multipart, first part only. The reply comes once the (throttled) eMMC
// write has ended; every failure is 500 text/plain with the bare message.
import busboy from 'busboy'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Transform } from 'node:stream'
import type { BmcContext } from './context.js'
import { sendEmpty, sendPlain } from './envelope.js'
import type { Transfer } from './flash.js'

// Answer without reading the rest of the body, then drop the connection so the client stops sending.
function refuse(req: IncomingMessage, res: ServerResponse, message: string): void {
  req.unpipe()
  req.resume()
  if (!res.headersSent && !res.destroyed) sendPlain(res, 500, message, { Connection: 'close' })
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
    },
  })
}

export function handleUpload(ctx: BmcContext, req: IncomingMessage, res: ServerResponse, handleText: string): void {
  let t: Transfer
  try {
    t = ctx.flash.claimUpload(/^\d+$/.test(handleText) ? Number(handleText) : -1)
  } catch (e) {
    return refuse(req, res, (e as Error).message)
  }
  let parser: busboy.Busboy
  try {
    parser = busboy({ headers: req.headers })
  } catch (e) {
    ctx.flash.fail(t, 'transfer canceled')
    return refuse(req, res, `multipart parse error: ${(e as Error).message}`)
  }
  let first = true
  parser.on('file', (_field, stream) => {
    if (!first) return stream.resume() // bmcd reads only the first part
    first = false
    t.source.resolve(stream)
  })
  parser.on('close', () => { if (first) ctx.flash.fail(t, `missing ${t.req.size} bytes`) })
  parser.on('error', (e: Error) => ctx.flash.fail(t, `multipart parse error: ${e.message}`))
  req.on('close', () => { if (!req.complete) ctx.flash.fail(t, 'transfer canceled') })
  const dropAfter = ctx.faults.takeDropUpload()
  if (dropAfter === undefined) req.pipe(parser)
  else req.pipe(dropper(req, dropAfter)).pipe(parser)
  t.written.promise.then(
    () => sendEmpty(res),
    (e: Error) => refuse(req, res, e.message),
  )
}
