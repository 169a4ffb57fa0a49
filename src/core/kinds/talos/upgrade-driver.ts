// The wave's hands on a Talos cluster, all through talosctl against each node's own IP: the node's
// version (`talosctl version`) and readiness (`get machinestatus`), etcd health (`etcd status` on every
// control plane), and the upgrade itself (`talosctl upgrade --image … --wait` with the talosctl of the
// version the node runs, as Talos asks). Talos cordons and drains a node itself when it upgrades and
// uncordons it when it is back (its upgrade sequence), but a PodDisruptionBudget that forbids an eviction
// only makes it retry until its own drain time-out, out of sight of talosctl, and then it reboots anyway.
// So, when the Kubernetes API can be read, the drain step here is a gate: one read of the pods, budgets and
// nodes; while a budget would block this node's drain it waits (up to drain_timeout), then stops the wave
// naming the budget and its pods, before the node is touched. If an upgrade still stalls (a budget came
// after the look), the error names what blocks the node's own drain and the node is uncordoned.
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import type { NodeSpec } from '../../config/model.js'
import { DRAIN_FACTS_ARGS, drainBlockers, drainFactsOf, type NodeStep } from '../../upgrade/order.js'
import type { DrainResult, NodeObservation, WaveDriver } from '../../upgrade/wave.js'
import { parseMachineStatus, serverTag } from './answers.js'
import { machineStatusArgv, serverVersionArgv } from './argv.js'
import { etcdStatusArgv, parseEtcdStatus, upgradeArgv } from './upgrade-argv.js'

export interface TalosDriverInput {
  nodes: NodeSpec[]
  talosconfig: string
  /** talosctl of a given Talos version (the tool cache holds one per version). */
  talosctlFor(version: string): Promise<Talosctl>
  /** Any talosctl, for reads (version, machinestatus, etcd status). */
  reader: Talosctl
  /** The installer image of a version (factory.talos.dev/…installer/<schematic>:<version>). */
  image(version: string): string
  timeoutSeconds: number
  /** kubectl against the cluster (stdout; throws when it fails). Without it the drain is Talos' alone. */
  kubectl?(args: string[]): Promise<string>
  sleep?(ms: number): Promise<void>
  now?(): number
  /** Between two looks at a blocked drain. */
  pollMs?: number
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1)?.slice(0, 300) ?? ''

export function talosDriver(i: TalosDriverInput): WaveDriver {
  const byId = new Map(i.nodes.map((n) => [n.id, n]))
  const ipOf = (step: NodeStep): string => byId.get(step.node)?.ip ?? step.ip
  const controlPlanes = i.nodes.filter((n) => n.role === 'controlplane')
  const hostname = (step: NodeStep): string => byId.get(step.node)?.hostname ?? step.node
  const now = i.now ?? Date.now
  const sleep = i.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)))
  /** Nodes someone else had cordoned before this run's upgrade: never uncordoned here. */
  const foreignCordon = new Set<string>()
  /** What blocked a node's drain when last looked at, to name if its upgrade stalls. */
  const lastBlockers = new Map<string, string[]>()
  /** Nodes whose upgrade failed after Talos may have cordoned them (it lifts its cordon only once back). */
  const stalled = new Set<string>()

  const blockersOf = async (step: NodeStep): Promise<{ blockers: string[]; cordoned: boolean }> => {
    const facts = drainFactsOf(await i.kubectl!(DRAIN_FACTS_ARGS))
    return {
      blockers: drainBlockers(hostname(step), facts.pods, facts.pdbs),
      cordoned: facts.cordoned.includes(hostname(step))
    }
  }

  const drain = async (step: NodeStep, timeoutMs: number): Promise<DrainResult> => {
    if (!i.kubectl) return { ok: true }
    const deadline = now() + timeoutMs
    let first = true
    for (;;) {
      const seen = await blockersOf(step).catch(() => undefined)
      // Unreadable: Talos drains by itself; a stall is still named from whatever can be read then.
      if (!seen) return { ok: true }
      if (first && seen.cordoned) foreignCordon.add(step.node)
      first = false
      lastBlockers.set(step.node, seen.blockers)
      if (!seen.blockers.length) return { ok: true }
      if (now() >= deadline)
        return {
          ok: false,
          blocker: `${seen.blockers.join('; ')} (not upgraded: Talos would wait on it inside talosctl upgrade, then reboot the node anyway)`
        }
      await sleep(Math.min(i.pollMs ?? 2_000, Math.max(0, deadline - now())))
    }
  }

  const observe = async (step: NodeStep): Promise<NodeObservation> => {
    const ip = ipOf(step)
    const [v, s] = await Promise.all([
      i.reader.run(serverVersionArgv(ip, i.talosconfig), { timeoutMs: 15_000 }),
      i.reader.run(machineStatusArgv(ip, i.talosconfig), { timeoutMs: 15_000 })
    ])
    const version = v.code === 0 ? serverTag(v.stdout) : undefined
    const status = s.code === 0 ? parseMachineStatus(s.stdout) : undefined
    return {
      ready: status?.stage === 'running' && status.ready,
      ...(version ? { version } : {}),
      cordoned: false
    }
  }

  const etcd = async (): Promise<{ ok: boolean; seen: string }> => {
    const problems: string[] = []
    await Promise.all(
      controlPlanes.map(async (cp) => {
        const r = await i.reader.run(etcdStatusArgv(cp.ip, i.talosconfig), { timeoutMs: 15_000 })
        const row = parseEtcdStatus(r.stdout).find((x) => x.node === cp.ip)
        if (r.code !== 0 || !row) problems.push(`${cp.id}: ${lastLine(r.stderr || r.stdout) || `exit ${r.code}`}`)
        else if (row.learner) problems.push(`${cp.id} is a learner, not a voting member`)
        else if (row.errors) problems.push(`${cp.id}: ${row.errors}`)
      })
    )
    return problems.length
      ? { ok: false, seen: `talosctl etcd status: ${problems.sort().join('; ')}` }
      : { ok: true, seen: `etcd: ${controlPlanes.length} healthy member(s)` }
  }

  return {
    observe,
    ...(controlPlanes.length ? { etcd } : {}),
    drainCordons: true,
    cordon: async () => undefined,
    drain,
    // Talos uncordons a node it cordoned once it is back; this covers an upgrade that stopped before that
    // (stalled in its drain). A node someone else had cordoned stays so.
    uncordon: async (step) => {
      if (!i.kubectl || !stalled.has(step.node) || foreignCordon.has(step.node)) return
      stalled.delete(step.node)
      await i.kubectl(['uncordon', hostname(step)])
    },
    upgrade: async (step, hop) => {
      const talosctl = await i.talosctlFor(hop.from)
      const argv = upgradeArgv({
        ip: ipOf(step),
        talosconfig: i.talosconfig,
        image: i.image(hop.to),
        timeoutSeconds: i.timeoutSeconds
      })
      const r = await talosctl.run(argv, { timeoutMs: (i.timeoutSeconds + 30) * 1000 })
      if (r.code !== 0) {
        stalled.add(step.node)
        const said = `talosctl upgrade --image ${i.image(hop.to)} on ${ipOf(step)}: ${lastLine(r.stderr || r.stdout)}`
        // A stall in the node's own drain looks like any time-out to talosctl: look at what holds it now.
        const now = i.kubectl ? await blockersOf(step).catch(() => undefined) : undefined
        const blockers = now?.blockers ?? lastBlockers.get(step.node) ?? []
        throw new Error(
          blockers.length
            ? `${said}; the node's own drain is blocked: ${blockers.join('; ')} (Talos keeps retrying the eviction until its drain time-out, then reboots the node anyway)`
            : said
        )
      }
    }
  }
}
