// The phase modules in execution order. A phase missing here is reported as "not available in this
// build" by run.ts and shown from the static plan.
import type { PhaseModule } from '../core/phases/types.js'

export const PHASE_MODULES: PhaseModule[] = []
