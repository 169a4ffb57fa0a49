// Redeploy controls: which phases and nodes a run touches, and the two-key rule for wiping a node that
// is already a live cluster member (reflash: true AND confirm equal to the cluster name). Checked before
// any side effect; mayReflash is asked again per node once the flash phase knows who is live.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { ConfigIssue } from '../errors.js'
import { phasesFor } from '../plan/static-plan.js'
import { PHASES, type RunSettings } from '../settings.js'
import { refusal, type Membership } from './live-member.js'

type RedeploySettings = Pick<RunSettings, 'command' | 'phases' | 'nodes' | 'reflash' | 'confirm'>

const quoted = (values: readonly string[]): string => values.map((v) => `"${v}"`).join(', ')

function error(code: string, path: string, message: string): ConfigIssue {
  return { code, path, message, severity: 'error' }
}

function warning(code: string, path: string, message: string): ConfigIssue {
  return { code, path, message, severity: 'warning' }
}

/** Every problem with the phases, nodes, reflash and confirm settings, all at once. */
export function checkRedeploy(cluster: Cluster, settings: RedeploySettings): ConfigIssue[] {
  const issues: ConfigIssue[] = []
  if (settings.command === 'validate') return issues
  const phases = (settings.phases ?? []) as string[]
  const unknownPhases = phases.filter((p) => !(PHASES as readonly string[]).includes(p))
  if (unknownPhases.length)
    issues.push(
      error(
        'UnknownPhase',
        'phases',
        `phases: unknown phase(s) ${quoted(unknownPhases)}; valid phases are ${PHASES.join(', ')}`
      )
    )
  const applicable = phasesFor(cluster)
  const inapplicable = phases.filter(
    (p) => (PHASES as readonly string[]).includes(p) && !(applicable as string[]).includes(p)
  )
  if (inapplicable.length)
    issues.push(
      warning(
        'PhaseNotApplicable',
        'phases',
        `phases: ${quoted(inapplicable)} do(es) not apply to this ${cluster.kind} cluster and will be skipped; it runs ${applicable.join(', ')}`
      )
    )

  const names = settings.nodes ?? []
  const known = new Set(cluster.nodes.flatMap((n) => [n.id, n.hostname]))
  const unknownNodes = names.filter((n) => !known.has(n))
  if (unknownNodes.length)
    issues.push(
      error(
        'UnknownNode',
        'nodes',
        `nodes: unknown node(s) ${quoted(unknownNodes)}; nodes in this cluster are ${cluster.nodes.map((n) => n.id).join(', ')}`
      )
    )
  const repeated = names.filter((n, i) => names.indexOf(n) !== i)
  if (repeated.length)
    issues.push(warning('DuplicateNode', 'nodes', `nodes: ${quoted([...new Set(repeated)])} listed more than once`))

  if (settings.reflash) {
    if (settings.confirm !== cluster.name)
      issues.push(
        error(
          'ReflashNotConfirmed',
          'confirm',
          `reflash: true wipes nodes that may be live members of cluster "${cluster.name}"; set confirm to "${cluster.name}" to allow it` +
            (settings.confirm ? ` (confirm is "${settings.confirm}")` : ' (confirm is empty)')
        )
      )
    if (phases.length && !phases.includes('flash'))
      issues.push(
        error(
          'ReflashWithoutFlash',
          'phases',
          `reflash: true needs the flash phase, but phases is ${phases.join(', ')}; add flash or drop reflash`
        )
      )
    if (!names.length)
      issues.push(
        warning(
          'ReflashAllNodes',
          'nodes',
          `reflash: true with no nodes selected reflashes every node (${cluster.nodes.length}); set nodes to limit it`
        )
      )
  } else if (settings.confirm && !['restore', 'destroy'].includes(settings.command)) {
    // restore and destroy need confirm for themselves; on a deploy it still allows a scale down.
    issues.push(
      warning(
        'ConfirmWithoutReflash',
        'confirm',
        'confirm is set but reflash is false: it only allows removing nodes the file no longer lists'
      )
    )
  }
  return issues
}

export interface ReflashDecision {
  allowed: boolean
  reason: string
}

/**
 * May the flash phase overwrite this node now? Only on evidence: a node proven not to hold a cluster
 * system may always be flashed (a blank slot, a stock image, a failed earlier attempt); any other node
 * (a member, or one whose membership cannot be proven) only with reflash and the confirmation.
 */
export function mayReflash(
  node: Pick<NodeSpec, 'id'>,
  state: { membership: Membership; clusterName: string },
  settings: Pick<RunSettings, 'nodes' | 'reflash' | 'confirm'>
): ReflashDecision {
  if (settings.nodes?.length && !settings.nodes.includes(node.id))
    return {
      allowed: false,
      reason: `node ${node.id} is not in the nodes selected for this run (${settings.nodes.join(', ')})`
    }
  const m = state.membership
  if (m.kind === 'not-member') return { allowed: true, reason: `flashing destroys nothing: ${m.detail}` }
  if (settings.reflash && settings.confirm === state.clusterName)
    return { allowed: true, reason: `reflash of ${node.id} confirmed for cluster "${state.clusterName}" (${m.detail})` }
  return { allowed: false, reason: refusal(node.id, state.clusterName, m) }
}
