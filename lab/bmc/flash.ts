// bmcd's one global transfer slot: Ready (only before the first transfer since boot) → Transferring →
// Done | Error. A new start drops the running transfer; cancel sets Error from any state (§8.9). The
// worker powers the node off, then on in USB-boot mode for the whole transfer (§8.4), writes the eMMC
// file, optionally re-reads it (CRC pass), then leaves the node off with the USB config restored; but
// when the module's USB device is not found it returns early and cleans up nothing (§8.3).
import { randomBytes } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import type { Readable } from 'node:stream'
import type { Board } from './board.js'
import type { Faults } from './faults.js'
import { FlashFailure, readBack, sleep, writeImage } from './flash-io.js'

export interface FlashTarget {
  slot: number
  diskPath: string
  processName: string
}

export interface FlashStart {
  target: FlashTarget
  fileName: string
  size: number
  sha256?: string
  skipCrc: boolean
  /** A source with no upload (local SD-card file, URL download); undefined = wait for POST /upload. */
  source?: Readable
}

export type FlashStatusJson =
  | 'Ready'
  | { Transferring: { id: number; process_name: string; size: number; cancelled: boolean; bytes_written: number } }
  | { Done: [{ secs: number; nanos: number }, number] }
  | { Error: string }

export interface FlashTimings {
  uploadDeadlineMs: number
  usbDetectMs: number
  writeBytesPerSec?: number
  verifyBytesPerSec?: number
}

interface Deferred<T> {
  promise: Promise<T>
  resolve(v: T): void
  reject(e: Error): void
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void
  let reject!: (e: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => undefined)
  return { promise, resolve, reject }
}

export class Transfer {
  readonly id = randomBytes(4).readUInt32BE(0)
  readonly startedAt = process.hrtime.bigint()
  readonly abort = new AbortController()
  bytesWritten = 0
  uploadStarted = false
  finished = false
  readonly source = deferred<Readable>()
  /** Settles when the data has been written (what the upload POST waits for). */
  readonly written = deferred<void>()
  constructor(readonly req: FlashStart) {}
}

/** The worker stopped without its cleanup (bmcd's early return on a USB fault). */
class EarlyReturn extends FlashFailure {}

export class FlashService {
  private state: 'Ready' | 'Transferring' | 'Done' | 'Error' = 'Ready'
  private doneInfo: [{ secs: number; nanos: number }, number] | undefined
  private error = ''
  private readonly timers = new Set<NodeJS.Timeout>()
  current: Transfer | undefined

  constructor(
    private readonly board: Board,
    private readonly faults: Faults,
    private readonly events: EventEmitter,
    private readonly t: FlashTimings
  ) {}

  get stateName(): string {
    return this.state
  }

  status(): FlashStatusJson {
    const c = this.current
    if (this.state === 'Transferring' && c) {
      return {
        Transferring: {
          id: c.id,
          process_name: c.req.target.processName,
          size: c.req.size,
          cancelled: false,
          bytes_written: c.bytesWritten
        }
      }
    }
    if (this.state === 'Done' && this.doneInfo) return { Done: this.doneInfo }
    if (this.state === 'Error') return { Error: this.error }
    return 'Ready'
  }

  start(req: FlashStart): Transfer {
    if (this.current && !this.current.finished) this.stop(this.current, 'transfer canceled')
    const t = new Transfer(req)
    this.current = t
    this.state = 'Transferring'
    if (req.source) t.source.resolve(req.source)
    // bmcd's send timer is not tied to a handle: whatever transfer is current when it fires and still
    // waits for its upload fails, even one started later by another request.
    const timer = setTimeout(() => {
      const c = this.current
      if (this.state === 'Transferring' && c && !c.uploadStarted && !c.req.source) this.fail(c, 'Send timeout')
    }, this.t.uploadDeadlineMs)
    this.timers.add(timer)
    setTimeout(() => this.timers.delete(timer), this.t.uploadDeadlineMs + 1).unref()
    void this.run(t)
    return t
  }

  /** Ends a transfer with Error(message) when it is the current one: the worker aborts. */
  fail(t: Transfer, message: string): void {
    if (this.current === t && this.state === 'Transferring') {
      this.state = 'Error'
      this.error = message
    }
    this.stop(t, message)
  }

  /** Aborts a transfer's worker (its own state change, if any, is somebody else's). */
  private stop(t: Transfer, message: string): void {
    if (t.finished) return
    t.finished = true
    t.written.reject(new FlashFailure(message))
    t.source.reject(new FlashFailure(message))
    t.abort.abort(new FlashFailure(message))
  }

  /** `GET …/cancel`: Error("cancelled by user") from any state, Ready and Done included (§8.9). */
  cancel(): void {
    this.state = 'Error'
    this.error = 'cancelled by user'
    if (this.current && !this.current.finished) this.stop(this.current, 'cancelled by user')
  }

  /** The emulator stops: no send timer may outlive it. */
  dispose(): void {
    for (const t of this.timers) clearTimeout(t)
    this.timers.clear()
  }

  /** A bmcd restart: the transfer is simply gone and the status reads Ready again (§8.19). */
  restart(): void {
    this.dispose()
    if (this.current && !this.current.finished) this.stop(this.current, 'transfer canceled')
    this.current = undefined
    this.state = 'Ready'
    this.doneInfo = undefined
    this.error = ''
  }

  /** The POST checks in bmcd's order (state, handle, sender, §8.7); returns the transfer or throws the 500 text. */
  claimUpload(handle: number): Transfer {
    const t = this.current
    if (this.state !== 'Transferring' || !t)
      throw new FlashFailure(`cannot execute command in current state. current=${this.state}, expected=Transferring`)
    if (handle !== t.id) throw new FlashFailure('unauthorized request for handle')
    if (t.uploadStarted || t.req.source)
      throw new FlashFailure(
        'cannot transfer bytes to worker. This is either because the transfer happens locally, or is already ongoing.'
      )
    t.uploadStarted = true
    return t
  }

  private async run(t: Transfer): Promise<void> {
    const { slot, diskPath } = t.req.target
    const node = slot > 0
    const signal = t.abort.signal
    let source: Readable | undefined
    const savedUsb = { ...this.board.usb }
    try {
      if (node) {
        this.events.emit('flash-start', slot)
        this.board.setStored(slot, false)
        this.board.usb = { mode: 'Flash', slot, route: 'Bmc' }
        this.board.usbBootPins.add(slot)
        // Through the power controller like a power-set: get&type=power shows "1" for the whole transfer.
        this.board.setStored(slot, true, { usbBoot: true })
        await sleep(this.t.usbDetectMs, signal)
        this.board.usbBootPins.delete(slot)
        if (this.faults.usbAbsent.has(slot) || this.faults.flashError === 'usb-not-found') {
          throw new EarlyReturn("Compute module's USB interface not found or supported")
        }
      }
      source = await t.source.promise
      const result = await writeImage({
        source,
        diskPath,
        signal,
        xz: t.req.fileName.endsWith('.xz'),
        bytesPerSec: this.t.writeBytesPerSec,
        onBytes: (n) => {
          t.bytesWritten += n
        }
      })
      t.written.resolve()
      // The sha256 fault forces a mismatch even when the client sent no checksum.
      const forced = this.faults.flashError === 'sha256'
      const expected = t.req.sha256?.toLowerCase() ?? (forced ? '0'.repeat(64) : undefined)
      let got = result.rawSha256
      if (forced && got === expected) got = `${got[0] === '0' ? '1' : '0'}${got.slice(1)}`
      if (expected && got !== expected)
        throw new FlashFailure(`sha256 checksum failed. Expected: ${expected}, got: ${got}`)
      if (!t.req.skipCrc) {
        t.bytesWritten = 0
        await readBack(
          diskPath,
          this.t.verifyBytesPerSec,
          (n) => {
            t.bytesWritten += n
          },
          signal
        )
        if (this.faults.flashError === 'crc') {
          const hex = (): string => `0x${randomBytes(8).toString('hex')}`
          throw new FlashFailure(`crc error. expected ${hex()}, calculated ${hex()}`)
        }
      }
      this.cleanup(t, savedUsb)
      if (t.finished) return
      t.finished = true
      const ns = process.hrtime.bigint() - t.startedAt
      this.state = 'Done'
      // bmcd's Done carries the requested size, not what was written (§8.8).
      this.doneInfo = [{ secs: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) }, t.req.size]
      this.events.emit('flashed', slot, diskPath)
    } catch (e) {
      const message =
        e instanceof FlashFailure
          ? e.message
          : (e as NodeJS.ErrnoException).code === 'ABORT_ERR'
            ? 'transfer canceled'
            : `Failed to flash: ${(e as Error).message}`
      this.fail(t, message)
      source?.destroy()
      if (!(e instanceof EarlyReturn)) this.cleanup(t, savedUsb)
    }
  }

  /** The worker's end: node off, usbboot cleared, the USB config from before the flash restored. */
  private cleanup(t: Transfer, savedUsb: Board['usb']): void {
    const slot = t.req.target.slot
    if (slot <= 0) return
    // A transfer that replaced this one owns the rail and the USB mux now.
    if (this.current !== t && this.current?.req.target.slot === slot) return
    this.board.usbBootPins.delete(slot)
    this.board.setStored(slot, false)
    if (this.current === t || !this.current) this.board.usb = savedUsb
  }
}
