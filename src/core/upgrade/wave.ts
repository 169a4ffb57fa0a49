// Walks an upgrade one node at a time, gated, and stops safely. The wave knows nothing of K3s or Talos:
// a driver observes, cordons, drains, upgrades and uncordons; the wave decides when, and what to leave
// behind when a gate fails: the failing node as it is (uncordoned if healthy at either version), the
// nodes after it untouched, and an error that says which node, which gate, what was seen and that a
// re-run resumes. Only nodes this run (or an earlier run of this action) cordoned are ever uncordoned.
import { PhaseError } from '../errors.js'
import type { NodeStep } from './order.js'
import type { Hop } from './path.js'
import { compareVersions, parseVersion } from './versions.js'

export interface NodeObservation {
  ready: boolean
  /** Version the node reports now; undefined when it cannot be read. */
  version?: string
  cordoned: boolean
}

export type DrainResult = { ok: true } | { ok: false; blocker: string }

export interface WaveDriver {
  observe(node: NodeStep): Promise<NodeObservation>
  /** Cluster-wide health besides Ready (etcd voters, talosctl etcd status); absent when there is none. */
  etcd?(): Promise<{ ok: boolean; seen: string }>
  cordon(node: NodeStep): Promise<void>
  drain(node: NodeStep, timeoutMs: number): Promise<DrainResult>
  /** Runs the hop on the node; throws when the upgrade command fails. */
  upgrade(node: NodeStep, hop: Hop): Promise<void>
  uncordon(node: NodeStep): Promise<void>
  /** The drain cordons the node itself (kubectl drain does): no separate cordon call is needed. */
  drainCordons?: boolean
}

/** What the wave remembers across runs (kept in state-dir): whom it cordoned, which nodes fell back. */
export interface WaveMemory {
  cordoned: string[]
  fallbacks: Record<string, { from: string; to: string; at: string }>
}

export interface WaveOptions {
  /** Ready at the old version after the upgrade means the node booted its previous system (Talos' A/B
   *  fallback): the wave stops there and never retries that target on its own. */
  abFallback: boolean
  drainTimeoutMs: number
  readyTimeoutMs: number
  pollMs: number
  sleep(ms: number): Promise<void>
  now(): number
  memory: WaveMemory
  /** Persists memory after each change, so a run cut off mid-node still knows what it cordoned. */
  save(memory: WaveMemory): Promise<void>
  log?(line: string): void
}

export type StepName = 'cordon' | 'drain' | 'upgrade' | 'ready' | 'uncordon'

export interface NodeTiming {
  node: string
  from: string
  to: string
  steps: { step: StepName; ms: number }[]
  outcome: 'upgraded' | 'skipped' | 'stopped'
}

/** The gate that stopped a wave: a PhaseError (phase "upgrade") with the gate named for the summary. */
export class UpgradeStopped extends PhaseError {
  constructor(
    node: string | undefined,
    readonly gate: string,
    seen: string,
    readonly timings: NodeTiming[],
    resume = 're-run the same command: nodes already at the new version are skipped and the wave resumes at this node'
  ) {
    super('upgrade', node, `${gate} gate: ${seen}`, resume, { code: 'UpgradeStopped' })
  }
}

const RESUME_AFTER_FALLBACK =
  'not retried automatically: find out why the new image did not boot (talosctl dmesg, the UART log), then either upgrade this node by hand or choose another talos_version and re-run'

/**
 * Upgrades the nodes of `order` along `hops`: every node through the first hop, then every node through
 * the next, so the K3s rule (servers first, then agents) and the Talos rule (one control plane at a time)
 * hold within each hop.
 */
export async function runWave(
  order: NodeStep[],
  hops: Hop[],
  driver: WaveDriver,
  options: WaveOptions
): Promise<NodeTiming[]> {
  const timings: NodeTiming[] = []
  for (const step of order) {
    const fell = options.memory.fallbacks[step.node]
    if (!fell || !hops.some((h) => h.to === fell.to)) continue
    // Moved to that target since (by hand, as the stop advised): the record has done its job.
    const now = await driver.observe(step).catch(() => undefined)
    if (now?.ready && (now.version === fell.to || beyond(now.version, { from: fell.from, to: fell.to }))) {
      delete options.memory.fallbacks[step.node]
      await options.save(options.memory)
      continue
    }
    throw new UpgradeStopped(
      step.node,
      'fallback',
      `the node came back at ${fell.from} after an upgrade to ${fell.to} on ${fell.at} (A/B fallback)`,
      timings,
      RESUME_AFTER_FALLBACK
    )
  }
  for (const hop of hops) {
    await beforeGate(order, driver, options, timings)
    // A node's uncordon runs while the next node is looked at (the look does not depend on it); the next
    // drain waits for it, so the evicted pods can land on the node just released.
    let released: Promise<void> = Promise.resolve()
    for (const step of order) {
      const done = await oneNode({ ...step, from: step.from, to: hop.to }, hop, driver, options, timings, released)
      timings.push(done.timing)
      released = done.released
    }
    await released
  }
  return timings
}

async function beforeGate(
  order: NodeStep[],
  driver: WaveDriver,
  options: WaveOptions,
  timings: NodeTiming[]
): Promise<void> {
  // A cluster that cannot even say how its nodes are (no etcd quorum: every read times out) stops here too.
  const seens = await Promise.all(
    order.map((step) =>
      driver.observe(step).catch((error: Error) => {
        throw new UpgradeStopped(
          step.node,
          'before: every node Ready',
          `${step.node} could not be observed: ${error.message}; no node was touched`,
          timings
        )
      })
    )
  )
  for (const [i, step] of order.entries()) {
    const seen = seens[i]!
    if (!seen.ready)
      throw new UpgradeStopped(
        step.node,
        'before: every node Ready',
        `${step.node} is not Ready (at ${seen.version ?? 'an unreadable version'}); no node was touched`,
        timings
      )
  }
  const etcd = await driver.etcd?.()
  if (etcd && !etcd.ok)
    throw new UpgradeStopped(undefined, 'before: etcd healthy', `${etcd.seen}; no node was touched`, timings)
}

async function oneNode(
  step: NodeStep,
  hop: Hop,
  driver: WaveDriver,
  options: WaveOptions,
  timings: NodeTiming[],
  previous: Promise<void>
): Promise<{ timing: NodeTiming; released: Promise<void> }> {
  const memory = options.memory
  const timing: NodeTiming = { node: step.node, from: hop.from, to: hop.to, steps: [], outcome: 'stopped' }
  const timed = async <T>(name: StepName, fn: () => Promise<T>): Promise<T> => {
    const start = options.now()
    try {
      return await fn()
    } finally {
      timing.steps.push({ step: name, ms: options.now() - start })
    }
  }
  const ours = (): boolean => memory.cordoned.includes(step.node)
  const release = async (): Promise<void> => {
    if (!ours()) return
    await timed('uncordon', () => driver.uncordon(step))
    memory.cordoned = memory.cordoned.filter((n) => n !== step.node)
    await options.save(memory)
  }
  const stop = async (gate: string, seen: string, resume?: string): Promise<never> => {
    // Left as it is, but not cordoned forever: uncordoned when healthy at either version.
    const now = await driver.observe(step).catch(() => undefined)
    const healthy = now?.ready && (now.version === hop.from || now.version === hop.to)
    if (healthy) await release()
    const left = ours() ? 'left cordoned' : healthy ? 'uncordoned' : 'left as it was'
    timings.push(timing)
    throw new UpgradeStopped(
      step.node,
      gate,
      `${seen}; ${step.node} ${left}, the nodes after it untouched`,
      timings,
      resume
    )
  }

  // Both settle before anything goes on: a stop never leaves the last uncordon running behind the phase.
  const [seen, prev] = await Promise.allSettled([driver.observe(step), previous])
  if (prev.status === 'rejected') throw prev.reason
  if (seen.status === 'rejected') throw seen.reason
  const before = seen.value
  if (before.version === hop.to || beyond(before.version, hop)) {
    // Done by an earlier run (or already past a stepping stone); a cordon that run left behind is lifted once the node is Ready.
    if (before.ready) await release()
    return { timing: { ...timing, outcome: 'skipped' }, released: Promise.resolve() }
  }
  options.log?.(`${step.node}: ${hop.from} → ${hop.to}`)

  if (!before.cordoned) {
    // Recorded before the cordon, so a run cut off right after it still knows the cordon is its own.
    memory.cordoned = [...new Set([...memory.cordoned, step.node])]
    await options.save(memory)
    if (!driver.drainCordons) await timed('cordon', () => driver.cordon(step))
  }
  const drained = await timed('drain', () => driver.drain(step, options.drainTimeoutMs))
  if (!drained.ok)
    return stop(
      'drain',
      `drain did not finish within ${Math.round(options.drainTimeoutMs / 1000)}s: ${drained.blocker}`
    )

  try {
    await timed('upgrade', () => driver.upgrade(step, hop))
  } catch (error) {
    return stop('upgrade', (error as Error).message)
  }

  const ready = await timed('ready', () => waitReady(step, hop, driver, options))
  if (ready.fallback) {
    memory.fallbacks[step.node] = { from: hop.from, to: hop.to, at: new Date(options.now()).toISOString() }
    await options.save(memory)
    return stop(
      'fallback',
      `the node came back at ${hop.from}, not ${hop.to} (A/B fallback to the old image)`,
      RESUME_AFTER_FALLBACK
    )
  }
  if (!ready.ok) return stop('ready', ready.seen)
  timing.outcome = 'upgraded'
  const released = release()
  // Awaited by the next node (or the wave's end); this only keeps a failure from counting as unhandled meanwhile.
  released.catch(() => undefined)
  return { timing, released }
}

/** A node already newer than an upgrade hop's target is never taken back down to it. */
function beyond(version: string | undefined, hop: Hop): boolean {
  const [v, from, to] = [version ?? '', hop.from, hop.to].map(parseVersion)
  return !!v && !!from && !!to && compareVersions(to, from) > 0 && compareVersions(v, to) > 0
}

/** Polls until the node is Ready at the new version and the cluster's health gate holds again. */
async function waitReady(
  step: NodeStep,
  hop: Hop,
  driver: WaveDriver,
  options: WaveOptions
): Promise<{ ok: boolean; fallback?: boolean; seen: string }> {
  const deadline = options.now() + options.readyTimeoutMs
  let seen: string
  // A restart is often over in well under a poll: look soon, then back off to the configured interval.
  let wait = Math.min(250, options.pollMs)
  for (;;) {
    const now = await driver
      .observe(step)
      .catch((e: Error) => ({ ready: false, version: undefined, cordoned: true, error: e.message }))
    // Talos reports its version from the Talos API after the reboot: the old one means the A/B fallback.
    if (options.abFallback && now.ready && now.version === hop.from)
      return { ok: false, fallback: true, seen: `Ready at ${hop.from}` }
    if (now.ready && now.version === hop.to) {
      const etcd = await driver.etcd?.()
      if (!etcd || etcd.ok) return { ok: true, seen: `Ready at ${hop.to}` }
      seen = `Ready at ${hop.to}, but ${etcd.seen}`
    } else {
      seen = `${now.ready ? 'Ready' : 'not Ready'} at ${now.version ?? 'an unreadable version'}`
    }
    if (options.now() >= deadline)
      return {
        ok: false,
        seen: `not Ready at ${hop.to} within ${Math.round(options.readyTimeoutMs / 1000)}s (last seen: ${seen})`
      }
    await options.sleep(wait)
    wait = Math.min(wait * 2, options.pollMs)
  }
}
