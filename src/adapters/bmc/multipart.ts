// A one-field multipart/form-data body built by hand so the file can be streamed between a fixed
// preamble and epilogue with an exact Content-Length (bmcd reads only the first field; name "file").
import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'

export interface Multipart {
  contentType: string
  contentLength: number
  body: Readable
  /** The same body as fixed head, streamed file, fixed tail (lets the transport write without a generator). */
  parts: { head: Buffer; file: Readable; tail: Buffer }
}

export function multipartFile(file: Readable, fileName: string, length: number): Multipart {
  const boundary = `----tpi${randomBytes(12).toString('hex')}`
  const safeName = fileName.replace(/["\r\n\\]/g, '_')
  const preamble = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${safeName}"\r\n` +
      `Content-Type: application/octet-stream\r\n\r\n`
  )
  const epilogue = Buffer.from(`\r\n--${boundary}--\r\n`)
  async function* parts(): AsyncGenerator<Buffer> {
    yield preamble
    for await (const chunk of file) yield chunk as Buffer
    yield epilogue
  }
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    contentLength: preamble.length + length + epilogue.length,
    body: Readable.from(parts(), { objectMode: false }),
    parts: { head: preamble, file, tail: epilogue }
  }
}
