// Cluster-level steps shared by install and join: the join token (generated once, kept only on the
// first server and in memory), waiting for the API, and the readiness poll.
import { randomBytes } from 'node:crypto'
import { PhaseError } from '../../errors.js'
import type { NodeSpec } from '../../config/model.js'
import type { PhaseContext } from '../../phases/types.js'
import { topology } from './config.js'
import { assessNodes, assessPods, type Assessment } from './readiness.js'
import { readTokenScript } from './remote-scripts.js'
import { checkedSection, freshClusterSection, observeK3s } from './observation.js'
import { changedInRun } from '../../remote/observations.js'
import { RESUME, runChecked, type ShellPool } from '../../remote/shells.js'

export const POLL_MS = 2_000

/** The token on the first server (server/token, else our token file), or undefined on a fresh server. */
export async function readToken(ctx: PhaseContext, pool: ShellPool, phase: string): Promise<string | undefined> {
  const first = topology(ctx.cluster).first
  // From the first server's observation, unless this run changed it (then read again, as it is now).
  const stdout = changedInRun(ctx.outputs, first.id)
    ? (
        await runChecked(await pool.shell(first), phase, first, 'reading the k3s token', readTokenScript(), {
          timeoutMs: 30_000
        })
      ).stdout
    : checkedSection(
        await observeK3s(ctx, first, { phase, shell: () => pool.shell(first) }),
        'token',
        phase,
        'reading the k3s token'
      ).stdout
  const token = stdout.trim()
  if (!token) return undefined
  ctx.reporter.secret(token)
  return token
}

export function generateToken(ctx: PhaseContext): string {
  const token = randomBytes(32).toString('hex')
  ctx.reporter.secret(token)
  return token
}

async function attempts<T>(
  ctx: PhaseContext,
  timeoutS: number,
  probe: () => Promise<T | undefined>
): Promise<T | undefined> {
  const tries = Math.max(1, Math.ceil((timeoutS * 1000) / POLL_MS))
  for (let i = 0; i < tries; i++) {
    const value = await probe()
    if (value !== undefined) return value
    if (i < tries - 1) await ctx.deps.sleep(POLL_MS)
  }
  return undefined
}

/** Waits until the first server answers kubectl and has written its token. */
export async function waitForApi(ctx: PhaseContext, pool: ShellPool, phase: string): Promise<void> {
  const first = topology(ctx.cluster).first
  const shell = await pool.shell(first)
  let last = ''
  const ok = await attempts(ctx, ctx.cluster.cluster_timeout, async () => {
    const out = await shell.exec('test -s /var/lib/rancher/k3s/server/token\nk3s kubectl get --raw /readyz', {
      timeoutMs: 20_000
    })
    last = out.stderr.trim().split('\n').slice(-2).join(' ') || out.stdout.trim()
    return out.code === 0 ? true : undefined
  })
  if (!ok)
    throw new PhaseError(
      phase,
      first.id,
      `the k3s API did not answer within ${ctx.cluster.cluster_timeout} s (last: ${last || 'no output'})`,
      RESUME,
      { code: 'ApiNotReady' }
    )
}

/** Waits until one node is registered and Ready (an etcd member joins before the next one starts). */
export async function waitForNode(ctx: PhaseContext, pool: ShellPool, phase: string, node: NodeSpec): Promise<void> {
  const first = topology(ctx.cluster).first
  const shell = await pool.shell(first)
  let last = 'not registered'
  const ok = await attempts(ctx, ctx.cluster.cluster_timeout, async () => {
    const out = await shell.exec('k3s kubectl get nodes -o json', { timeoutMs: 20_000 })
    if (out.code !== 0) return undefined
    const problem = assessNodes(ctx.cluster, out.stdout).problems.find((p) => p.startsWith(`${node.hostname}:`))
    last = problem ?? ''
    return problem ? undefined : true
  })
  if (!ok)
    throw new PhaseError(
      phase,
      node.id,
      `did not become Ready within ${ctx.cluster.cluster_timeout} s: ${last}`,
      RESUME,
      { code: 'NodeNotReady' }
    )
}

/** Polls nodes and core pods until all are as wanted; a timeout names what is not and why. */
export async function waitForCluster(ctx: PhaseContext, pool: ShellPool, phase: string): Promise<Assessment> {
  const first = topology(ctx.cluster).first
  // No node changed in this run: the first server's observation already holds the answer when it is ready.
  const seen = await observeK3s(ctx, first, { phase, shell: () => pool.shell(first) })
  const nodesRead = freshClusterSection(ctx, seen, 'nodes')
  const podsRead = freshClusterSection(ctx, seen, 'pods')
  if (nodesRead?.code === 0 && podsRead?.code === 0) {
    const assessed = assessNodes(ctx.cluster, nodesRead.stdout)
    if (assessed.ready && assessPods(podsRead.stdout).length === 0) return assessed
  }
  const shell = await pool.shell(first)
  let last: Assessment = { ready: false, problems: ['no answer from the API server'], status: {} }
  const done = await attempts(ctx, ctx.cluster.cluster_timeout, async () => {
    const nodes = await shell.exec('k3s kubectl get nodes -o json', { timeoutMs: 20_000 })
    if (nodes.code !== 0) {
      last = { ...last, problems: [`kubectl get nodes failed: ${nodes.stderr.trim().split('\n').pop()}`] }
      return undefined
    }
    const assessed = assessNodes(ctx.cluster, nodes.stdout)
    const pods = await shell.exec('k3s kubectl get pods -n kube-system -o json', { timeoutMs: 20_000 })
    const podProblems =
      pods.code === 0 ? assessPods(pods.stdout) : [`kubectl get pods failed: ${pods.stderr.trim().split('\n').pop()}`]
    last = {
      ...assessed,
      ready: assessed.ready && podProblems.length === 0,
      problems: [...assessed.problems, ...podProblems]
    }
    return last.ready ? last : undefined
  })
  if (!done)
    throw new PhaseError(
      phase,
      undefined,
      `cluster not ready after ${ctx.cluster.cluster_timeout} s: ${last.problems.join('; ')}`,
      RESUME,
      { code: 'ClusterNotReady' }
    )
  return done
}
