// Read-only drift of k3s on the nodes: installed version, the unit's state, each key of config.yaml
// against what the cluster file renders, whether the running k3s loaded the files on disk, and (once for
// the cluster) each node's registration, Ready condition and roles. Observed through the same scripts and
// API reads the deploy uses.
import { parse } from 'yaml'
import type { RemoteShell } from '../../../adapters/ssh/types.js'
import type { NodeSpec } from '../../config/model.js'
import type { DriftFinding } from '../../drift/types.js'
import type { PhaseName } from '../../settings.js'
import { versionPath } from '../../upgrade/path.js'
import type { PhaseContext } from '../../phases/types.js'
import { isServer, renderK3sConfig, topology, unitName, type K3sCluster } from './config.js'
import { factsFrom, filesNotLoaded } from './decide.js'
import { checkedSection, observeK3s } from './observation.js'
import { parseFacts } from '../../remote/script.js'
import { clusterNodes, readNode } from './drift-shell.js'
import { nodeProblems } from './readiness.js'
import { stderrTail, withPool, type ShellPool } from '../../remote/shells.js'

const show = (value: unknown): string =>
  value === undefined ? '(unset)' : Array.isArray(value) ? value.join(',') : String(value)

/** Per-key differences between two rendered configs (the token never appears in either). */
export function configDrift(
  wanted: string,
  found: string | undefined
): { key: string; wanted: string; found: string }[] {
  // The same text parses to the same keys: a converged node costs no YAML parse.
  if (found === wanted) return []
  const want = (parse(wanted) ?? {}) as Record<string, unknown>
  const have = (found === undefined ? {} : (parse(found) ?? {})) as Record<string, unknown>
  const keys = [...new Set([...Object.keys(want), ...Object.keys(have)])].sort()
  return keys
    .filter((k) => JSON.stringify(want[k]) !== JSON.stringify(have[k]))
    .map((k) => ({ key: k, wanted: show(want[k]), found: show(have[k]) }))
}

async function nodeDrift(
  ctx: PhaseContext,
  pool: ShellPool,
  phase: PhaseName,
  node: NodeSpec,
  shell: RemoteShell
): Promise<DriftFinding[]> {
  const cluster = ctx.cluster as K3sCluster
  const row = (field: string, wanted: string, found: string): DriftFinding => ({
    subject: node.id,
    field,
    wanted,
    found,
    kind: 'drift',
    fixedBy: [phase],
    path: node.path
  })
  const seen = await observeK3s(ctx, node, { phase, shell: async () => shell })
  const facts = factsFrom(parseFacts(checkedSection(seen, 'k3s', phase, 'observing k3s').stdout))
  const rows: DriftFinding[] = []
  if (facts.version !== cluster.k3s_version)
    rows.push(
      facts.version === 'none'
        ? row('k3s.version', cluster.k3s_version, 'not installed')
        : versionRow(row('k3s.version', cluster.k3s_version, facts.version), facts.version, cluster)
    )
  if (facts.version === 'none') return rows
  if (facts.unit !== 'active') rows.push(row(`k3s.service.${unitName(node)}`, 'active', facts.unit))
  const out = seen.sections.config
  const keys = configDrift(renderK3sConfig(cluster, node), out?.stdout || undefined)
  for (const d of keys) rows.push(row(`k3s.config.${d.key}`, d.wanted, d.found))
  // The file on disk is right, but k3s still runs with the one before it (a restart was lost): one row, not a
  // row per key it does not show. A deploy restarts the node.
  if (keys.length === 0 && facts.unit === 'active' && filesNotLoaded(facts))
    rows.push(row('k3s.config', 'loaded by the running k3s', 'written after k3s started, not loaded (restart pending)'))
  return rows
}

/**
 * Registration, Ready and roles of every reachable node, as the first server's API has them: one read for
 * the cluster. Ready and roles are symptoms (a stopped k3s or a wrong unit explains them); a node the API
 * does not know is fixed by the phase that starts its k3s.
 */
async function clusterDrift(ctx: PhaseContext, first: NodeSpec, shell: RemoteShell): Promise<DriftFinding[]> {
  const out = await clusterNodes(ctx, shell)
  if (out.code !== 0)
    return [
      {
        subject: first.id,
        field: 'k3s.api',
        wanted: 'answering k3s kubectl get nodes',
        found: stderrTail(out.stderr, 1).trim() || `exit ${out.code}`,
        kind: 'unreachable',
        fixedBy: [],
        path: first.path,
        symptom: true
      }
    ]
  const reachable = new Set(ctx.nodes.map((n) => n.hostname))
  return nodeProblems(ctx.cluster, out.stdout)
    .filter((p) => reachable.has(p.node.hostname))
    .map((p): DriftFinding => ({
      subject: p.node.id,
      field: `k3s.node.${p.field}`,
      wanted: p.wanted,
      found: p.found,
      kind: 'drift',
      fixedBy: p.field === 'registered' ? [isServer(p.node) ? 'install' : 'join'] : [],
      path: p.node.path,
      symptom: true
    }))
}

export function k3sDrift(
  phase: 'install' | 'join',
  pick: (node: NodeSpec) => boolean,
  options: { cluster?: boolean } = {}
) {
  return (ctx: PhaseContext): Promise<DriftFinding[]> =>
    withPool(ctx, phase, async (pool) => {
      const first = topology(ctx.cluster).first
      // The cluster read needs the first server; when it is down its own row (unreachable, powered off) says why.
      const readCluster = options.cluster && ctx.nodes.some((n) => n.id === first.id)
      const rows = await Promise.all([
        ...ctx.nodes
          .filter(pick)
          .map((node) => readNode(ctx, pool, node, (shell) => nodeDrift(ctx, pool, phase, node, shell))),
        ...(readCluster ? [readNode(ctx, pool, first, (shell) => clusterDrift(ctx, first, shell))] : [])
      ])
      return rows.flat()
    })
}

/** A version row names the upgrade it needs: the gated wave, or (a path the rules refuse) what to set instead. */
function versionRow(base: DriftFinding, found: string, cluster: K3sCluster): DriftFinding {
  const path = versionPath('k3s', found, cluster.k3s_version, { allowDowngrade: cluster.allow_downgrade })
  if (path.refusal)
    return { ...base, found: `${found} (upgrade refused: ${path.refusal.instead})`, fixedBy: [], path: ['k3s_version'] }
  return {
    ...base,
    found: `${found} (upgrade ${path.hops.map((h) => h.to).join(' → ')})`,
    fixedBy: ['upgrade'],
    path: ['k3s_version']
  }
}
