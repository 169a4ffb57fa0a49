// The 'boot' phase: wait until a node flashed in this run (or, on a re-run, found powered off or powered
// but silent, which is power-cycled) answers on the network (SSH banner / Talos API port). The console is
// read only to explain a slow or failed boot (detect.ts): the BMC may be busy uploading the next node.
import type { NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { uartSnapshotKey } from '../handover.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../types.js'
import { waitForBoot } from './detect.js'

async function bmcFor(ctx: PhaseContext, node: NodeSpec) {
  const b = ctx.cluster.boardList.find((x) => x.name === node.board)
  if (!b)
    throw new PhaseError(
      'boot',
      node.id,
      `board "${node.board}" is not in the cluster file`,
      "fix the node's board and re-run"
    )
  return ctx.deps.bmc(b)
}

export const bootPhase: PhaseModule = {
  name: 'boot',
  scope: 'node',
  appliesTo: () => true,

  async plan(ctx): Promise<PlanStep[]> {
    return Promise.all(
      ctx.nodes.map(async (node) => {
        const up = (await ctx.kind.probe.detail(ctx.deps, ctx.cluster, node.ip).catch(() => undefined)) !== undefined
        return {
          phase: 'boot' as const,
          node: node.id,
          action: up ? ('skip' as const) : ('run' as const),
          reason: up ? 'node answers already' : 'wait for the node to boot after power-on'
        }
      })
    )
  },

  async runNode(ctx, node): Promise<StepResult> {
    const key = uartSnapshotKey(node.id)
    let snapshot = ctx.outputs.values[key] as string | undefined
    const bmc = await bmcFor(ctx, node)
    if (snapshot === undefined) {
      if ((await ctx.kind.probe.detail(ctx.deps, ctx.cluster, node.ip).catch(() => undefined)) !== undefined)
        return { changed: false, summary: 'already up' }
      snapshot = await bmc.readUart(node.slot)
      const power = await bmc.power()
      if (power[node.slot] !== 'on') {
        await bmc.setPower(node.slot, true)
        ctx.reporter.info(`${node.id}: not answering; powered on`)
      } else {
        // Powered but silent (e.g. the boot an earlier run waited for hung): only a fresh boot can show
        // the boot line after the snapshot, so power-cycle it.
        await bmc.reset(node.slot)
        ctx.reporter.info(`${node.id}: powered but not answering; reset (power-cycled) for a fresh boot`)
      }
    }
    const r = await waitForBoot({
      node: node.id,
      slot: node.slot,
      ip: node.ip,
      kind: ctx.kind,
      cluster: ctx.cluster,
      bmc,
      deps: ctx.deps,
      snapshot,
      timeoutMs: ctx.cluster.boot_timeout * 1000,
      reporter: ctx.reporter
    })
    delete ctx.outputs.values[key]
    await ctx.state.markDone(node.id, 'boot', ctx.state.done(node.id, 'flash')?.fingerprint)
    return { changed: true, summary: `booted in ${r.seconds.toFixed(0)} s (${r.line})` }
  }
}
