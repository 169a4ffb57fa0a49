// startBmc: one emulated Turing Pi 2.5 BMC (bmcd 2.3.x) over HTTPS on a loopback address.
import { EventEmitter } from 'node:events'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join, normalize } from 'node:path'
import { AuthService } from './auth.js'
import { Board, SLOTS } from './board.js'
import type { BmcContext } from './context.js'
import { Faults } from './faults.js'
import { FlashService } from './flash.js'
import { httpHandler, httpsHandler } from './server.js'
import { RequestLock } from './lock.js'
import { labCertificate } from './tls.js'
import type { BmcEmulator, BmcEmulatorOptions, FirmwareInfo, RequestLog } from './types.js'
import { UartRing } from './uart.js'

export type * from './types.js'

const DEFAULT_FIRMWARE: FirmwareInfo = {
  boardModel: 'Turing Pi 2',
  boardRevision: '2.5.2',
  hostname: 'turingpi',
  version: '2.3.4',
  bmcdVersion: '2.3.7',
  buildtime: '2025-02-11 09:12:45-00:00',
  buildroot: 'Buildroot 2024.05.1',
  ip: '127.20.0.1',
  mac: '02:00:00:00:20:01'
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  return new Promise((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  })
}

function trackSockets(server: Server, sockets: Set<Socket>): void {
  const add = (s: Socket): void => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  }
  server.on('connection', add)
}

export async function startBmc(options: BmcEmulatorOptions = {}): Promise<BmcEmulator> {
  const host = options.host ?? '127.20.0.1'
  const given = options.dataDir ?? options.dir
  const dataDir = given ?? (await mkdtemp(join(tmpdir(), 'lab-bmc-')))
  await mkdir(join(dataDir, 'sdcard'), { recursive: true })
  await mkdir(join(dataDir, 'os_upgrade'), { recursive: true })
  const cert = await labCertificate()
  const events = new EventEmitter()
  events.setMaxListeners(50)
  const auth = new AuthService({
    username: options.username ?? 'root',
    password: options.password ?? 'turing',
    ttlMs: options.tokenTtlMs ?? 10_800_000,
    banThreshold: options.banThreshold ?? 5,
    banBaseMs: options.banBaseMs ?? 60_000,
    loopbackExempt: options.loopbackExempt ?? false
  })
  const faults = new Faults(options.faults, () => auth.expireAll())
  const board = new Board(events)
  // A v2.5 hub cannot make a node the USB host (§8.14), so its routing starts as a device; v2.4 as host.
  const revision = options.firmware?.boardRevision ?? DEFAULT_FIRMWARE.boardRevision
  board.usb = { mode: /^2\.4/.test(revision) ? 'Host' : 'Device', slot: 1, route: 'AlternativePort' }
  const timings = {
    uploadDeadlineMs: options.uploadDeadlineMs ?? 10_000,
    usbDetectMs: options.usbDetectMs ?? 50,
    writeBytesPerSec: options.writeBytesPerSec,
    verifyBytesPerSec: options.verifyBytesPerSec
  }
  const flash = new FlashService(board, faults, events, timings)
  const uarts = new Map(SLOTS.map((s) => [s as number, new UartRing()]))
  const checkSlot = (slot: number): void => {
    if (!SLOTS.includes(slot as 1)) throw new Error(`slot ${slot} is not a BMC slot, expected 1..4`)
  }
  const diskPath = (slot: number): string => {
    checkSlot(slot)
    return join(dataDir, `slot${slot}.img`)
  }
  const sdcardPath = (name: string): string => {
    // `/mnt/sdcard/x.img` (tpi --local) or a bare name: both land in <dataDir>/sdcard.
    const rel = normalize(name.replace(/^\/mnt\/sdcard\//, '').replace(/^\/+/, ''))
    return rel.startsWith('..') ? join(dataDir, 'sdcard', '.invalid') : join(dataDir, 'sdcard', rel)
  }
  const uartWrites: { slot: number; cmd: string }[] = []
  const sockets = new Set<Socket>()
  const ctx: BmcContext = {
    board,
    flash,
    faults,
    auth,
    lock: new RequestLock(),
    uploads: { active: 0 },
    events,
    uarts,
    uartWrites,
    dataDir,
    diskPath,
    sdcardPath,
    firmware: { ...DEFAULT_FIRMWARE, ip: host, ...options.firmware },
    drainUartOnRead: options.drainUartOnRead ?? false,
    resetDelayMs: options.resetDelayMs ?? 1000,
    powerStepMs: options.powerStepMs ?? 0,
    restart: () => {
      auth.restart()
      for (const r of uarts.values()) r.clear()
      flash.restart()
      board.reapplyStored()
      for (const s of sockets) s.destroy()
    }
  }
  const requests: RequestLog[] = []
  const https = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, httpsHandler(ctx, requests))
  trackSockets(https, sockets)
  const port = await listen(https, options.port ?? 0, host)
  let http: Server | undefined
  let httpPort: number | undefined
  if (options.httpPort !== undefined) {
    http = createHttpServer(httpHandler(ctx, () => port, requests))
    trackSockets(http, sockets)
    httpPort = await listen(http, options.httpPort, host)
  }
  let stopped: Promise<void> | undefined
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      flash.cancel()
      flash.dispose()
      await Promise.all([closeServer(https, sockets), http ? closeServer(http, sockets) : undefined])
      events.removeAllListeners()
      if (!given) await rm(dataDir, { recursive: true, force: true })
    })()
    return stopped
  }
  const emulator: BmcEmulator = {
    url: `https://${host}:${port}`,
    host,
    port,
    httpUrl: httpPort === undefined ? undefined : `http://${host}:${httpPort}`,
    fingerprint: cert.fingerprint,
    certPem: cert.certPem,
    username: options.username ?? 'root',
    password: options.password ?? 'turing',
    dataDir,
    events,
    requests,
    uartWrites,
    faults,
    diskPath,
    sdcardPath,
    uart: (slot) => {
      checkSlot(slot)
      const r = uarts.get(slot)!
      return { write: (t) => r.write(t), contents: () => r.contents() }
    },
    power: (slot) => {
      checkSlot(slot)
      return board.isOn(slot)
    },
    storedPower: (slot) => {
      checkSlot(slot)
      return board.isStored(slot)
    },
    throttle: (rates) => {
      // 0 or undefined = unlimited; applies from the next transfer on.
      if ('writeBytesPerSec' in rates) timings.writeBytesPerSec = rates.writeBytesPerSec || undefined
      if ('verifyBytesPerSec' in rates) timings.verifyBytesPerSec = rates.verifyBytesPerSec || undefined
    },
    uploadsInProgress: () => ctx.uploads.active,
    waitedRequests: () => ctx.lock.contended,
    flashBytesWritten: () => (flash.stateName === 'Transferring' ? flash.current?.bytesWritten : undefined),
    reload: () => ctx.restart(),
    stop,
    close: stop
  }
  Object.defineProperty(emulator, 'setPowerHook', {
    get: () => board.hook,
    set: (h: BmcEmulator['setPowerHook']) => {
      board.hook = h
    },
    enumerable: true
  })
  return emulator
}
