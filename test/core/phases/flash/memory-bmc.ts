// An in-process BmcClient with the bmcd flash state machine (shared/bmc-api.md §4) and fault switches,
// for phase tests that need no HTTP. The HTTP client is tested against test/adapters/bmc/fake-bmc.ts.
import { createHash } from 'node:crypto'
import type { Readable } from 'node:stream'
import { TpiError } from '../../../../src/core/errors.js'
import type { BmcClient, FlashRequest, FlashStatus, PowerState, Slot } from '../../../../src/adapters/bmc/types.js'

export type Fault = 'sha256' | 'crc' | 'usb' | 'drop' | 'cancel' | 'unauthorized-once' | 'other-done'

export class MemoryBmc implements BmcClient {
  readonly endpoint = 'https://bmc.test'
  status: FlashStatus = { state: 'ready' }
  powerBits: PowerState = { 1: 'off', 2: 'off', 3: 'off', 4: 'off' }
  uart: Record<Slot, string> = { 1: '', 2: '', 3: '', 4: '' }
  faults = new Set<Fault>()
  flashes: { slot: Slot; bytes: number; sha256: string; fileName: string }[] = []
  starts = 0
  uploads = 0
  /** Text the node prints after power-on, per slot (undefined: prints nothing, never boots). */
  bootLog: Partial<Record<Slot, string>> = {}
  /** Called on power-on so a test can start its simulated node. */
  onPower?: (slot: Slot, on: boolean) => void
  /** Whether a request is in flight to this BMC (undefined: the client cannot say). */
  busy?: () => boolean
  private handle = 0
  private verifyPolls = 0

  async about() {
    return { api: '1.1', bmcdVersion: '2.3.7' }
  }
  async info() {
    return { ip: [], storage: [] }
  }
  async sdcard() {
    return undefined
  }
  async power() {
    return { ...this.powerBits }
  }
  async nodeInfo() {
    return []
  }
  async setPower(slot: Slot, on: boolean) {
    this.powerBits[slot] = on ? 'on' : 'off'
    // A slot that was never flashed has a blank eMMC: it boots nothing.
    if (on && this.bootLog[slot] && this.flashes.some((f) => f.slot === slot)) {
      const text = this.bootLog[slot] as string
      setTimeout(() => (this.uart[slot] += text), 5)
    }
    this.onPower?.(slot, on)
  }
  async reset() {}
  async readUart(slot: Slot) {
    return this.uart[slot]
  }
  async writeUart() {}

  async startFlash(request: FlashRequest): Promise<number> {
    this.starts++
    this.handle = 1000 + this.starts
    this.powerBits[request.slot] = 'off'
    if (this.faults.has('usb')) {
      this.status = { state: 'error', message: "Compute module's USB interface not found or supported" }
      return this.handle
    }
    this.status = {
      state: 'transferring',
      id: this.handle,
      processName: `Node ${request.slot} os install service`,
      size: request.length,
      bytesWritten: 0,
      cancelled: false
    }
    return this.handle
  }

  async upload(handle: number, body: Readable, request: FlashRequest): Promise<void> {
    this.uploads++
    if (this.faults.has('unauthorized-once')) {
      this.faults.delete('unauthorized-once')
      body.destroy()
      throw new TpiError('BmcUnauthorized', 'BMC https://bmc.test: upload refused after a fresh login (HTTP 401)')
    }
    if (this.status.state !== 'transferring' || handle !== this.handle) {
      body.destroy()
      throw new TpiError(
        'BmcRejected',
        `HTTP 500: cannot execute command in current state. current=${this.status.state}, expected=Transferring`
      )
    }
    const hash = createHash('sha256')
    let bytes = 0
    for await (const chunk of body) {
      hash.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
      if (this.status.state === 'transferring') this.status.bytesWritten = bytes
      if (this.faults.has('drop') && bytes >= request.length / 2) {
        body.destroy()
        this.status = { state: 'error', message: `missing ${request.length - bytes} bytes` }
        throw new TpiError('BmcUnreachable', 'BMC https://bmc.test: POST /api/bmc/upload failed: socket hang up')
      }
      if (this.faults.has('cancel') && bytes >= request.length / 2) await this.cancelFlash()
      if (this.status.state !== 'transferring') {
        body.destroy()
        throw new TpiError('BmcRejected', 'HTTP 500: transfer canceled')
      }
    }
    const sha256 = hash.digest('hex')
    if (this.faults.has('sha256') || (request.sha256 && request.sha256 !== sha256)) {
      this.status = {
        state: 'error',
        message: `sha256 checksum failed. Expected: ${request.sha256 ?? 'x'}, got: ${sha256}`
      }
      return
    }
    this.flashes.push({ slot: request.slot, bytes, sha256, fileName: request.fileName })
    this.verifyPolls = 2
    if (this.status.state === 'transferring') this.status.bytesWritten = 0 // the CRC pass restarts at 0
  }

  async flashStatus(): Promise<FlashStatus> {
    const s = this.status
    if (s.state === 'transferring' && this.verifyPolls > 0 && --this.verifyPolls === 0) {
      // 'other-done': someone else's transfer finished in between (Done carries no id, only a length).
      const size = this.faults.has('other-done') ? s.size - 1 : s.size
      this.status = this.faults.has('crc')
        ? { state: 'error', message: 'crc error. expected 1, calculated 2' }
        : { state: 'done', seconds: 1, size }
    }
    return this.status
  }

  async cancelFlash(): Promise<void> {
    this.status = { state: 'error', message: 'cancelled by user' }
  }
}
