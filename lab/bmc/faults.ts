// Runtime fault injection for the BMC emulator.
import type { FaultControl, FlashFault, InitialFaults } from './types.js'

interface PendingFailure {
  match: string | RegExp
  status: number
  left: number
}

export class Faults implements FaultControl {
  flashError: FlashFault | undefined
  sdcardMissing = false
  readonly usbAbsent = new Set<number>()
  private failures: PendingFailure[] = []
  private dropAfter: number | undefined

  constructor(
    initial: InitialFaults = {},
    private readonly onExpire: () => void = () => undefined
  ) {
    this.flashError = initial.flashError
    this.sdcardMissing = initial.sdcardMissing ?? false
    for (const s of initial.usbAbsent ?? []) this.usbAbsent.add(s)
  }

  failNext(match: string | RegExp, status: number, count = 1): void {
    if (status < 400 || status > 599)
      throw new Error(`failNext status ${status} is not an HTTP error, expected 400..599`)
    this.failures.push({ match, status, left: count })
  }

  dropUpload(afterBytes: number): void {
    this.dropAfter = afterBytes
  }

  expireTokens(): void {
    this.onExpire()
  }

  setUsbAbsent(slot: number, absent: boolean): void {
    if (absent) this.usbAbsent.add(slot)
    else this.usbAbsent.delete(slot)
  }

  clear(): void {
    this.failures = []
    this.dropAfter = undefined
    this.flashError = undefined
    this.sdcardMissing = false
    this.usbAbsent.clear()
  }

  /** The injected status for this request, consuming one count; undefined when none matches. */
  takeFailure(path: string, type: string | undefined): number | undefined {
    const hit = this.failures.find((f) =>
      typeof f.match === 'string'
        ? f.match === type || (f.match.startsWith('/') && path.startsWith(f.match))
        : f.match.test(path)
    )
    if (!hit) return undefined
    if (--hit.left <= 0) this.failures = this.failures.filter((f) => f !== hit)
    return hit.status
  }

  /** Byte count after which the next upload's socket is destroyed (consumed). */
  takeDropUpload(): number | undefined {
    const n = this.dropAfter
    this.dropAfter = undefined
    return n
  }
}
