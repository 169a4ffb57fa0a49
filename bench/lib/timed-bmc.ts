// An in-process BmcClient with RK1-like timings scaled down, for the pipeline bench: a flash takes
// flashMs (one at a time per BMC, like bmcd's single slot), a node prints `login:` bootMs after
// power-on. It drives the real flashNode / waitForBoot code.
import type { Readable } from 'node:stream'
import type { BmcClient, FlashRequest, FlashStatus, PowerState, Slot } from '../../src/adapters/bmc/types.js'

export class TimedBmc implements BmcClient {
  readonly endpoint = 'https://timed.bench'
  private status: FlashStatus = { state: 'ready' }
  private powerBits: PowerState = { 1: 'off', 2: 'off', 3: 'off', 4: 'off' }
  private uart: Record<Slot, string> = { 1: '', 2: '', 3: '', 4: '' }
  readonly up = new Set<Slot>()

  constructor(private readonly t: { flashMs: number; bootMs: number }) {}

  async about() { return {} }
  async info() { return { ip: [], storage: [] } }
  async sdcard() { return undefined }
  async power() { return { ...this.powerBits } }
  async nodeInfo() { return [] }
  async setPower(slot: Slot, on: boolean) {
    this.powerBits[slot] = on ? 'on' : 'off'
    if (on) setTimeout(() => {
      this.uart[slot] += `\nrk1-${slot} login: `
      this.up.add(slot)
    }, this.t.bootMs)
  }
  async reset() {}
  async readUart(slot: Slot) { return this.uart[slot] }
  async writeUart() {}
  async startFlash(request: FlashRequest) {
    this.status = { state: 'transferring', id: 1, processName: '', size: request.length, bytesWritten: 0, cancelled: false }
    this.powerBits[request.slot] = 'off'
    this.up.delete(request.slot)
    return 1
  }
  async upload(_h: number, body: Readable, request: FlashRequest) {
    for await (const _chunk of body) void _chunk
    await new Promise((r) => setTimeout(r, this.t.flashMs))
    this.status = { state: 'done', seconds: this.t.flashMs / 1000, size: request.length }
  }
  async flashStatus() { return this.status }
  async cancelFlash() {}
}
