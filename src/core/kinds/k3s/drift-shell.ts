// The SSH shell a K3s drift check reads a node through, or the one row that says why there is none.
// A node that presents another host key than the one recorded was reflashed or replaced behind the
// action's back: that is drift of the node (one row, the same from every module, so it is reported
// once), not a check that could not run.
import type { ExecResult, RemoteShell } from '../../../adapters/ssh/types.js'
import type { Cluster, NodeSpec } from '../../config/model.js'
import { reason } from '../../drift/bounded.js'
import type { DriftFinding } from '../../drift/types.js'
import { PhaseError } from '../../errors.js'
import type { PhaseName } from '../../settings.js'
import { perRun } from '../../phases/per-run.js'
import type { PhaseContext } from '../../phases/types.js'
import { isServer, topology } from './config.js'
import { freshClusterSection, NODES_COMMAND, observeK3s } from './observation.js'
import { changesSoFar } from '../../remote/observations.js'
import type { ShellPool } from '../../remote/shells.js'

interface HostKeyChange {
  code: 'HostKeyMismatch'
  expected: string
  seen: string
}

function hostKeyChange(error: unknown): HostKeyChange | undefined {
  for (let e = error; e instanceof Error; e = e.cause) {
    const c = e as Partial<HostKeyChange>
    if (c.code === 'HostKeyMismatch' && c.expected && c.seen) return c as HostKeyChange
  }
  return undefined
}

/** The phases a reflash of the node runs, in order. */
export function rebuildPhases(node: NodeSpec): PhaseName[] {
  return ['flash', 'boot', 'os-bootstrap', isServer(node) ? 'install' : 'join']
}

/** The inputs that rebuild one live node (a reflash needs both opt-ins). */
export const reflashHint = (cluster: Cluster, node: NodeSpec): string =>
  `reflash: true, confirm: ${cluster.name}, nodes: ${node.id}`

async function driftShell(ctx: PhaseContext, pool: ShellPool, node: NodeSpec): Promise<RemoteShell | DriftFinding> {
  try {
    return await pool.shell(node)
  } catch (error) {
    const change = hostKeyChange(error)
    if (change)
      return {
        subject: node.id,
        field: 'ssh.host-key',
        wanted: `${change.expected} (recorded at first contact)`,
        found: `${change.seen}: reflashed or replaced outside this action (redeploy it with ${reflashHint(ctx.cluster, node)})`,
        kind: 'drift',
        fixedBy: rebuildPhases(node),
        path: node.path
      }
    const seen = error instanceof PhaseError ? error.seen : error
    return {
      subject: node.id,
      field: 'ssh.login',
      wanted: 'an SSH session with the given key',
      found: reason(seen),
      kind: 'unreachable',
      fixedBy: [],
      path: node.path
    }
  }
}

/** The rows `read` finds through the node's shell, or the one row that says why there is no shell. */
export async function readNode(
  ctx: PhaseContext,
  pool: ShellPool,
  node: NodeSpec,
  read: (shell: RemoteShell) => Promise<DriftFinding[]>
): Promise<DriftFinding[]> {
  const shell = await driftShell(ctx, pool, node)
  return 'subject' in shell ? [shell] : read(shell)
}

const nodeLists = perRun<ExecResult>()

/**
 * `k3s kubectl get nodes -o json` on the first server, read once per run (join and npu both need it): part
 * of the first server's observation, read again only when a node changed since.
 */
export async function clusterNodes(ctx: PhaseContext, firstServer: RemoteShell): Promise<ExecResult> {
  const first = topology(ctx.cluster).first
  const seen = await observeK3s(ctx, first, { phase: 'join', shell: async () => firstServer })
  const fresh = freshClusterSection(ctx, seen, 'nodes')
  if (fresh) return { stdout: fresh.stdout, stderr: fresh.stderr, code: fresh.code }
  return nodeLists(
    ctx.outputs,
    () => firstServer.exec(NODES_COMMAND, { timeoutMs: 20_000 }),
    `${changesSoFar(ctx.outputs)}`
  )
}
