// Decoding of bmcd replies (shared/bmc-api.md §2–§5): the {"response":[{"result":X}]} envelope, string
// power values, node_info nulls, and the bare-JSON flash status.
import { TpiError } from '../../core/errors.js'
import type { BmcAbout, BmcInfo, FlashStatus, NodeInfo, PowerState, SdCard, Slot, UsbState } from './types.js'

export const SLOTS: Slot[] = [1, 2, 3, 4]

function bad(what: string, text: string): TpiError {
  return new TpiError('BmcBadReply', `BMC reply to ${what} is not what bmcd 2.x sends: ${text.slice(0, 200)}`)
}

function json(what: string, text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw bad(what, text)
  }
}

/** The value under response[0][key] ("result", or "uart" for UART reads). */
export function envelope(what: string, text: string, key = 'result'): unknown {
  const body = json(what, text) as { response?: Record<string, unknown>[] }
  const first = Array.isArray(body?.response) ? body.response[0] : undefined
  if (!first || !(key in first)) throw bad(what, text)
  return first[key]
}

/** Message of an error envelope, or the plain text body (flash family). */
export function errorText(text: string): string {
  try {
    const value = envelope('error', text)
    if (typeof value === 'string') return value
  } catch {
    /* plain text */
  }
  return text.trim().slice(0, 300)
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | null => (typeof v === 'number' ? v : null)

export function parseAbout(text: string): BmcAbout {
  const r = envelope('about', text) as Record<string, unknown>
  return {
    model: str(r.board_model),
    revision: str(r.board_revision),
    hostname: str(r.hostname),
    api: str(r.api),
    version: str(r.version),
    bmcdVersion: str(r.bmcd_version),
    buildtime: str(r.buildtime)
  }
}

export function parseInfo(text: string): BmcInfo {
  const r = envelope('info', text) as { ip?: Record<string, unknown>[]; storage?: Record<string, unknown>[] }
  return {
    ip: (r.ip ?? []).map((e) => ({ device: str(e.device) ?? '', ip: str(e.ip) ?? '', mac: str(e.mac) ?? '' })),
    storage: (r.storage ?? []).map((e) => ({
      name: str(e.name) ?? '',
      totalBytes: Number(e.total_bytes ?? 0),
      freeBytes: Number(e.bytes_free ?? 0)
    }))
  }
}

export function parseSdCard(text: string): SdCard {
  const r = (envelope('sdcard', text) as Record<string, unknown>[])[0] ?? {}
  return { total: Number(r.total ?? 0), used: Number(r.use ?? 0), free: Number(r.free ?? 0) }
}

export function parsePower(text: string): PowerState {
  const r = ((envelope('power', text) as Record<string, unknown>[])[0] ?? {}) as Record<string, unknown>
  const state = {} as PowerState
  for (const slot of SLOTS) {
    const v = r[`node${slot}`]
    state[slot] = v === '1' || v === 1 ? 'on' : v === '0' || v === 0 ? 'off' : 'unknown'
  }
  return state
}

export function parseNodeInfo(text: string): NodeInfo[] {
  const r = envelope('node_info', text) as Record<string, unknown>[]
  if (!Array.isArray(r)) throw bad('node_info', text)
  return r.slice(0, 4).map((e, i) => ({
    slot: SLOTS[i] as Slot,
    name: str(e.name) ?? null,
    moduleName: str(e.module_name) ?? null,
    powerOnTime: num(e.power_on_time),
    uartBaud: num(e.uart_baud)
  }))
}

export function parseFlashStatus(text: string): FlashStatus {
  const v = json('flash status', text)
  if (v === 'Ready') return { state: 'ready' }
  const o = (v ?? {}) as Record<string, unknown>
  if (o.Transferring && typeof o.Transferring === 'object') {
    const t = o.Transferring as Record<string, unknown>
    return {
      state: 'transferring',
      id: Number(t.id),
      processName: str(t.process_name) ?? '',
      size: Number(t.size ?? 0),
      bytesWritten: Number(t.bytes_written ?? 0),
      cancelled: t.cancelled === true
    }
  }
  if (Array.isArray(o.Done)) {
    const [d, size] = o.Done as [{ secs?: number; nanos?: number }, number]
    return { state: 'done', seconds: Number(d?.secs ?? 0) + Number(d?.nanos ?? 0) / 1e9, size: Number(size ?? 0) }
  }
  if (typeof o.Error === 'string') return { state: 'error', message: o.Error }
  throw bad('flash status', text)
}

export function parseHandle(text: string): number {
  const o = json('flash start', text) as { handle?: unknown }
  if (typeof o?.handle !== 'number') throw bad('flash start', text)
  return o.handle
}

const USB_MODES = { Host: 'host', Device: 'device', Flash: 'flash' } as const

/** `[{"bus_type","mode","node":"Node N","route":"Bmc|AlternativePort|UsbA"}]` (2.0.x says UsbA). */
export function parseUsb(text: string): UsbState {
  const r = ((envelope('usb', text) as Record<string, unknown>[])[0] ?? {}) as Record<string, unknown>
  const mode = USB_MODES[String(r.mode) as keyof typeof USB_MODES]
  const slot = Number(/^Node ([1-4])$/.exec(String(r.node))?.[1])
  if (!mode || !slot) throw bad('usb', text)
  return { mode, slot: slot as Slot, route: r.route === 'Bmc' ? 'bmc' : 'usb-a' }
}

/** `mode=` of set&type=usb: low bits Host 0 / Device 1 / Flash 2, bit 2 = the BMC route. */
export function usbModeNumber(state: UsbState): number {
  return { host: 0, device: 1, flash: 2 }[state.mode] | (state.route === 'bmc' ? 4 : 0)
}
