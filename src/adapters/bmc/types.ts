// The BMC as the core sees it: typed calls named for their intent. The HTTP details (envelopes, node
// 0..3 vs node1..4, string power values, bare JSON flash replies) stay inside the implementation.
import type { Readable } from 'node:stream'

export type Slot = 1 | 2 | 3 | 4

export interface BmcAbout {
  model?: string
  revision?: string
  hostname?: string
  api?: string
  version?: string
  bmcdVersion?: string
  buildtime?: string
}

export interface BmcInfo {
  ip: { device: string; ip: string; mac: string }[]
  storage: { name: string; totalBytes: number; freeBytes: number }[]
}

export interface SdCard {
  total: number
  used: number
  free: number
}

/** Stored power bits per slot as the BMC reports them (not measured). */
export type PowerState = Record<Slot, 'on' | 'off' | 'unknown'>

export interface NodeInfo {
  slot: Slot
  name: string | null
  moduleName: string | null
  powerOnTime: number | null
  uartBaud: number | null
}

export type FlashStatus =
  | { state: 'ready' }
  | { state: 'transferring'; id: number; processName: string; size: number; bytesWritten: number; cancelled: boolean }
  | { state: 'done'; seconds: number; size: number }
  | { state: 'error'; message: string }

export interface FlashRequest {
  slot: Slot
  /** Name the BMC sees; a name ending in .xz makes the BMC decompress while writing. */
  fileName: string
  /** Exact byte length of the upload. */
  length: number
  /** sha256 of the uploaded (still compressed) bytes, hex. */
  sha256?: string
  skipCrc?: boolean
  /** Upper bound for the whole upload request (the reply comes only after the eMMC write). */
  timeoutMs?: number
  /** Upload progress: file bytes the BMC has taken so far (no status poll can be answered during the upload). */
  onProgress?: (bytesSent: number) => void
}

/** The BMC's USB routing (`get&type=usb`): one node is connected, in one mode, on one route. */
export interface UsbState {
  mode: 'host' | 'device' | 'flash'
  slot: Slot
  route: 'bmc' | 'usb-a'
}

export interface BmcClient {
  readonly endpoint: string
  about(): Promise<BmcAbout>
  info(): Promise<BmcInfo>
  /** undefined when the BMC has no microSD card. */
  sdcard(): Promise<SdCard | undefined>
  power(): Promise<PowerState>
  nodeInfo(): Promise<NodeInfo[]>
  setPower(slot: Slot, on: boolean): Promise<void>
  reset(slot: Slot): Promise<void>
  /** The node's whole UART ring (2.3.x reads do not drain it). */
  readUart(slot: Slot): Promise<string>
  writeUart(slot: Slot, command: string): Promise<void>
  /** Starts a flash and returns its handle. Cancels any running flash (one global slot). */
  startFlash(request: FlashRequest): Promise<number>
  /** Streams the image as the multipart body. Never buffers it. Not retried. */
  upload(handle: number, body: Readable, request: FlashRequest): Promise<void>
  flashStatus(): Promise<FlashStatus>
  cancelFlash(): Promise<void>
  /** The USB routing; optional so read-only fakes need not model it. */
  usb?(): Promise<UsbState>
  setUsb?(state: UsbState): Promise<void>
  /**
   * True while a request to this BMC is in flight or queued. bmcd answers one request at a time, so a
   * caller with something optional to ask (a UART read to explain a slow boot) asks only when idle.
   */
  busy?(): boolean
}

export interface BmcConnectOptions {
  endpoint: string
  username: string
  password: string
  /** Pinned SHA-256 certificate fingerprint (hex); required unless insecure. */
  fingerprint?: string
  insecure: boolean
  timeoutMs?: number
  /**
   * Ends every request and retry of this client once aborted: a drift check that gave up on a BMC must
   * not leave backoff timers and hung requests keeping the job alive after it has reported.
   */
  signal?: AbortSignal
}
