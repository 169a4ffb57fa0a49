// Whether a node is flashed, and why. Every path goes through mayReflash (src/core/redeploy): a node is
// flashed without reflash + confirm only on evidence that the flash destroys nothing — this action's own
// record of an unchanged image is kept, a node that answers is left alone, and a node that does not
// answer is flashed only when its cluster answers without it or it boots nothing (live-member rule).
import type { NodeSpec } from '../../config/model.js'
import { mayReflash } from '../../redeploy/check.js'
import { bootEvidence } from '../../redeploy/evidence.js'
import { unknown, type Membership } from '../../redeploy/live-member.js'
import { perRun } from '../per-run.js'
import type { PhaseContext, PlanAction } from '../types.js'

export interface FlashDecision {
  action: PlanAction
  reason: string
  /** How to get past a 'blocked' decision. */
  resume?: string
}

/** State key written right before the eMMC is written, cleared with the rest once the flash is done. */
export const FLASH_ATTEMPT = 'flash-attempt'

const CONFIRM_RESUME = (ctx: PhaseContext): string =>
  `if the node may be wiped, re-run with reflash: true, confirm: ${ctx.cluster.name} and nodes limited to it; otherwise power it on or fix its address/port so it answers`

function guarded(
  ctx: PhaseContext,
  node: NodeSpec,
  membership: Membership,
  run: Omit<FlashDecision, 'resume'>
): FlashDecision {
  const d = mayReflash(node, { membership, clusterName: ctx.cluster.name }, ctx.settings)
  return d.allowed ? run : { action: 'blocked', reason: d.reason, resume: CONFIRM_RESUME(ctx) }
}

/** `desired` is the image fingerprint when known (deploy), undefined in the plan (nothing downloaded, nothing powered). */
export async function decideFlash(ctx: PhaseContext, node: NodeSpec, desired?: string): Promise<FlashDecision> {
  const done = ctx.state.done(node.id, 'flash')
  if (ctx.settings.reflash) {
    const why = done ? `reflash requested (flashed ${done.at})` : 'reflash requested'
    return guarded(ctx, node, unknown(why), { action: 'change', reason: why })
  }
  if (done) {
    if (!desired || done.fingerprint === desired)
      return { action: 'skip', reason: `image flashed by an earlier run (${done.at})` }
    // Another version of an OS that upgrades in place: the upgrade phase moves a node that answers.
    if (
      ctx.kind.image.upgradedInPlace &&
      (await ctx.kind.probe.detail(ctx.deps, ctx.cluster, node.ip).catch(() => undefined)) !== undefined
    )
      return {
        action: 'skip',
        reason: `runs the image flashed ${done.at}; the upgrade phase moves it to the file's version in place, no reflash`
      }
    return {
      action: 'blocked',
      reason: `the wanted image differs from the one flashed ${done.at}; set reflash: true to replace it`,
      resume: 'set reflash: true (and confirm) to replace the image, or revert the image change'
    }
  }
  const attempt = ctx.state.done(node.id, FLASH_ATTEMPT)
  if (attempt)
    return {
      action: 'run',
      reason: `an earlier run started writing its eMMC (${attempt.at}) and did not finish; flashing it again`
    }
  if (desired === undefined) return observe(ctx, node, false)
  const looks = await startLooking(ctx)
  const mine = looks.get(node.id)
  if (!mine) return observe(ctx, node, true)
  // No flash starts on a board while the rule still watches a console there: bmcd answers one request
  // at a time (bmc-api.md §8.1), so those UART reads would wait behind the upload POST for minutes.
  await Promise.all(ctx.nodes.filter((n) => n.board === node.board).map((n) => looks.get(n.id)?.watched))
  return mine.decision
}

interface Look {
  decision: Promise<FlashDecision>
  /** Settles when the node's console watch is over (or there was none). */
  watched: Promise<void>
}

const lookAll = perRun<Map<string, Look>>()

/**
 * The deploy looks at every unrecorded node at once: a blank node is watched for a few seconds, and the
 * flashes (one at a time per BMC) should not wait for those windows one after another. The flash phase
 * starts this before it fetches the image, so the watch and the download overlap. Nothing is looked at
 * when reflash is set (the decision then rests on the confirmation alone).
 */
export function startLooking(ctx: PhaseContext): Promise<Map<string, Look>> {
  return lookAll(ctx.outputs, async () => {
    const pending = new Map<string, Look>()
    if (ctx.settings.reflash) return pending
    for (const n of ctx.nodes) {
      if (ctx.state.done(n.id, 'flash') || ctx.state.done(n.id, FLASH_ATTEMPT)) continue
      let watched = (): void => {}
      const watchedP = new Promise<void>((resolve) => (watched = resolve))
      const decision = observe(ctx, n, true, watched)
      decision.catch(() => undefined).finally(watched)
      pending.set(n.id, { decision, watched: watchedP })
    }
    return pending
  })
}

/** Waits for every look started by startLooking to end (a failed run leaves no node being watched). */
export async function looksSettled(ctx: PhaseContext): Promise<void> {
  const looks = await startLooking(ctx).catch(() => new Map<string, Look>())
  await Promise.all([...looks.values()].map((l) => l.decision.catch(() => undefined)))
}

/** The evidence for a node with no record: does it answer, does its cluster count it, what does it boot. */
async function observe(
  ctx: PhaseContext,
  node: NodeSpec,
  act: boolean,
  onWatched?: () => void
): Promise<FlashDecision> {
  const answersOn = ctx.kind.probe.service
  if ((await ctx.kind.probe.detail(ctx.deps, ctx.cluster, node.ip).catch(() => undefined)) !== undefined) {
    return { action: 'skip', reason: `node already answers on ${answersOn}; not reflashed without reflash: true` }
  }
  const fromCluster = await ctx.kind.probe.membership(ctx, node)
  if (fromCluster.kind !== 'unknown')
    return guarded(ctx, node, fromCluster, {
      action: 'run',
      reason: `no image recorded and the node does not answer; ${fromCluster.detail}`
    })
  const seen = await bootEvidence(ctx, node, act, onWatched)
  if ('answers' in seen)
    return {
      action: 'skip',
      reason: `powered on, it booted ("${seen.line}") and answers on ${answersOn}; not reflashed without reflash: true`
    }
  if ('wouldProbe' in seen)
    return {
      action: 'run',
      reason: `no image recorded, the node does not answer and ${fromCluster.detail}; ${seen.wouldProbe}: the deploy powers it on and flashes it only if it boots nothing`
    }
  const membership =
    seen.membership.kind === 'unknown' ? unknown(`${fromCluster.detail}; ${seen.membership.detail}`) : seen.membership
  return guarded(ctx, node, membership, {
    action: 'run',
    reason: `no image recorded and the node does not answer; ${membership.detail}`
  })
}
