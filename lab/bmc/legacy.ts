// `/api/bmc?opt=get|set&type=…`: the legacy handler. Canned data for the board-level types, real state
// for power, USB, UART and node_info. Flash-family calls reply bare text/plain (see legacy-flash.ts).
import type { IncomingMessage, ServerResponse } from 'node:http'
import { SLOTS } from './board.js'
import type { BmcContext } from './context.js'
import { envelope, LegacyError, PlainError, sendEmpty, sendJson, sendPlain } from './envelope.js'
import { sleep } from './flash-io.js'
import { startFlash } from './legacy-flash.js'
import { parseNode, parseNumber, requireParam } from './params.js'
import { UART_ENCODINGS } from './uart.js'

const ok = 'ok'
const USB_MODES = ['Host', 'Device', 'Flash'] as const

export interface LegacyRequest {
  req: IncomingMessage
  res: ServerResponse
  q: URLSearchParams
  body: string
}

/** What the caller must do after the reply: nothing, drop the connection, or wipe all tokens. */
export type After = 'none' | 'destroy' | 'restart'

/** serde_json without preserve_order: every `json!` object serializes with its keys sorted (§8.12). */
export function sortedKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortedKeys)
  if (v === null || typeof v !== 'object') return v
  return Object.fromEntries(
    Object.keys(v)
      .sort()
      .map((k) => [k, sortedKeys((v as Record<string, unknown>)[k])])
  )
}

/** v2.4 boards differ in USB (§8.14); the revision comes from the board's about data. */
const isV25 = (ctx: BmcContext): boolean => !/^2\.4/.test(ctx.firmware.boardRevision)

function about(ctx: BmcContext): Record<string, string> {
  const f = ctx.firmware
  return sortedKeys({
    board_model: f.boardModel,
    board_revision: f.boardRevision,
    hostname: f.hostname,
    api: '1.1',
    version: f.version,
    bmcd_version: f.bmcdVersion,
    buildtime: f.buildtime,
    buildroot: f.buildroot
  }) as Record<string, string>
}

export function otherInfo(ctx: BmcContext): unknown[] {
  const f = ctx.firmware
  return sortedKeys([
    { api: '1.1', buildtime: f.buildtime, ip: f.ip, mac: f.mac, buildroot: `"${f.buildroot}"`, version: f.version }
  ]) as unknown[]
}

function info(ctx: BmcContext): unknown {
  const f = ctx.firmware
  return sortedKeys({
    ip: [
      { device: 'br0', ip: f.ip, mac: f.mac },
      { device: 'br0', ip: 'fe80::1c2a:5bff:fe3d:1', mac: f.mac }
    ],
    storage: [
      { name: 'BMC', total_bytes: 268_435_456, bytes_free: 201_326_592 },
      { name: 'SD card', total_bytes: 31_914_983_424, bytes_free: 30_000_000_000 }
    ]
  })
}

async function setPower(ctx: BmcContext, q: URLSearchParams): Promise<void> {
  const wanted: [number, boolean][] = []
  for (const s of SLOTS) {
    const v = q.get(`node${s}`)
    if (v === null) continue
    if (v !== '0' && v !== '1') throw new LegacyError(400, `Invalid value \`${v}\` for parameter \`node${s}\``)
    wanted.push([s, v === '1'])
  }
  // anyhow's ensure! appends the compared operands (§8.2).
  if (wanted.length === 0)
    throw new LegacyError(500, 'Failed to set power state: Condition failed: `mask != 0` (0 vs 0)')
  for (const [i, [s, on]] of wanted.entries()) {
    if (i > 0 && ctx.powerStepMs > 0) await sleep(ctx.powerStepMs, new AbortController().signal)
    ctx.board.setStored(s, on)
  }
}

function setUsb(ctx: BmcContext, q: URLSearchParams): After {
  const slot = parseNode(q)
  const mode = parseNumber(q, 'mode')
  // bmcd reaches unreachable!() for 3 and 7: the handler panics and the connection drops.
  if ((mode & 3) === 3) return 'destroy'
  // §8.14: a v2.5 board cannot make a node the USB host.
  if ((mode & 3) === 0 && isV25(ctx))
    throw new LegacyError(
      500,
      'Failed to set USB mode: Selecting one of the nodes as USB Host role is not supported by the current hardware'
    )
  ctx.board.usb = { mode: USB_MODES[mode & 3]!, slot, route: mode & 4 ? 'Bmc' : 'AlternativePort' }
  return 'none'
}

function setCooling(ctx: BmcContext, q: URLSearchParams): void {
  const device = requireParam(q, 'device')
  const speed = parseNumber(q, 'speed')
  if (device !== 'system fan') throw new LegacyError(500, `Failed to set cooling: device ${device} not found`)
  if (speed > ctx.board.fan.max)
    throw new LegacyError(500, `Failed to set cooling: speed ${speed} exceeds max_speed ${ctx.board.fan.max}`)
  ctx.board.fan.speed = speed
}

function nodeInfo(ctx: BmcContext): unknown[] {
  return SLOTS.map((s) => {
    const e = ctx.board.nodeInfo.get(s)!
    return { name: e.name, module_name: e.module_name, power_on_time: ctx.board.powerOnTime(s), uart_baud: e.uart_baud }
  })
}

/** actix's Json extractor (§8.10): application/json required, errors are 400 text/plain. */
function storeNodeInfo(ctx: BmcContext, body: string, contentType: string | undefined): void {
  if (!/^application\/json\b/i.test(contentType ?? '')) throw new PlainError('Content type error', 400)
  let parsed: unknown
  try {
    parsed = JSON.parse(body)
  } catch (e) {
    throw new PlainError(`Json deserialize error: ${(e as Error).message}`, 400)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new PlainError('Json deserialize error: invalid type: expected a map', 400)
  for (const [key, value] of Object.entries(parsed as Record<string, Record<string, unknown>>)) {
    const slot = /^Node([1-4])$/.exec(key)?.[1]
    if (!slot)
      throw new PlainError(
        `Json deserialize error: unknown field \`${key}\`, expected one of \`Node1\`, \`Node2\`, \`Node3\`, \`Node4\``,
        400
      )
    const e = ctx.board.nodeInfo.get(Number(slot))!
    if (typeof value.name === 'string' || value.name === null) e.name = value.name
    if (typeof value.module_name === 'string' || value.module_name === null) e.module_name = value.module_name
    if (typeof value.uart_baud === 'number' || value.uart_baud === null) e.uart_baud = value.uart_baud
  }
}

function readUart(ctx: BmcContext, q: URLSearchParams): string {
  const slot = parseNode(q)
  const enc = q.get('encoding')
  if (enc !== null && !UART_ENCODINGS.includes(enc)) throw new LegacyError(400, `Invalid \`encoding\` parameter ${enc}`)
  return ctx.uarts.get(slot)!.read(ctx.drainUartOnRead)
}

function writeUart(ctx: BmcContext, q: URLSearchParams): void {
  const slot = parseNode(q)
  const cmd = requireParam(q, 'cmd')
  ctx.uartWrites.push({ slot, cmd })
  ctx.events.emit('uart-write', slot, `${cmd}\r\n`)
}

async function dispatch(ctx: BmcContext, r: LegacyRequest, opt: string, type: string): Promise<After> {
  const { q, res } = r
  const result = (v: unknown): void => sendJson(res, 200, envelope(v))
  const b = ctx.board
  const key = `${opt} ${type}`
  switch (key) {
    case 'get power':
      result([Object.fromEntries(SLOTS.map((s) => [`node${s}`, b.isStored(s) ? '1' : '0']))])
      break
    case 'set power':
      await setPower(ctx, q)
      result(ok)
      break
    case 'set reset': {
      const slot = parseNode(q)
      // Straight on the power controller: the stored bit is not touched.
      b.setPhysical(slot, false)
      await sleep(ctx.resetDelayMs, new AbortController().signal)
      b.setPhysical(slot, true)
      result(ok)
      break
    }
    case 'get usb':
      result(
        sortedKeys([
          {
            mode: b.usb.mode,
            node: `Node ${b.usb.slot}`,
            route: b.usb.route,
            bus_type: isV25(ctx) ? 'Usb hub' : 'Single bus'
          }
        ])
      )
      break
    case 'set usb':
      if (setUsb(ctx, q) === 'destroy') return 'destroy'
      result(ok)
      break
    case 'set usb_boot':
      b.usbBootPins.add(parseNode(q))
      result(ok)
      break
    case 'set clear_usb_boot':
      b.usbBootPins.clear()
      result(ok)
      break
    case 'set node_to_msd': {
      const slot = parseNode(q)
      b.setStored(slot, false)
      b.usb = { mode: 'Flash', slot, route: 'Bmc' }
      b.setPhysical(slot, true, { usbBoot: true })
      result(ok)
      break
    }
    case 'get usb_node1':
    case 'set usb_node1':
      if (!isV25(ctx))
        throw new LegacyError(
          500,
          'Failed to This command is only available on v2.5+ boards: USB node1 switching needs the v2.5 USB hub'
        )
      if (opt === 'get') result(b.usbNode1Alternative)
      else {
        b.usbNode1Alternative = q.has('alternative_port')
        result(ok)
      }
      break
    case 'get about':
      result(about(ctx))
      break
    case 'get info':
      result(info(ctx))
      break
    case 'get other':
      result(otherInfo(ctx))
      break
    case 'get sdcard':
      if (ctx.faults.sdcardMissing) throw new LegacyError(400, 'Failed to get microSD card info: {}')
      result(sortedKeys([{ total: 31_914_983_424, use: 1_914_983_424, free: 30_000_000_000 }]))
      break
    case 'get cooling':
      result(sortedKeys([{ device: 'system fan', speed: b.fan.speed, max_speed: b.fan.max }]))
      break
    case 'set cooling':
      setCooling(ctx, q)
      result(ok)
      break
    case 'get node_info':
      result(nodeInfo(ctx))
      break
    case 'set node_info':
      storeNodeInfo(ctx, r.body, r.req.headers['content-type'])
      sendEmpty(res)
      break
    case 'get nodeinfo':
      result([{ node1: 0, node2: 0, node3: 0, node4: 0 }])
      break
    case 'set sdcard':
    case 'set nodeinfo':
      throw new LegacyError(501, 'not implemented')
    case 'set network':
      result(ok)
      break
    case 'set reboot':
    case 'set reload':
      result(ok)
      return 'restart'
    case 'get uart':
      sendJson(res, 200, envelope(readUart(ctx, q), 'uart'))
      break
    case 'set uart':
      writeUart(ctx, q)
      result(ok)
      break
    case 'get flash':
    case 'get firmware':
      sendPlain(res, 200, JSON.stringify(ctx.flash.status()))
      break
    case 'set flash':
    case 'set firmware':
      sendPlain(res, 200, JSON.stringify({ handle: await startFlash(ctx, q, type === 'firmware') }))
      break
    default:
      throw new LegacyError(400, `Invalid \`type\` parameter ${type}`)
  }
  return 'none'
}

export async function handleLegacy(ctx: BmcContext, r: LegacyRequest): Promise<After> {
  const { q, res } = r
  try {
    const opt = q.get('opt')
    if (opt === null) throw new LegacyError(400, 'Missing `opt` parameter')
    const type = q.get('type')
    if (type === null) throw new LegacyError(400, 'Missing `type` parameter')
    if (opt !== 'get' && opt !== 'set') throw new LegacyError(400, `Invalid \`opt\` parameter ${opt}`)
    return await dispatch(ctx, r, opt, type)
  } catch (e) {
    if (e instanceof PlainError) sendPlain(res, e.status, e.message)
    else if (e instanceof LegacyError) sendJson(res, e.status, envelope(e.message))
    else sendJson(res, 500, envelope(`Failed to handle request: ${(e as Error).message}`))
    return 'none'
  }
}
