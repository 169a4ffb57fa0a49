// The 'flash' phase (per node, pipelined by run.ts through pipelinedNodeSteps). After the BMC reports
// Done the node is off: the UART ring is snapshotted (the BMC is free at that moment), then the node is
// powered on, and the snapshot is handed to the 'boot' phase, which shows only this boot's console
// output when it has to explain a slow or failed boot.
import type { BmcClient } from '../../../adapters/bmc/types.js'
import type { BoardSpec, NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../types.js'
import { decideFlash, FLASH_ATTEMPT, looksSettled, startLooking } from './decide.js'
import { flashNode, RESUME } from './flash-node.js'
import { identityFingerprint, nodeIdentity, prepareNodeImage } from './node-image.js'
import { uartSnapshotKey } from '../handover.js'
import { resolveBaseImage } from './resolve-image.js'

interface BoardFacts {
  version: string
  power?: Awaited<ReturnType<BmcClient['power']>>
  nodes?: Awaited<ReturnType<BmcClient['nodeInfo']>>
  error?: string
}

/** Read-only BMC facts for the plan (about, power, node_info); an unreachable BMC is a detail, not a failure. */
async function boardFacts(ctx: PhaseContext, name: string): Promise<BoardFacts> {
  try {
    const bmc = await ctx.deps.bmc(ctx.cluster.boardList.find((b) => b.name === name) as BoardSpec)
    const [about, power, nodes] = await Promise.all([bmc.about(), bmc.power(), bmc.nodeInfo().catch(() => undefined)])
    return { version: `bmcd ${about.bmcdVersion ?? about.version ?? '?'}`, power, nodes }
  } catch (error) {
    return { version: '', error: `unreachable: ${(error as Error).message}` }
  }
}

function board(ctx: PhaseContext, node: NodeSpec) {
  const b = ctx.cluster.boardList.find((x) => x.name === node.board)
  if (!b)
    throw new PhaseError(
      'flash',
      node.id,
      `board "${node.board}" is not in the cluster file`,
      "fix the node's board and re-run"
    )
  return b
}

export const flashPhase: PhaseModule = {
  name: 'flash',
  scope: 'node',
  appliesTo: () => true,

  async plan(ctx): Promise<PlanStep[]> {
    const image = ctx.kind.image.describe(ctx.cluster, ctx.outputs.schematicId)
    const facts = new Map<string, Promise<BoardFacts>>()
    for (const b of ctx.cluster.boardList) facts.set(b.name, boardFacts(ctx, b.name))
    // A BMC that cannot be observed (credentials, a ban, the network) is said once, in its own row.
    const bmcRows: PlanStep[] = []
    for (const b of ctx.cluster.boardList) {
      const f = await facts.get(b.name)
      if (f?.error && ctx.nodes.some((n) => n.board === b.name))
        bmcRows.push({
          phase: 'flash',
          action: 'blocked',
          reason: `cannot observe the BMC of board ${b.name} (${b.bmc.endpoint}): ${f.error.replace(/^unreachable: /, '')}`,
          details: { board: b.name }
        })
    }
    return [
      ...bmcRows,
      ...(await Promise.all(
        ctx.nodes.map(async (node) => {
          const f = await facts.get(node.board)
          // No second login against a BMC that refused the first (a wrong password would earn a ban).
          const done = ctx.state.done(node.id, 'flash')
          const d = !f?.error
            ? await decideFlash(ctx, node)
            : done
              ? { action: 'skip' as const, reason: `image flashed by an earlier run (${done.at})` }
              : {
                  action: 'blocked' as const,
                  reason: `not observed: the BMC of board ${node.board} cannot be asked (its row above)`
                }
          const details: Record<string, string> = { image, board: node.board, slot: String(node.slot) }
          if (f?.error) details.bmc = f.error
          else if (f) {
            details.bmc = f.version
            details.power = f.power?.[node.slot] ?? 'unknown'
            const info = f.nodes?.find((n) => n.slot === node.slot)
            if (info?.moduleName) details.module = info.moduleName
          }
          return { phase: 'flash' as const, node: node.id, action: d.action, reason: d.reason, details }
        })
      ))
    ]
  },

  async runNode(ctx, node): Promise<StepResult> {
    // The live-member rule's look at unrecorded nodes overlaps the image download and its digest check.
    void startLooking(ctx).catch(() => undefined)
    let base: Awaited<ReturnType<typeof resolveBaseImage>>
    try {
      base = await resolveBaseImage(ctx)
    } catch (error) {
      await looksSettled(ctx)
      throw error
    }
    const image = await prepareNodeImageOrFingerprint(ctx, node, base)
    try {
      const d = await decideFlash(ctx, node, image.fingerprint)
      if (d.action === 'skip') return { changed: false, summary: d.reason }
      if (d.action === 'blocked')
        throw new PhaseError(
          'flash',
          node.id,
          d.reason,
          d.resume ?? 'set reflash: true (and confirm) to replace the image, or revert the image change',
          { code: 'ReflashNeeded' }
        )
      const prepared = await image.prepare()
      const bmc = await ctx.deps.bmc(board(ctx, node))
      const timeoutMs = ctx.cluster.flash_timeout * 1000
      // From here the eMMC may be half written: a re-run may flash again without confirm (live-member rule).
      await ctx.state.markDone(node.id, FLASH_ATTEMPT, image.fingerprint)
      const flashed = await ctx.reporter.group(`flash ${node.id} (slot ${node.slot} on ${node.board})`, () =>
        flashNode({
          node: node.id,
          slot: node.slot,
          bmc,
          imagePath: prepared.path,
          openFile: ctx.deps.openFile,
          imageSource: base.source,
          sha256: prepared.sha256,
          reporter: ctx.reporter,
          sleep: ctx.deps.sleep,
          timeoutMs
        })
      )
      await ctx.state.clear(node.id)
      if (prepared.hostKeyFingerprint) ctx.state.node(node.id).hostKey = prepared.hostKeyFingerprint
      await ctx.state.markDone(node.id, 'flash', image.fingerprint)
      try {
        ctx.outputs.values[uartSnapshotKey(node.id)] = await bmc.readUart(node.slot)
        await bmc.setPower(node.slot, true)
      } catch (error) {
        throw new PhaseError(
          'flash',
          node.id,
          `flashed, but powering slot ${node.slot} on failed: ${(error as Error).message}`,
          RESUME,
          { cause: error }
        )
      }
      return { changed: true, summary: `flashed ${base.source}`, stages: flashed.stages }
    } finally {
      await image.cleanup()
    }
  }
}

/**
 * The per-node image is built lazily: its fingerprint (base + identity) is known before building, so a
 * skipped node costs no copy. A kind without per-node images (Talos) uploads the cached file directly.
 */
async function prepareNodeImageOrFingerprint(
  ctx: PhaseContext,
  node: NodeSpec,
  base: Awaited<ReturnType<typeof resolveBaseImage>>
) {
  const fingerprint = ctx.kind.image.perNode ? identityFingerprint(base, nodeIdentity(ctx, node)) : base.sha256
  let built: Awaited<ReturnType<typeof prepareNodeImage>> | undefined
  return {
    fingerprint,
    prepare: async () => (built = await prepareNodeImage(ctx, node, base)),
    cleanup: async () => built?.cleanup()
  }
}
