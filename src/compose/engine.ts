// The engine every front runs: the phase modules in order plus the cross-cutting hooks (settings
// checks, board locks, drift, credential publishing). Tests build their own Engine from parts.
import { pipelinedNodeSteps } from '../core/phases/flash/pipeline.js'
import { publishForRun } from '../core/crypto/publish.js'
import { runDrift } from '../core/drift/run-drift.js'
import { driftAroundDeploys } from '../core/fleet/busy.js'
import { lockRunBoards } from '../core/lock/run-lock.js'
import type { PhaseModule } from '../core/phases/types.js'
import { checkRunSettings } from '../core/redeploy/run-checks.js'
import type { Engine } from '../core/run.js'
import { PHASE_MODULES } from './modules.js'

export interface EngineOptions {
  /** Who holds a board lock, for a waiting run's message. */
  runId: string
  modules?: PhaseModule[]
  lockWaitMs?: number
}

export function createEngine(options: EngineOptions): Engine {
  const modules = options.modules ?? PHASE_MODULES
  return {
    modules,
    checkSettings: checkRunSettings,
    runNodeSteps: pipelinedNodeSteps,
    lock: (ctx) => lockRunBoards(ctx, { runId: options.runId, waitTimeoutMs: options.lockWaitMs }),
    // A board a running deploy holds reads "deploy in progress", not drift (core/fleet/busy.ts).
    drift: (ctx, mods) => driftAroundDeploys(ctx, mods, (c, m) => runDrift(c, m)),
    publish: async (ctx) => {
      await publishForRun(ctx)
    }
  }
}
