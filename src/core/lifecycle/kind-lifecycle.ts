// The kind's lifecycle hooks (ClusterKind.lifecycle), or the refusal a kind without them gets: said before
// anything changed, naming the operation and the kind, never a guess at another kind's procedure.
import type { NodeSpec } from '../config/model.js'
import { PhaseError } from '../errors.js'
import type { KindLifecycle } from '../kinds/types.js'
import type { PhaseContext } from '../phases/types.js'

export function lifecycleOf(
  ctx: PhaseContext,
  operation: { phase: string; what: string; code: string; node?: NodeSpec['id']; byHand: string }
): KindLifecycle {
  const hooks = ctx.kind.lifecycle
  if (hooks) return hooks
  throw new PhaseError(
    operation.phase,
    operation.node,
    `${operation.what} is not supported for ${ctx.kind.name} clusters in this build; nothing was changed`,
    operation.byHand,
    { code: operation.code }
  )
}
