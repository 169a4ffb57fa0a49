// Everything a request handler of the emulator can reach.
import type { EventEmitter } from 'node:events'
import type { AuthService } from './auth.js'
import type { Board } from './board.js'
import type { Faults } from './faults.js'
import type { FlashService } from './flash.js'
import type { RequestLock } from './lock.js'
import type { FirmwareInfo } from './types.js'
import type { UartRing } from './uart.js'

export interface BmcContext {
  board: Board
  flash: FlashService
  faults: Faults
  auth: AuthService
  /** One authenticated request at a time (§8.1). */
  lock: RequestLock
  /** Upload POSTs whose body is being received (for tests that must act during one). */
  uploads: { active: number }
  events: EventEmitter
  uarts: Map<number, UartRing>
  uartWrites: { slot: number; cmd: string }[]
  firmware: FirmwareInfo
  dataDir: string
  drainUartOnRead: boolean
  resetDelayMs: number
  powerStepMs: number
  /** bmcd restarts (reload, reboot, power loss): tokens, bans, UART rings, the transfer and every connection go (§8.19). */
  restart(): void
  diskPath(slot: number): string
  sdcardPath(name: string): string
}
