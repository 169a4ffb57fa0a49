// Bringing one node to the wanted k3s state: observe, decide, push only what differs, then install or
// restart. Artifacts are fetched lazily, so a converged rerun downloads (and even looks up) nothing.
import { createReadStream } from 'node:fs'
import type { CachedArtifact } from '../../../adapters/downloads/types.js'
import type { NodeSpec } from '../../config/model.js'
import type { PhaseContext, StepResult } from '../../phases/types.js'
import { k3sArtifacts, NODE_PATHS, type K3sArtifacts } from './artifacts.js'
import {
  isServer,
  K3S_CONFIG_PATH,
  K3S_TOKEN_FILE,
  renderK3sConfig,
  sha256,
  topology,
  unitName,
  type K3sCluster
} from './config.js'
import { decide, factsFrom, untouched, type NodeDecision, type NodeFacts } from './decide.js'
import { forgetNodeScript, installScript, restartScript } from './remote-scripts.js'
import { changing, checkedSection, observeK3s } from './observation.js'
import { parseFacts } from '../../remote/script.js'
import { runChecked, type ShellPool } from '../../remote/shells.js'

/** Fetches each artifact at most once per phase run. */
export function artifactFetcher(ctx: PhaseContext): (which: keyof K3sArtifacts) => Promise<CachedArtifact> {
  const cluster = ctx.cluster as K3sCluster
  const requests = k3sArtifacts(cluster.k3s_version, ctx.settings.mirror)
  const memo = new Map<string, Promise<CachedArtifact>>()
  return (which) => {
    let pending = memo.get(which)
    if (!pending) {
      pending = ctx.deps.downloads.fetch(requests[which])
      memo.set(which, pending)
    }
    return pending
  }
}

/** The node's k3s facts for a phase holding only a pool (the upgrade's survey before it touches a node). */
export function observeNode(pool: ShellPool, phase: string, node: NodeSpec): Promise<NodeFacts> {
  return observedFacts(pool.context, pool, phase, node)
}

/** The node's k3s facts, from the run's observation of it (taken now if no phase took it yet). */
export async function observedFacts(
  ctx: PhaseContext,
  pool: ShellPool,
  phase: string,
  node: NodeSpec
): Promise<NodeFacts> {
  const seen = await observeK3s(ctx, node, { phase, shell: () => pool.shell(node) })
  return factsFrom(parseFacts(checkedSection(seen, 'k3s', phase, 'observing k3s').stdout))
}

export interface ConvergeInput {
  ctx: PhaseContext
  pool: ShellPool
  phase: string
  node: NodeSpec
  /** Content of the node's token file; undefined leaves it alone. */
  token?: string
  fetch: (which: keyof K3sArtifacts) => Promise<CachedArtifact>
}

export async function convergeNode(input: ConvergeInput): Promise<StepResult & { decision: NodeDecision }> {
  const { ctx, pool, phase, node } = input
  const cluster = ctx.cluster as K3sCluster
  const topo = topology(cluster)
  const config = renderK3sConfig(cluster, node)
  const facts = await observedFacts(ctx, pool, phase, node)
  const decision = decide({
    node,
    isFirst: node.id === topo.first.id,
    facts,
    version: cluster.k3s_version,
    configSha: sha256(config),
    ...(input.token !== undefined ? { tokenSha: sha256(input.token) } : {})
  })
  const role = isServer(node) ? 'server' : 'agent'
  if (untouched(decision))
    return { changed: false, summary: `k3s ${cluster.k3s_version} ${role}, running, config unchanged`, decision }

  changing(ctx, node)
  const shell = await pool.shell(node)
  if (decision.forgetFirst) {
    const first = await pool.shell(topo.first)
    const { result } = await runChecked(
      first,
      phase,
      topo.first,
      `forgetting the old registration of ${node.hostname}`,
      forgetNodeScript(node.hostname)
    )
    if (result?.changed)
      ctx.reporter.info(
        `${node.id}: removed the stale Node object and node-password secret before it rejoins (${result.details})`
      )
  }
  if (decision.pushBinary) {
    const [binary, installer] = await Promise.all([input.fetch('binary'), input.fetch('installer')])
    await shell.put(NODE_PATHS.binary, createReadStream(binary.path), { mode: 0o755, owner: 'root:root' })
    await shell.put(NODE_PATHS.installer, createReadStream(installer.path), { mode: 0o755, owner: 'root:root' })
  } else if (decision.install) {
    const installer = await input.fetch('installer')
    await shell.put(NODE_PATHS.installer, createReadStream(installer.path), { mode: 0o755, owner: 'root:root' })
  }
  if (decision.pushImages) {
    const images = await input.fetch('images')
    await shell.put(NODE_PATHS.images, createReadStream(images.path), { mode: 0o644, owner: 'root:root' })
  }
  if (decision.writeToken) await shell.put(K3S_TOKEN_FILE, input.token!, { mode: 0o600, owner: 'root:root' })
  if (decision.writeConfig) await shell.put(K3S_CONFIG_PATH, config, { mode: 0o600, owner: 'root:root' })
  if (decision.install) {
    await runChecked(
      shell,
      phase,
      node,
      `k3s install.sh (${role})`,
      installScript({ role, version: cluster.k3s_version }),
      { timeoutMs: 300_000 }
    )
  } else if (decision.restart) {
    await runChecked(
      shell,
      phase,
      node,
      `restarting ${unitName(node)}`,
      restartScript({ unit: unitName(node), why: decision.reasons.join(', '), version: cluster.k3s_version }),
      { timeoutMs: 120_000 }
    )
  }
  const action = decision.install
    ? `installed k3s ${cluster.k3s_version} as ${role}`
    : decision.restart
      ? `restarted ${unitName(node)}`
      : 'updated files'
  return { changed: true, summary: `${action} (${decision.reasons.join(', ')})`, decision }
}
