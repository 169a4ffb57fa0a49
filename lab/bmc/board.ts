// The board's per-slot state: stored activation bits (what `get&type=power` reports), the physical rail
// (what a node sees, changed by reset and the flash worker too), power-on time, node_info and USB config.
import type { EventEmitter } from 'node:events'
import type { PowerEventInfo } from './types.js'

export const SLOTS = [1, 2, 3, 4] as const

export interface NodeInfoEntry {
  name: string | null
  module_name: string | null
  uart_baud: number | null
}

export interface UsbConfig {
  mode: 'Host' | 'Device' | 'Flash'
  slot: number
  route: 'Bmc' | 'AlternativePort'
}

export class Board {
  private readonly stored = new Map<number, boolean>()
  private readonly physical = new Map<number, boolean>()
  private readonly onSince = new Map<number, number>()
  readonly nodeInfo = new Map<number, NodeInfoEntry>()
  usb: UsbConfig = { mode: 'Host', slot: 1, route: 'AlternativePort' }
  readonly usbBootPins = new Set<number>()
  usbNode1Alternative = false
  fan = { speed: 3, max: 5 }
  hook: ((slot: number, on: boolean) => void) | undefined

  constructor(private readonly events: EventEmitter) {
    for (const s of SLOTS) {
      this.stored.set(s, false)
      this.physical.set(s, false)
      this.nodeInfo.set(s, { name: null, module_name: null, uart_baud: null })
    }
  }

  isStored(slot: number): boolean {
    return this.stored.get(slot) ?? false
  }
  isOn(slot: number): boolean {
    return this.physical.get(slot) ?? false
  }

  /** Seconds since the rail came up; null while off. */
  powerOnTime(slot: number): number | null {
    const since = this.onSince.get(slot)
    return since === undefined ? null : Math.floor((Date.now() - since) / 1000)
  }

  /** Switches the rail; emits 'power' only on a change. */
  setPhysical(slot: number, on: boolean, info: PowerEventInfo = { usbBoot: false }): void {
    if (this.isOn(slot) === on) return
    this.physical.set(slot, on)
    if (on) this.onSince.set(slot, Date.now())
    else this.onSince.delete(slot)
    this.hook?.(slot, on)
    this.events.emit('power', slot, on, info)
  }

  /**
   * What `set&type=power` does: the stored bit and the rail together. Re-powering a node that is on
   * restarts the power_on_time of nodes 2–4 but not node 1's (§8.16, bmcd's power controller).
   */
  setStored(slot: number, on: boolean, info?: PowerEventInfo): void {
    this.stored.set(slot, on)
    if (on && this.isOn(slot) && slot !== 1) this.onSince.set(slot, Date.now())
    this.setPhysical(slot, on, info)
  }

  /** A bmcd restart re-applies the stored bits (§8.16, §8.19). */
  reapplyStored(): void {
    for (const s of SLOTS) this.setStored(s, this.isStored(s))
  }
}
