// Whether a node is flashed, and why. A node is never reflashed behind the user's back: once this
// action flashed it, or when it already answers on SSH / the Talos API, only `reflash` replaces it.
import type { NodeSpec } from '../../config/model.js'
import { probeNode } from '../boot/detect.js'
import type { PhaseContext, PlanAction } from '../types.js'

export interface FlashDecision {
  action: PlanAction
  reason: string
}

export function osOf(ctx: PhaseContext): 'armbian' | 'talos' {
  return ctx.cluster.kind === 'k3s' ? 'armbian' : 'talos'
}

export function sshPort(ctx: PhaseContext): number {
  return ctx.cluster.kind === 'k3s' ? ctx.cluster.ssh.port : 22
}

/** `desired` is the image fingerprint when known (deploy), undefined in the plan (nothing downloaded). */
export async function decideFlash(ctx: PhaseContext, node: NodeSpec, desired?: string): Promise<FlashDecision> {
  const done = ctx.state.done(node.id, 'flash')
  if (ctx.settings.reflash) return { action: 'change', reason: done ? `reflash requested (flashed ${done.at})` : 'reflash requested' }
  if (done) {
    if (!desired || done.fingerprint === desired) return { action: 'skip', reason: `image flashed by an earlier run (${done.at})` }
    return { action: 'blocked', reason: `the wanted image differs from the one flashed ${done.at}; set reflash: true to replace it` }
  }
  const os = osOf(ctx)
  if (await probeNode(ctx.deps, os, node.ip, sshPort(ctx)).catch(() => false)) {
    return { action: 'skip', reason: `node already answers on ${os === 'armbian' ? 'SSH' : 'the Talos API'}; not reflashed without reflash: true` }
  }
  return { action: 'run', reason: 'no image recorded and the node does not answer' }
}
