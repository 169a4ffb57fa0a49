// Boot detection by the network: the SSH banner (Armbian) or the Talos API port at the node's mapped
// address. The BMC answers one request at a time (bmc-api.md §8.1) and may spend minutes on the next
// node's upload, so the console (UART) is read only to explain a slow or failed boot, and only when
// this client has nothing in flight to that BMC. bmcd 2.3.x reads do not drain the 16 KiB ring, so only
// the bytes after a snapshot taken before power-on count as this boot's console.
import type { BmcClient, Slot } from '../../../adapters/bmc/types.js'
import type { Cluster } from '../../config/model.js'
import type { Deps } from '../../deps.js'
import type { ClusterKind } from '../../kinds/types.js'
import { PhaseError } from '../../errors.js'
import type { Reporter } from '../../reporter.js'

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
  return text
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim())
    .slice(-count)
    .join('\n')
}

export interface BootWait {
  node: string
  slot: Slot
  ip: string
  kind: ClusterKind
  cluster: Cluster
  bmc: BmcClient
  deps: Deps
  /** UART ring content read before power-on (undefined: unknown, the whole ring is shown). */
  snapshot?: string
  timeoutMs: number
  pollMs?: number
  /** How long a failed boot waits for the BMC to be free before explaining without the console. */
  consoleWaitMs?: number
  reporter?: Reporter
  now?: () => number
}

/** This boot's console, when the BMC is free within `waitMs`; undefined when it stayed busy or did not answer. */
async function readConsole(w: BootWait, waitMs: number): Promise<string | undefined> {
  const now = w.now ?? Date.now
  const until = now() + waitMs
  while (w.bmc.busy?.()) {
    if (now() >= until) return undefined
    await w.deps.sleep(Math.min(w.pollMs ?? 2000, 1000))
  }
  try {
    return newUartText(w.snapshot ?? '', await w.bmc.readUart(w.slot))
  } catch {
    return undefined
  }
}

/** Waits until the node answers on the network. Throws a PhaseError on timeout, explained by its console. */
export async function waitForBoot(w: BootWait): Promise<{ seconds: number; line: string }> {
  const now = w.now ?? Date.now
  const started = now()
  // A probe is a local connect: cheap enough to repeat every second (less for short boot_timeouts).
  const poll = w.pollMs ?? Math.min(1000, Math.max(50, w.timeoutMs / 20))
  let hinted = false
  for (;;) {
    const seen = await w.kind.probe.detail(w.deps, w.cluster, w.ip, Math.min(3000, Math.max(poll, 500)))
    if (seen) return { seconds: (now() - started) / 1000, line: seen }
    const elapsed = now() - started
    if (elapsed >= w.timeoutMs) break
    if (!hinted && w.reporter && elapsed > w.timeoutMs / 2 && !w.bmc.busy?.()) {
      // A slow boot: one look at the console, only if the BMC is not busy with another node.
      hinted = true
      const text = await readConsole(w, 0)
      const last = text === undefined ? undefined : lastLines(text, 1)
      if (last)
        w.reporter.info(
          `${w.node}: not answering yet after ${Math.round((now() - started) / 1000)} s; console: ${last}`
        )
    }
    // The last probe falls on the deadline.
    await w.deps.sleep(Math.max(1, Math.min(poll, w.timeoutMs - (now() - started))))
  }
  const resume =
    're-run the workflow; the node is not reflashed if its image is already in place, and a node still powered but not answering is power-cycled'
  const what = `${w.kind.probe.service} on ${w.ip}:${w.kind.probe.port(w.cluster)}`
  const fresh = await readConsole(w, w.consoleWaitMs ?? 60_000)
  let seen: string
  if (fresh === undefined) {
    seen = `${what} did not answer within boot_timeout ${Math.round(w.timeoutMs / 1000)} s; slot ${w.slot}'s console could not be read (the BMC stayed busy with another request, it answers one at a time)`
  } else {
    const m = w.kind.probe.bootLine.exec(fresh)
    const tail = lastLines(fresh)
    seen = m
      ? `console shows "${
          fresh
            .slice(0, m.index + m[0].length)
            .split('\n')
            .pop()
            ?.trim() ?? m[0]
        }" but ${what} did not answer within boot_timeout ${Math.round(w.timeoutMs / 1000)} s; last console lines:\n${tail}`
      : `${what} did not answer within boot_timeout ${Math.round(w.timeoutMs / 1000)} s and slot ${w.slot}'s console shows no ${w.kind.probe.bootLineName} line; last console lines:\n${tail || '(nothing new on the UART since power-on)'}`
  }
  throw new PhaseError('boot', w.node, seen, resume, { code: 'BootTimeout' })
}
