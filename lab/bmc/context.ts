// Everything a request handler of the emulator can reach.
import type { EventEmitter } from 'node:events'
import type { AuthService } from './auth.js'
import type { Board } from './board.js'
import type { Faults } from './faults.js'
import type { FlashService } from './flash.js'
import type { FirmwareInfo } from './types.js'
import type { UartRing } from './uart.js'

export interface BmcContext {
  board: Board
  flash: FlashService
  faults: Faults
  auth: AuthService
  events: EventEmitter
  uarts: Map<number, UartRing>
  uartWrites: { slot: number; cmd: string }[]
  firmware: FirmwareInfo
  dataDir: string
  drainUartOnRead: boolean
  resetDelayMs: number
  powerStepMs: number
  diskPath(slot: number): string
  sdcardPath(name: string): string
}
