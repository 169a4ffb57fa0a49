// Which image a node gets is the cluster kind's to say (ctx.kind.image); it is fetched once per run
// through deps.downloads (or hashed once when local) and shared by all nodes.
import type { BaseImage } from '../../image/base-image.js'
import { perRun } from '../per-run.js'
import type { PhaseContext } from '../types.js'

const memo = perRun<BaseImage>()

export function resolveBaseImage(ctx: PhaseContext): Promise<BaseImage> {
  return memo(ctx.outputs, () => ctx.kind.image.resolve(ctx))
}
