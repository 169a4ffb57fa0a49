// Node-scoped phases that come after a cluster-scoped one (npu) run on several nodes at once: each node
// is independent by then, and waiting in line only adds up their times. The run sets how many nodes work
// at once (settings.nodeConcurrency); a phase module may ask for fewer (PhaseModule.nodeConcurrency: 1
// keeps it serial). After a failure no further node starts; the nodes already working finish their step,
// so a re-run has less left to do and nothing is cut off mid-change.
import type { CachedArtifact, Downloads } from '../adapters/downloads/types.js'
import type { NodeSpec } from './config/model.js'
import type { PhaseModule } from './phases/types.js'
import type { Reporter, SourceRef } from './reporter.js'
import type { RunSettings } from './settings.js'

/** Nodes working at once in a node-scoped phase when the run does not say. */
export const DEFAULT_NODE_CONCURRENCY = 4

export function nodeLimit(
  module: Pick<PhaseModule, 'nodeConcurrency'>,
  settings: Pick<RunSettings, 'nodeConcurrency'>
): number {
  const run = settings.nodeConcurrency ?? DEFAULT_NODE_CONCURRENCY
  return Math.max(1, Math.floor(Math.min(run, module.nodeConcurrency ?? run)))
}

export interface AcrossNodesOutcome<N> {
  failed: { node: N; error: unknown }[]
  /** Nodes never started because an earlier one failed. */
  skipped: N[]
}

/** Runs `step` for every node, at most `limit` at once, in node order; stops starting nodes after a failure. */
export async function runAcrossNodes<N>(
  nodes: N[],
  limit: number,
  step: (node: N) => Promise<void>
): Promise<AcrossNodesOutcome<N>> {
  const failed: { node: N; error: unknown }[] = []
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < nodes.length && failed.length === 0) {
      const node = nodes[next++]
      try {
        await step(node)
      } catch (error) {
        failed.push({ node, error })
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, nodes.length) }, worker))
  return { failed, skipped: nodes.slice(next) }
}

/**
 * The reporter a node's step sees while other nodes work beside it: every line starts with the node id,
 * so the phase's one group stays readable. A nested group becomes a line (a runner cannot nest groups,
 * and interleaved groups of several nodes would mislabel each other's lines).
 */
export function nodeReporter(base: Reporter, node: Pick<NodeSpec, 'id'>): Reporter {
  const p = (message: string): string => `${node.id}: ${message}`
  const reporter: Reporter = {
    info: (message) => base.info(p(message)),
    debug: (message) => base.debug(p(message)),
    warn: (message, where?: SourceRef) => base.warn(p(message), where),
    error: (message, where?: SourceRef) => base.error(p(message), where),
    group: async (title, fn) => {
      base.info(p(title))
      return fn()
    },
    secret: (value) => base.secret(value)
  }
  return reporter
}

/**
 * Nodes working at once may ask for the same artifact (every node's NPU runtime): one download, shared,
 * instead of several writers racing on one cache folder.
 */
export function sharedFetches(downloads: Downloads): Downloads {
  if (!downloads) return downloads
  const running = new Map<string, Promise<CachedArtifact>>()
  return {
    fetch: (request) => {
      const key = JSON.stringify([
        request.tool,
        request.version,
        request.arch,
        request.fileName,
        request.url,
        request.checksum
      ])
      const known = running.get(key)
      if (known) return known
      const started = downloads.fetch(request).finally(() => running.delete(key))
      running.set(key, started)
      return started
    }
  }
}
