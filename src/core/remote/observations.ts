// What a run observed on each node, taken once and shared by every phase (plan, deploy and drift alike):
// a phase decides from it and execs on a node only to change something. Keyed by the run's outputs object,
// so a new run observes afresh. A phase that changes a node invalidates that node's observation: what was
// seen before the change is not trusted after it, and cluster-wide facts read before any change of this
// run (the changes counter) are not either.
import type { RunOutputs } from '../phases/types.js'

interface RunObservations {
  byNode: Map<string, Map<string, Promise<unknown>>>
  changes: number
  /** Nodes a phase of this run changed ('*': a cluster-wide change). */
  changed: Set<string>
}

const runs = new WeakMap<RunOutputs, RunObservations>()

function of(outputs: RunOutputs): RunObservations {
  let run = runs.get(outputs)
  if (!run) runs.set(outputs, (run = { byNode: new Map(), changes: 0, changed: new Set() }))
  return run
}

/**
 * The node's observation under `key`, taken by `take` the first time it is asked for in this run (or after
 * the node was invalidated). A failed observation is forgotten, so a later caller tries again.
 */
export function observed<T>(outputs: RunOutputs, node: string, key: string, take: () => Promise<T>): Promise<T> {
  const run = of(outputs)
  let entries = run.byNode.get(node)
  if (!entries) run.byNode.set(node, (entries = new Map()))
  let pending = entries.get(key) as Promise<T> | undefined
  if (!pending) {
    const own = entries
    pending = take()
    own.set(key, pending)
    pending.catch(() => {
      if (own.get(key) === pending) own.delete(key)
    })
  }
  return pending
}

/** A phase changed (or is about to change) the node: its observations are stale from now on. */
export function invalidate(outputs: RunOutputs, node: string): void {
  const run = of(outputs)
  run.byNode.delete(node)
  run.changes++
  run.changed.add(node)
}

/** How many node changes this run has recorded; a cluster-wide fact read at another count is stale. */
export function changesSoFar(outputs: RunOutputs): number {
  return of(outputs).changes
}

/** A cluster-wide change (a cluster-scoped phase changed something): every node's observation is stale. */
export function invalidateAll(outputs: RunOutputs): void {
  const run = of(outputs)
  run.byNode.clear()
  run.changes++
  run.changed.add('*')
}

/** Whether a phase of this run changed the node (or the whole cluster). */
export function changedInRun(outputs: RunOutputs, node: string): boolean {
  const { changed } = of(outputs)
  return changed.has(node) || changed.has('*')
}
