// Work that a run does once however many phases (or drift modules, which run at the same time) ask for
// it: registering the schematic, resolving an image, downloading talosctl, reading the cluster's nodes.
// Keyed by the run's outputs object, so a new run (a new execute()) starts afresh and nothing outlives
// it; a failure is forgotten, so a later caller in the same run tries again.
import type { RunOutputs } from './types.js'

export type PerRun<T> = (outputs: RunOutputs, work: () => Promise<T>, key?: string) => Promise<T>

export function perRun<T>(): PerRun<T> {
  const runs = new WeakMap<RunOutputs, Map<string, Promise<T>>>()
  return (outputs, work, key = '') => {
    let byKey = runs.get(outputs)
    if (!byKey) runs.set(outputs, (byKey = new Map()))
    let pending = byKey.get(key)
    if (!pending) {
      const entries = byKey
      pending = work()
      entries.set(key, pending)
      pending.catch(() => entries.delete(key))
    }
    return pending
  }
}
