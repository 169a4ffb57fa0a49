// Boot detection: only UART bytes that arrived after a snapshot taken before power-on count (bmcd 2.3.x
// reads do not drain the 16 KiB ring, so an old `login:` would otherwise match at once), then a
// network probe confirms the node is really reachable where the cluster file says.
import { connect } from 'node:net'
import type { BmcClient, Slot } from '../../../adapters/bmc/types.js'
import type { Deps } from '../../deps.js'
import { PhaseError } from '../../errors.js'

export type OsKind = 'armbian' | 'talos'

export const BOOT_PATTERNS: Record<OsKind, RegExp> = {
  armbian: /login:/,
  // Talos prints "entering maintenance service" (real-samples C1) without a config, and "machine is
  // running and ready" once configured; older builds said "maintenance mode".
  talos: /entering maintenance service|maintenance mode|machine is running and ready/
}

/** The part of `now` that came after `before`, for a ring that may have dropped its oldest bytes. */
export function newUartText(before: string, now: string): string {
  if (!before) return now
  if (now.startsWith(before)) return now.slice(before.length)
  // The ring rolled: find where the old tail sits in the new buffer.
  for (const size of [512, 128, 32]) {
    const tail = before.slice(-size)
    if (tail.length < Math.min(size, before.length)) continue
    const at = now.lastIndexOf(tail)
    if (at >= 0) return now.slice(at + tail.length)
  }
  return now
}

export function lastLines(text: string, count = 15): string {
  return text.replace(/\r/g, '').split('\n').filter((l) => l.trim()).slice(-count).join('\n')
}

/** TCP connect through the address map; true when something accepts. */
export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

/** SSH banner (Armbian) or the Talos API port answering, at the node's mapped address. */
export async function probeNode(deps: Deps, os: OsKind, ip: string, sshPort: number, timeoutMs = 3000): Promise<boolean> {
  if (os === 'armbian') {
    const t = deps.net.map(ip, sshPort)
    return (await deps.ssh.probe(t.host, t.port, timeoutMs)) !== undefined
  }
  const t = deps.net.map(ip, 50000)
  return tcpOpen(t.host, t.port, timeoutMs)
}

export interface BootWait {
  node: string
  slot: Slot
  ip: string
  os: OsKind
  sshPort: number
  bmc: BmcClient
  deps: Deps
  /** UART ring content read before power-on. */
  snapshot: string
  timeoutMs: number
  pollMs?: number
  now?: () => number
}

/** Waits for the boot line on new UART bytes, then for the network probe. Throws a PhaseError on timeout. */
export async function waitForBoot(w: BootWait): Promise<{ seconds: number; line: string }> {
  const now = w.now ?? Date.now
  const started = now()
  const poll = w.pollMs ?? 2000
  let fresh = ''
  let line: string | undefined
  while (now() - started <= w.timeoutMs) {
    fresh = newUartText(w.snapshot, await w.bmc.readUart(w.slot))
    const m = BOOT_PATTERNS[w.os].exec(fresh)
    if (m) {
      line = fresh.slice(0, m.index + m[0].length).split('\n').pop()?.trim() ?? m[0]
      break
    }
    await w.deps.sleep(poll)
  }
  const resume = 're-run the workflow; the node is not reflashed if its image is already in place, and a node still powered but not answering is power-cycled'
  if (!line) {
    const tail = lastLines(fresh)
    throw new PhaseError('boot', w.node, `no ${w.os === 'armbian' ? '"login:"' : 'Talos maintenance/ready'} line on slot ${w.slot}'s console within boot_timeout ${Math.round(w.timeoutMs / 1000)} s; last console lines:\n${tail || '(nothing new on the UART since power-on)'}`, resume, { code: 'BootTimeout' })
  }
  while (now() - started <= w.timeoutMs) {
    if (await probeNode(w.deps, w.os, w.ip, w.sshPort)) return { seconds: (now() - started) / 1000, line }
    await w.deps.sleep(poll)
  }
  const what = w.os === 'armbian' ? `SSH on ${w.ip}:${w.sshPort}` : `the Talos API on ${w.ip}:50000`
  throw new PhaseError('boot', w.node, `console shows "${line}" but ${what} did not answer within boot_timeout; last console lines:\n${lastLines(fresh)}`, resume, { code: 'BootTimeout' })
}
