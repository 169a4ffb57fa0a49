// `opt=set&type=flash|firmware`: parameter checks (all failures 500 text/plain, actix's default
// ResponseError), then a transfer fed by an upload, a file on the SD card (`&local`) or a URL.
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { basename, join } from 'node:path'
import type { Readable } from 'node:stream'
import type { BmcContext } from './context.js'
import { LegacyError, PlainError } from './envelope.js'
import type { FlashTarget } from './flash.js'
import { parseNode } from './params.js'

function fetchLoopback(url: URL): Promise<IncomingMessage> {
  // The lab never lets the emulator reach a LAN or public address.
  if (!/^127\.\d+\.\d+\.\d+$|^localhost$|^\[::1\]$/.test(url.hostname)) {
    return Promise.reject(new PlainError(`Failed to download ${url.href}: the lab BMC fetches only loopback URLs`))
  }
  const get = url.protocol === 'https:' ? httpsGet : httpGet
  return new Promise((resolve, reject) => {
    get(url, { rejectUnauthorized: false }, resolve).on('error', (e) =>
      reject(new PlainError(`Failed to download ${url.href}: ${e.message}`))
    )
  })
}

export async function startFlash(ctx: BmcContext, q: URLSearchParams, firmware: boolean): Promise<number> {
  let target: FlashTarget
  if (firmware) {
    target = { slot: 0, diskPath: '', processName: 'BMC os upgrade service' }
  } else {
    let slot: number
    try {
      slot = parseNode(q)
    } catch (e) {
      throw new PlainError((e as LegacyError).message)
    }
    target = { slot, diskPath: ctx.diskPath(slot), processName: `Node ${slot} os install service` }
  }
  const file = q.get('file')
  if (!file) throw new PlainError('Invalid `file` query parameter')
  if (firmware) target.diskPath = join(ctx.dataDir, 'os_upgrade', basename(file))
  const skipCrc = q.has('skip_crc') // presence is enough, whatever the value
  let source: Readable | undefined
  let size: number
  let sha256: string | undefined
  if (q.has('local')) {
    const path = ctx.sdcardPath(file)
    const st = await stat(path).catch(() => undefined)
    if (!st?.isFile()) throw new PlainError(`Failed to ${file}: No such file or directory (os error 2)`)
    size = st.size
    source = createReadStream(path)
  } else if (/^https?:\/\//.test(file)) {
    const res = await fetchLoopback(new URL(file))
    const len = res.headers['content-length']
    if (res.statusCode !== 200 || len === undefined) {
      res.resume()
      throw new PlainError(
        `Failed to download ${file}: HTTP ${res.statusCode}${len === undefined ? ', no Content-Length' : ''}`
      )
    }
    size = Number(len)
    source = res
  } else {
    const length = q.get('length')
    if (length === null || !/^\d+$/.test(length)) throw new PlainError('Invalid `length` query parameter')
    size = Number(length)
    sha256 = q.get('sha256') ?? undefined
    // bmcd hex-decodes the value: odd length or a non-hex digit fails here, but an even-length hex of the
    // wrong length is accepted and fails only at the end as a checksum mismatch (§8.18).
    if (sha256 !== undefined && !/^(?:[0-9a-fA-F]{2})*$/.test(sha256))
      throw new PlainError(
        `Failed to decode sha256: ${sha256.length % 2 ? 'Odd number of digits' : 'Invalid character'}`
      )
  }
  const fileName = /^https?:\/\//.test(file) ? new URL(file).pathname : file
  const t = ctx.flash.start({ target, fileName, size, sha256, skipCrc, source })
  return t.id
}
