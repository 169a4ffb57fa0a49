// Phase install (K3s, cluster scope): the server(s). The first server is converged first (with a token
// generated once if it has none), then the other servers join it one at a time, as embedded etcd wants.
import { PhaseError } from '../../errors.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../phases/types.js'
import { generateToken, readToken, waitForApi, waitForNode } from './cluster-ops.js'
import { renderK3sConfig, sha256, topology, type K3sCluster } from './config.js'
import { artifactFetcher, convergeNode, observedFacts } from './converge.js'
import { decide, untouched } from './decide.js'
import { k3sDrift } from './drift.js'
import { RESUME, withPool, type ShellPool } from '../../remote/shells.js'

async function run(ctx: PhaseContext): Promise<StepResult> {
  const topo = topology(ctx.cluster)
  const selected = new Set(ctx.nodes.map((n) => n.id))
  const fetch = artifactFetcher(ctx)
  return withPool(ctx, 'install', async (pool) => {
    const lines: string[] = []
    let changed = false
    let token = await readToken(ctx, pool, 'install')
    const firstToken = token ?? generateToken(ctx)
    if (selected.has(topo.first.id)) {
      // The first server keeps whatever token file it has; only a fresh one gets the generated token.
      const facts = await observedFacts(ctx, pool, 'install', topo.first)
      const first = await convergeNode({
        ctx,
        pool,
        phase: 'install',
        node: topo.first,
        fetch,
        ...(facts.token_sha === 'none' ? { token: firstToken } : {})
      })
      lines.push(`${topo.first.id}: ${first.summary}`)
      changed ||= first.changed
      if (first.changed) await waitForApi(ctx, pool, 'install')
      token = await readToken(ctx, pool, 'install')
    }
    if (!token)
      throw new PhaseError(
        'install',
        topo.first.id,
        'the first server has no k3s token yet',
        `${RESUME} (include ${topo.first.id} in the nodes input)`,
        { code: 'NoToken' }
      )
    ctx.outputs.k3sToken = token
    for (const server of topo.servers.slice(1)) {
      if (!selected.has(server.id)) continue
      const result = await convergeNode({ ctx, pool, phase: 'install', node: server, token, fetch })
      lines.push(`${server.id}: ${result.summary}`)
      changed ||= result.changed
      // Embedded etcd takes one new member at a time: the next server waits for this one.
      if (result.changed) await waitForNode(ctx, pool, 'install', server)
    }
    for (const line of lines) ctx.reporter.info(line)
    return {
      changed,
      summary: changed
        ? lines.filter((l) => !l.includes('unchanged')).join('; ')
        : `${lines.length} server(s) unchanged`
    }
  })
}

/** Observed plan rows for the given nodes; a node that cannot be observed says why. */
export async function planNodes(
  ctx: PhaseContext,
  pool: ShellPool,
  phase: 'install' | 'join',
  nodes = ctx.nodes
): Promise<PlanStep[]> {
  const cluster = ctx.cluster as K3sCluster
  const topo = topology(cluster)
  // Every node's observation at once (read-only); the rows keep the nodes' order.
  return Promise.all(
    nodes.map(async (node): Promise<PlanStep> => {
      try {
        const facts = await observedFacts(ctx, pool, phase, node)
        const d = decide({
          node,
          isFirst: node.id === topo.first.id,
          facts,
          version: cluster.k3s_version,
          configSha: sha256(renderK3sConfig(cluster, node))
        })
        const action = untouched(d) ? 'skip' : d.install ? 'run' : 'change'
        const reason = untouched(d) ? `k3s ${facts.version} running with the wanted config` : d.reasons.join(', ')
        return { phase, node: node.id, action, reason }
      } catch (error) {
        return {
          phase,
          node: node.id,
          action: 'run',
          reason: `not observed (${(error as Error).message}); would install k3s ${cluster.k3s_version}`
        }
      }
    })
  )
}

export const k3sInstallPhase: PhaseModule = {
  name: 'install',
  scope: 'cluster',
  appliesTo: (cluster) => cluster.kind === 'k3s',
  plan: (ctx) =>
    withPool(ctx, 'install', (pool) =>
      planNodes(
        ctx,
        pool,
        'install',
        ctx.nodes.filter((n) => n.role === 'controlplane')
      )
    ),
  run,
  drift: k3sDrift('install', (n) => n.role === 'controlplane')
}
