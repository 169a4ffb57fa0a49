// Gathering the evidence the live-member rule decides on, for a node with no flash record that does not
// answer: (a) ask the cluster of the file whether it counts the node (ctx.kind.probe.membership), else (b) look at the node itself through its BMC: powered on, does it boot anything
// beyond the SoC's DDR init within a bounded window? Read-only in the plan; the deploy may power the
// node on (or power-cycle a silent one) to look, never anything more.
import type { BmcClient } from '../../adapters/bmc/types.js'
import type { NodeSpec } from '../config/model.js'
import { newUartText } from '../phases/boot/detect.js'
import type { PhaseContext } from '../phases/types.js'
import { installedSystemLine, member, notMember, unknown, type Membership } from './live-member.js'

/** What the node would answer on, for the messages. */
export function answerPoint(ctx: PhaseContext, node: NodeSpec): string {
  return `${ctx.kind.probe.service} on ${node.ip}:${ctx.kind.probe.port(ctx.cluster)}`
}

/** The answer of (b): a verdict, or the node came up and answers (it is then not flashed at all). */
export type BootEvidence = { membership: Membership } | { answers: true; line: string } | { wouldProbe: string }

const POLL_MS = 500
/**
 * The console watch polls faster: it lasts seconds, and each poll is one small UART read at the BMC
 * (four slots at once stay a few requests per second, none while an upload runs on that board).
 */
const WATCH_POLL_MS = 250

/** How long a powered-on node may print only DDR-init lines before it counts as booting nothing. */
export function blankWindowMs(bootTimeoutS: number): number {
  return Math.min(10_000, Math.max(2_000, Math.round((bootTimeoutS * 1000) / 30)))
}

/**
 * How long the console must stay unchanged after the DDR-init blob's last line before that counts as
 * conclusive. On an RK3588 the boot ROM loads the next stage from the same eMMC the moment DDR init ends
 * ("out"), so a loader's first line follows within milliseconds (real-samples B2, B3); 1.5 s of silence
 * after "out" is a margin of well over fifty times. Counted in polls, not wall time: a poll that waits
 * (a loaded runner, a BMC busy with another request) only makes the silence longer.
 */
export const DDR_SETTLED_MS = 1_500

/**
 * The console is conclusive for "nothing installed" when the new text ends with the DDR-init blob's
 * final line ("out") and nothing after it. Anything else (no output yet, a partial DDR block, any line
 * after "out") is not, and the full window applies.
 */
export function endsAtDdrInit(fresh: string): boolean {
  const lines = fresh
    .replace(/\r/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  return lines.length > 1 && /^DDR /.test(lines[0]!) && lines.at(-1) === 'out'
}

async function bmcOf(ctx: PhaseContext, node: NodeSpec): Promise<BmcClient> {
  const board = ctx.cluster.boardList.find((b) => b.name === node.board)
  if (!board) throw new Error(`board "${node.board}" is not in the cluster file`)
  return ctx.deps.bmc(board)
}

/**
 * (b) The node itself. A node powered on whose console already shows an installed system but that does
 * not answer is never touched: unknown. Otherwise, when `act` (deploy), it is powered on (a silent
 * powered node power-cycled) and watched: nothing beyond DDR init within the window → nothing to
 * destroy; a boot loader or system → wait for it to answer (then it is not flashed), else unknown.
 */
export async function bootEvidence(
  ctx: PhaseContext,
  node: NodeSpec,
  act: boolean,
  /** Called once the console watch is over (before a booting node is waited for), so a flash may start. */
  onWatched: () => void = () => {}
): Promise<BootEvidence> {
  let bmc: BmcClient
  let power: string
  let ring: string
  try {
    bmc = await bmcOf(ctx, node)
    power = (await bmc.power())[node.slot]
    ring = await bmc.readUart(node.slot)
  } catch (error) {
    return { membership: unknown(`its BMC cannot be asked: ${(error as Error).message.split('\n')[0]}`) }
  }
  const shown = power === 'on' ? installedSystemLine(ring) : undefined
  if (shown)
    return {
      membership: unknown(
        `it is powered on and its console shows "${shown}", but ${answerPoint(ctx, node)} does not answer`
      )
    }
  if (!act)
    return { wouldProbe: power === 'on' ? 'it is powered on with no system on its console' : `it is powered ${power}` }

  try {
    return await look(ctx, node, bmc, power, ring, onWatched)
  } catch (error) {
    return { membership: unknown(`looking at it through its BMC failed: ${(error as Error).message.split('\n')[0]}`) }
  }
}

/** Powers the node on (or cycles it) and watches its console: the deploy half of bootEvidence. */
async function look(
  ctx: PhaseContext,
  node: NodeSpec,
  bmc: BmcClient,
  power: string,
  ring: string,
  onWatched: () => void
): Promise<BootEvidence> {
  const window = blankWindowMs(ctx.cluster.boot_timeout)
  if (power === 'on') await bmc.reset(node.slot)
  else await bmc.setPower(node.slot, true)
  ctx.reporter.info(
    `${node.id}: no flash record and not answering; ${power === 'on' ? 'power-cycled' : 'powered on'} to see whether it boots an installed system`
  )
  let line: string | undefined
  // The console decides as soon as it is conclusive (DDR init ended and nothing followed for
  // DDR_SETTLED_MS); otherwise the whole window is watched, as before.
  const settledPolls = Math.ceil(Math.min(DDR_SETTLED_MS, window) / WATCH_POLL_MS)
  let settled: { text: string; polls: number } | undefined
  let early = false
  for (let i = 0; i < Math.ceil(window / WATCH_POLL_MS) && !line && !early; i++) {
    await ctx.deps.sleep(WATCH_POLL_MS)
    const fresh = newUartText(ring, await bmc.readUart(node.slot))
    line = installedSystemLine(fresh)
    if (line || !endsAtDdrInit(fresh)) settled = undefined
    else if (settled?.text !== fresh) settled = { text: fresh, polls: 0 }
    else early = ++settled.polls >= settledPolls
  }
  if (!line) {
    await bmc.setPower(node.slot, false)
    return {
      membership: notMember(
        early
          ? `powered on, its console ended at DDR init ("out") and stayed silent for ${DDR_SETTLED_MS / 1000} s: no boot loader on its eMMC (blank)`
          : `powered on, it booted nothing beyond DDR init within ${window / 1000} s (blank eMMC)`
      )
    }
  }
  onWatched()
  // A boot loader is there: wait (bounded by boot_timeout) for what it boots.
  const deadline = Date.now() + ctx.cluster.boot_timeout * 1000
  for (
    let i = 0;
    i < Math.max(1, Math.ceil((ctx.cluster.boot_timeout * 1000) / POLL_MS)) && Date.now() < deadline;
    i++
  ) {
    const fresh = newUartText(ring, await bmc.readUart(node.slot))
    const talos = /machine is running and ready|entering maintenance service|maintenance mode/.exec(fresh)
    if (talos) {
      return talos[0] === 'machine is running and ready'
        ? { membership: member(`powered on, it boots a configured Talos ("${talos[0]}")`) }
        : {
            membership: notMember(
              `powered on, it boots Talos in maintenance mode ("${talos[0]}"): no machine config to lose`
            )
          }
    }
    if ((await ctx.kind.probe.detail(ctx.deps, ctx.cluster, node.ip, 2000).catch(() => undefined)) !== undefined)
      return { answers: true, line }
    await ctx.deps.sleep(POLL_MS)
  }
  return {
    membership: unknown(
      `powered on, it boots an installed system ("${line}") but ${answerPoint(ctx, node)} did not answer within boot_timeout ${ctx.cluster.boot_timeout} s`
    )
  }
}
