// The wave's hands on a K3s cluster: `k3s kubectl` on a server over SSH (any server that answers, so the
// one restarting does not take the wave's view away) and, for the upgrade itself, the install phase's
// own convergence with the hop's version: the new binary and air-gap images pushed from the runner
// cache, install.sh, the service restarted.
import type { NodeSpec } from '../../config/model.js'
import { topology, unitName, type K3sCluster } from './config.js'
import { restartScript } from './remote-scripts.js'
import { artifactFetcher, convergeNode } from './converge.js'
import { runChecked, type ShellPool } from '../../remote/shells.js'
import type { PhaseContext } from '../../phases/types.js'
import { drainBlockers, pdbsOf, podsOf, type NodeStep } from '../../upgrade/order.js'
import type { Hop } from '../../upgrade/path.js'
import type { DrainResult, NodeObservation, WaveDriver } from '../../upgrade/wave.js'

interface KubeNode {
  metadata: { name: string; labels?: Record<string, string> }
  spec?: { unschedulable?: boolean }
  status?: { conditions?: { type: string; status: string; message?: string }[]; nodeInfo?: { kubeletVersion?: string } }
}

export function observationOf(node: KubeNode | undefined): NodeObservation {
  if (!node) return { ready: false, cordoned: false }
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
  const version = node.status?.nodeInfo?.kubeletVersion
  return { ready, ...(version ? { version } : {}), cordoned: node.spec?.unschedulable === true }
}

/** Every server of an embedded-etcd cluster must be a voting member (k3s sets EtcdIsVoter on its Node). */
export function etcdVoters(nodes: KubeNode[], servers: string[]): { ok: boolean; seen: string } {
  const bad: string[] = []
  for (const name of servers) {
    const node = nodes.find((n) => n.metadata.name === name)
    const voter = node?.status?.conditions?.find((c) => c.type === 'EtcdIsVoter')
    if (!node) bad.push(`${name} is not registered`)
    else if (voter?.status !== 'True')
      bad.push(`${name} has EtcdIsVoter=${voter?.status ?? 'absent'}${voter?.message ? ` (${voter.message})` : ''}`)
  }
  return bad.length
    ? { ok: false, seen: `etcd: ${bad.join(', ')}` }
    : { ok: true, seen: `etcd: ${servers.length} voting members` }
}

// Parsers of kubectl's pod and budget lists live with drainBlockers (kind-neutral); re-exported for callers here.
export { pdbsOf, podsOf }

/** How long after its answer a `get nodes` still serves: shorter than any poll interval of the wave. */
const SHARED_MS = 200

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

export interface K3sWaveDriver extends WaveDriver {
  /** `k3s kubectl <args>` on the first server that answers; throws with the last error when none does. */
  kubectl(args: string[], timeoutMs?: number): Promise<string>
  blockers(node: string): Promise<string[]>
  /** Starts the read the wave's next question will need (its answer is shared for a moment, see nodes());
   *  settles (never rejects) once that read is over. */
  lookAhead(): Promise<void>
}

export function k3sDriver(ctx: PhaseContext, pool: ShellPool, phase = 'upgrade'): K3sWaveDriver {
  const cluster = ctx.cluster as K3sCluster
  const topo = topology(cluster)
  const byId = new Map<string, NodeSpec>(cluster.nodes.map((n) => [n.id, n]))
  const ha = topo.servers.length > 1

  const kubectl = async (args: string[], timeoutMs = 30_000): Promise<string> => {
    let last = 'no server answered'
    for (const server of topo.servers) {
      try {
        const shell = await pool.shell(server)
        const out = await shell.exec(`k3s kubectl ${args.map(quote).join(' ')}`, { timeoutMs })
        if (out.code === 0) return out.stdout
        last = `${server.id}: ${out.stderr.trim().split('\n').slice(-2).join(' ') || `exit ${out.code}`}`
        // A refusal from a working API (a blocked drain, NotFound) is the answer, not a server to skip.
        if (!/connection.*refused|was refused|no such file|Unable to connect/i.test(out.stderr))
          throw new KubectlFailed(last)
      } catch (error) {
        if (error instanceof KubectlFailed) throw error
        last = `${server.id}: ${(error as Error).message}`
      }
    }
    throw new Error(`k3s kubectl ${args[0]}: ${last}`)
  }
  // One `get nodes` serves every question asked while it runs or within a moment of its answer (each
  // node's Ready, then the etcd gate): each call costs a kubectl process on a server, and the answers
  // would be the same. The moment counts from the answer, or a slow read would never be shared. Any
  // change this driver makes (cordon, drain, upgrade, uncordon) drops it, before and after the change.
  let recent: { answeredAt?: number; list: Promise<KubeNode[]> } | undefined
  const nodes = (): Promise<KubeNode[]> => {
    if (recent && (recent.answeredAt === undefined || Date.now() - recent.answeredAt < SHARED_MS)) return recent.list
    const entry: { answeredAt?: number; list: Promise<KubeNode[]> } = {
      list: kubectl(['get', 'nodes', '-o', 'json']).then((out) => (JSON.parse(out) as { items: KubeNode[] }).items)
    }
    entry.list.then(
      () => (entry.answeredAt = Date.now()),
      () => recent === entry && (recent = undefined)
    )
    recent = entry
    return entry.list
  }
  const changing = async <T>(fn: () => Promise<T>): Promise<T> => {
    recent = undefined
    try {
      return await fn()
    } finally {
      recent = undefined
    }
  }
  const hostname = (step: NodeStep): string => byId.get(step.node)?.hostname ?? step.node

  const blockers = async (node: string): Promise<string[]> => {
    const [pods, pdbs] = await Promise.all([
      kubectl(['get', 'pods', '-A', '-o', 'json']),
      kubectl(['get', 'pdb', '-A', '-o', 'json'])
    ])
    return drainBlockers(node, podsOf(pods), pdbsOf(pdbs))
  }

  return {
    kubectl,
    blockers,
    lookAhead: () =>
      nodes().then(
        () => undefined,
        () => undefined
      ),
    drainCordons: true,
    observe: async (step) => observationOf((await nodes()).find((n) => n.metadata.name === hostname(step))),
    ...(ha
      ? {
          etcd: async () =>
            etcdVoters(
              await nodes(),
              topo.servers.map((s) => s.hostname)
            )
        }
      : {}),
    cordon: (step) => changing(async () => void (await kubectl(['cordon', hostname(step)]))),
    uncordon: (step) => changing(async () => void (await kubectl(['uncordon', hostname(step)]))),
    drain: (step, timeoutMs) => changing(() => drain(step, timeoutMs)),
    upgrade: (step, hop) => changing(() => upgrade(step, hop))
  }

  async function drain(step: NodeStep, timeoutMs: number): Promise<DrainResult> {
    const seconds = Math.max(1, Math.round(timeoutMs / 1000))
    try {
      await kubectl(
        ['drain', hostname(step), '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${seconds}s`],
        timeoutMs + 30_000
      )
      return { ok: true }
    } catch (error) {
      const named = await blockers(hostname(step)).catch(() => [])
      return { ok: false, blocker: named.length ? named.join('; ') : (error as Error).message }
    }
  }

  async function upgrade(step: NodeStep, hop: Hop): Promise<void> {
    const node = byId.get(step.node)!
    const hopCtx: PhaseContext = { ...ctx, cluster: { ...cluster, k3s_version: hop.to } as K3sCluster }
    const result = await convergeNode({ ctx: hopCtx, pool, phase, node, fetch: artifactFetcher(hopCtx) })
    // The files were already at the hop's version (an earlier run was cut off before the restart).
    if (!result.changed)
      await runChecked(
        await pool.shell(node),
        phase,
        node,
        `restarting ${unitName(node)}`,
        restartScript({ unit: unitName(node), why: `k3s ${hop.to} installed but not running`, version: hop.to }),
        { timeoutMs: 120_000 }
      )
  }
}

class KubectlFailed extends Error {}
