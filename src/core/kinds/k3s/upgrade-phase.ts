// Phase upgrade (K3s, cluster scope, before install): nodes that already run k3s at another version than
// k3s_version are walked to it by the gated wave; fresh nodes are left to install. The plan shows the
// path, the order, the gates and what could block each drain; a path the rules forbid is refused before
// any node is touched.
import { PhaseError } from '../../errors.js'
import { topology, type K3sCluster } from './config.js'
import { observeNode } from './converge.js'
import { withPool, type ShellPool } from '../../remote/shells.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../phases/types.js'
import { k3sDriver, type K3sWaveDriver } from './upgrade-driver.js'
import { gates, nodeOrder, type KindGates, type NodeStep } from '../../upgrade/order.js'
import { versionPath, type VersionPath } from '../../upgrade/path.js'
import { compareVersions, parseVersion } from '../../upgrade/versions.js'

/** K3s: etcd is checked where servers vote (HA); a node is upgraded by install's own push and a restart. */
export const k3sGates = (ha: boolean): KindGates => ({
  ...(ha ? { etcd: 'etcd healthy: every server has EtcdIsVoter=True' } : {}),
  upgrade: 'push the new k3s binary and air-gap images, restart the service'
})
import { phaseWave } from '../../upgrade/phase-wave.js'
import { UpgradeStopped, type NodeTiming } from '../../upgrade/wave.js'

const PHASE = 'upgrade'

/** Nodes that could not be observed, with why: an upgrade does not start while one of them is out of sight. */
const unreachable = new WeakMap<Record<string, string>, string[]>()

/**
 * Installed k3s per selected node; nodes without k3s are install's, not part of an upgrade. `onFound`
 * hears each version as it comes in (the wave starts its first read as soon as one differs).
 */
async function installed(
  ctx: PhaseContext,
  pool: ShellPool,
  onFound?: (version: string) => void
): Promise<Record<string, string>> {
  const found: Record<string, string> = {}
  const lost: string[] = []
  await Promise.all(
    ctx.nodes.map(async (node) => {
      const facts = await observeNode(pool, PHASE, node).catch(
        (e: Error) => void lost.push(`${node.id} (${e.message})`)
      )
      if (facts && facts.version !== 'none' && facts.version !== 'unknown') {
        found[node.id] = facts.version
        onFound?.(facts.version)
      }
    })
  )
  // Keys in file order, whatever order the answers came in.
  const ordered = Object.fromEntries(ctx.nodes.filter((n) => found[n.id]).map((n) => [n.id, found[n.id]!]))
  unreachable.set(ordered, lost)
  return ordered
}

/** The path starts at the oldest running version, so a wave stopped half-way resumes with the same hops. */
export function k3sUpgrade(
  cluster: K3sCluster,
  running: Record<string, string>,
  ctxNodes = cluster.nodes
): { path: VersionPath; order: NodeStep[] } | undefined {
  const versions = Object.values(running)
  if (!versions.some((v) => v !== cluster.k3s_version)) return undefined
  const parsed = versions.map((v) => ({ v, p: parseVersion(v) }))
  const oldest = parsed.every((x) => x.p) ? parsed.sort((a, b) => compareVersions(a.p!, b.p!))[0].v : versions[0]
  const target = parseVersion(cluster.k3s_version)
  const newest = parsed.filter((x) => x.p).sort((a, b) => compareVersions(b.p!, a.p!))[0]?.v
  // A downgrade starts from the newest version present.
  const from =
    target && newest && parseVersion(newest) && compareVersions(parseVersion(newest)!, target) > 0 ? newest : oldest
  const path = versionPath('k3s', from, cluster.k3s_version, { allowDowngrade: cluster.allow_downgrade })
  const order = nodeOrder(
    ctxNodes.filter((n) => running[n.id] !== undefined),
    running,
    cluster.k3s_version
  )
  return { path, order }
}

const refusalText = (p: VersionPath): string => `${p.refusal!.reason}. Instead: ${p.refusal!.instead}`

async function plan(ctx: PhaseContext): Promise<PlanStep[]> {
  const cluster = ctx.cluster as K3sCluster
  return withPool(ctx, PHASE, async (pool) => {
    const running = await installed(ctx, pool)
    const up = k3sUpgrade(cluster, running, ctx.nodes)
    if (!up) return []
    if (up.path.refusal)
      return [
        {
          phase: PHASE,
          action: 'blocked',
          reason: refusalText(up.path),
          details: { from: up.path.from, to: up.path.to, rule: up.path.refusal.rule }
        }
      ]
    const lost = unreachable.get(running) ?? []
    if (lost.length)
      return [
        {
          phase: PHASE,
          action: 'blocked',
          reason: `k3s ${up.path.from} → ${up.path.to} waits until every node can be observed: not reachable: ${lost.join(', ')}`
        }
      ]
    const g = gates(k3sGates(topology(cluster).servers.length > 1), cluster.drain_timeout)
    const driver = k3sDriver(ctx, pool)
    const steps: PlanStep[] = [
      {
        phase: PHASE,
        action: 'change',
        reason: `k3s ${up.path.from} → ${up.path.to}${
          up.path.hops.length > 1
            ? ` via ${up.path.hops
                .slice(0, -1)
                .map((h) => h.to)
                .join(', ')}`
            : ''
        }, one node at a time: ${up.order
          .filter((s) => s.action === 'upgrade')
          .map((s) => s.node)
          .join(', ')}`,
        details: {
          hops: up.path.hops.map((h) => `${h.from} → ${h.to}`).join('; '),
          before: g.before.join('; '),
          'per node': g.perNode.join('; ')
        }
      }
    ]
    for (const s of up.order) {
      const blockers =
        s.action === 'upgrade' ? await driver.blockers(s.node).catch((e: Error) => [`not observed (${e.message})`]) : []
      steps.push({
        phase: PHASE,
        node: s.node,
        action: s.action === 'skip' ? 'skip' : 'change',
        reason: s.reason + (blockers.length ? `; drain could be blocked: ${blockers.join('; ')}` : ''),
        details: { from: s.from, to: s.to, ...(blockers.length ? { 'drain blockers': blockers.join('; ') } : {}) }
      })
    }
    return steps
  })
}

async function run(ctx: PhaseContext): Promise<StepResult> {
  const cluster = ctx.cluster as K3sCluster
  return withPool(ctx, PHASE, async (pool) => {
    const driver = k3sDriver(ctx, pool)
    // The wave's first look at the nodes (its before-gate) starts while the other nodes are still being
    // observed, as soon as one runs another version: it does not depend on their answers.
    let looking: Promise<void> | undefined
    try {
      const running = await installed(ctx, pool, (version) => {
        if (version !== cluster.k3s_version) looking ??= driver.lookAhead()
      })
      return await walk(running, driver)
    } finally {
      // Never left running past the phase: its kubectl would find the pool closed and open a shell of its own.
      await looking
    }
  })

  async function walk(running: Record<string, string>, driver: K3sWaveDriver): Promise<StepResult> {
    const up = k3sUpgrade(cluster, running, ctx.nodes)
    if (!up)
      return {
        changed: false,
        summary: Object.keys(running).length ? `every node runs k3s ${cluster.k3s_version}` : 'no node runs k3s yet'
      }
    if (up.path.refusal)
      throw new PhaseError(PHASE, undefined, `refused: ${up.path.refusal.reason}`, up.path.refusal.instead, {
        code: 'UpgradeRefused'
      })
    const lost = unreachable.get(running) ?? []
    if (lost.length)
      throw new UpgradeStopped(
        undefined,
        'before: every node Ready',
        `not reachable: ${lost.join(', ')}; no node was touched`,
        []
      )
    const timings: NodeTiming[] = []
    ctx.outputs.values.upgrade = timings
    const result = await phaseWave(ctx, {
      order: up.order,
      hops: up.path.hops,
      driver,
      abFallback: false,
      timings
    })
    const done = result.filter((t) => t.outcome === 'upgraded')
    return {
      changed: done.length > 0,
      summary: `k3s ${up.path.from} → ${up.path.to} on ${done.length} node-step(s): ${[...new Set(done.map((t) => t.node))].join(', ')}`
    }
  }
}

export const k3sUpgradePhase: PhaseModule = {
  name: PHASE,
  scope: 'cluster',
  appliesTo: (cluster) => cluster.kind === 'k3s',
  plan,
  run
}
