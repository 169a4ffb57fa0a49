// Phase join (K3s, cluster scope): the agents join with the token from the first server, then the
// whole cluster is awaited (nodes Ready with their roles, core pods running) and the kubeconfig is
// fetched, pointed at the API endpoint and written 0600 into the state folder.
import { credentialsDir } from '../../state/credentials.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext, PhaseModule, StepResult } from '../../phases/types.js'
import { readToken, waitForCluster } from './cluster-ops.js'
import { topology } from './config.js'
import { artifactFetcher, convergeNode } from './converge.js'
import { k3sDrift } from './drift.js'
import { planNodes } from './install-phase.js'
import { rewriteKubeconfig, writeKubeconfig } from './kubeconfig.js'
import { firstServerKubeconfig } from './observation.js'
import { RESUME, withPool } from '../../remote/shells.js'

/** Agents converge in parallel, but the first server's sshd allows 10 sessions per connection (MaxSessions). */
const AGENT_CONCURRENCY = 6

async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      results[i] = await fn(items[i])
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

async function run(ctx: PhaseContext): Promise<StepResult> {
  const topo = topology(ctx.cluster)
  const selected = new Set(ctx.nodes.map((n) => n.id))
  const fetch = artifactFetcher(ctx)
  return withPool(ctx, 'join', async (pool) => {
    const token = ctx.outputs.k3sToken ?? (await readToken(ctx, pool, 'join'))
    if (!token)
      throw new PhaseError(
        'join',
        topo.first.id,
        'the first server has no k3s token',
        `run the install phase first, then ${RESUME}`,
        { code: 'NoToken' }
      )
    ctx.outputs.k3sToken = token
    const agents = topo.agents.filter((a) => selected.has(a.id))
    const results = await mapLimited(agents, AGENT_CONCURRENCY, (node) =>
      convergeNode({ ctx, pool, phase: 'join', node, token, fetch })
    )
    agents.forEach((node, i) => ctx.reporter.info(`${node.id}: ${results[i].summary}`))

    const assessed = await waitForCluster(ctx, pool, 'join')
    Object.assign(ctx.outputs.nodeStatus, assessed.status)

    const raw = await firstServerKubeconfig(ctx, pool, 'join')
    ctx.outputs.kubeconfigPath = await writeKubeconfig(
      await credentialsDir(ctx.settings),
      rewriteKubeconfig(raw, ctx.cluster.apiEndpoint)
    )

    const changed = results.filter((r) => r.changed).length
    return {
      changed: changed > 0,
      summary: `${changed} of ${agents.length} agent(s) changed; ${ctx.cluster.nodes.length} node(s) Ready`
    }
  })
}

export const k3sJoinPhase: PhaseModule = {
  name: 'join',
  scope: 'cluster',
  appliesTo: (cluster) => cluster.kind === 'k3s',
  plan: (ctx) =>
    withPool(ctx, 'join', (pool) =>
      planNodes(
        ctx,
        pool,
        'join',
        ctx.nodes.filter((n) => n.role === 'worker')
      )
    ),
  run,
  drift: k3sDrift('join', (n) => n.role === 'worker', { cluster: true })
}
