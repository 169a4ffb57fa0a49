// Public shapes of the BMC emulator (lab/bmc). Behaviour follows /work/shared/bmc-api.md (bmcd 2.3.x).
import type { EventEmitter } from 'node:events'

export type FlashFault = 'usb-not-found' | 'crc' | 'sha256'

export interface FirmwareInfo {
  boardModel: string
  boardRevision: string
  hostname: string
  version: string // os-release VERSION of the BMC image
  bmcdVersion: string
  buildtime: string // "YYYY-MM-DD HH:MM:SS-00:00"
  buildroot: string
  ip: string // shown in info/other only; never contacted
  mac: string
}

export interface InitialFaults {
  flashError?: FlashFault
  usbAbsent?: number[] // slots 1..4 without a module (flash fails like an empty slot)
  sdcardMissing?: boolean
}

export interface BmcEmulatorOptions {
  host?: string // default 127.20.0.1
  port?: number // 0 = random
  httpPort?: number // port-80 style listener: 308 to https, no-auth /info
  dataDir?: string // disk files per slot and the "SD card" folder; default a temp dir
  dir?: string // alias of dataDir (lab/lab.ts passes `dir`)
  board?: number // informational (lab/lab.ts passes it)
  username?: string // default root
  password?: string // default turing
  tokenTtlMs?: number // default 10 800 000 (3 h)
  banThreshold?: number // default 5
  banBaseMs?: number // default 60 000
  loopbackExempt?: boolean // default false: lab traffic is loopback, exempting it would test nothing
  drainUartOnRead?: boolean // default false (2.3.x); true = 2.0.x draining reads
  uploadDeadlineMs?: number // default 10 000
  writeBytesPerSec?: number // eMMC write throughput; undefined = unlimited
  verifyBytesPerSec?: number // CRC read-back throughput; undefined = unlimited
  usbDetectMs?: number // pause between power-on and device detection in the flash worker; default 50
  resetDelayMs?: number // off→on gap of type=reset; default 1000
  powerStepMs?: number // gap between nodes switched by one power call; default 0 (bmcd: ~100 ms)
  firmware?: Partial<FirmwareInfo>
  faults?: InitialFaults
}

export interface RequestLog {
  method: string
  path: string
  query: Record<string, string>
  status: number
  time: number // ms since epoch at the end of the response
}

export interface UartHandle {
  write(text: string): void
  contents(): string
}

export interface FaultControl {
  /** The next `count` requests whose `type` equals `match` (or whose path contains/matches it) answer `status`. */
  failNext(match: string | RegExp, status: number, count?: number): void
  /** The next upload loses its connection after this many body bytes. */
  dropUpload(afterBytes: number): void
  /** Every live token is treated as expired from now on. */
  expireTokens(): void
  /** Applies to every flash until set back to undefined. */
  flashError: FlashFault | undefined
  /** An empty slot: the flash worker finds no USB device there. */
  setUsbAbsent(slot: number, absent: boolean): void
  /** `opt=get&type=sdcard` answers 400 `Failed to get microSD card info: {}`. */
  sdcardMissing: boolean
  clear(): void
}

export interface PowerEventInfo {
  /** True when the power-on is the flash worker's (or node_to_msd's) USB boot: the module is in maskrom, not booting its disk. */
  usbBoot: boolean
}

/**
 * Events: 'power' (slot, on, info: PowerEventInfo) on every physical change; 'flash-start' (slot);
 * 'flashed' (slot, diskPath) when a flash reaches Done; 'uart-write' (slot, text) for set&type=uart.
 */
export interface BmcEmulator {
  url: string // https://host:port
  host: string
  port: number
  httpUrl?: string // the port-80 style listener, when httpPort was given
  fingerprint: string // sha256 of the certificate DER, lowercase hex, no colons
  certPem: string
  username: string
  password: string
  dataDir: string
  events: EventEmitter
  uart(slot: number): UartHandle
  diskPath(slot: number): string
  sdcardPath(name: string): string // where `&local&file=` files live
  power(slot: number): boolean // physical state (what the node sees)
  storedPower(slot: number): boolean // the activation bit `get&type=power` reports
  setPowerHook?: (slot: number, on: boolean) => void // called on every physical change, before the event
  requests: RequestLog[]
  uartWrites: { slot: number; cmd: string }[]
  faults: FaultControl
  /** Upload POSTs being received right now (the request lock is held by them). */
  /** Changes the eMMC write / CRC read-back rates (bytes/s; 0 = unlimited) from the next transfer on. */
  throttle(rates: { writeBytesPerSec?: number; verifyBytesPerSec?: number }): void
  uploadsInProgress(): number
  /** How many requests arrived while another was being handled and had to wait (§8.1); a client that queues its own requests causes none. */
  waitedRequests(): number
  /** The running transfer's bytes_written as the worker counts it (no request, so it does not queue); undefined unless Transferring. */
  flashBytesWritten(): number | undefined
  /** A bmcd restart (§8.19): tokens, bans, UART rings and the transfer are gone (status Ready), open connections drop, stored power is re-applied. */
  reload(): void
  stop(): Promise<void>
  close(): Promise<void> // alias of stop
}
