// The drift command: observe boards, then nodes, then let each phase module compare what it owns. Only
// read-only calls. A subject that cannot be observed gets exactly one 'unreachable' row and nothing
// else, so a dead node never shows up as drift of every field a module would have compared.
import type { NodeSpec } from '../config/model.js'
import type { PhaseContext, PhaseModule } from '../phases/types.js'
import { withSharedShells } from '../remote/shells.js'
import { reason } from './bounded.js'
import { observeBoard } from './observe-boards.js'
import { observeNode } from './observe-nodes.js'
import { DEFAULT_OBSERVATION_TIMEOUT_MS, type DriftObservers } from './observers.js'
import type { DriftFinding } from './types.js'

export function runDrift(
  ctx: PhaseContext,
  modules: PhaseModule[],
  observers: DriftObservers = {}
): Promise<DriftFinding[]> {
  // Every module reads the nodes it owns: one SSH connection per node serves them all.
  return withSharedShells(ctx, () => observeAndCompare(ctx, modules, observers))
}

async function observeAndCompare(
  ctx: PhaseContext,
  modules: PhaseModule[],
  observers: DriftObservers
): Promise<DriftFinding[]> {
  const { cluster, reporter } = ctx
  const deps = { ...ctx.deps, tcp: observers.tcpConnect ?? ctx.deps.tcp }
  const timeoutMs = observers.timeoutMs ?? DEFAULT_OBSERVATION_TIMEOUT_MS
  const boards = cluster.boardList.filter((b) => ctx.nodes.some((n) => n.board === b.name))

  // Boards and nodes are independent: observe them all at once, so eight boards cost about one.
  const boardResults = await Promise.all(
    boards.map((board) =>
      observeBoard(
        deps,
        reporter,
        board,
        ctx.nodes.filter((n) => n.board === board.name),
        timeoutMs,
        deps.tcp
      )
    )
  )
  const poweredOff = new Set(boardResults.flatMap((r) => r.poweredOff))
  const probed = ctx.nodes.filter((n) => !poweredOff.has(n.id))
  const nodeResults = await Promise.all(probed.map((node) => observeNode(cluster, ctx.kind, deps, node, timeoutMs)))

  const findings: DriftFinding[] = boardResults.flatMap((r) => r.findings)
  const unreachable = new Set<string>()
  nodeResults.forEach((finding) => {
    if (!finding) return
    findings.push(finding)
    unreachable.add(finding.subject)
  })
  const reachable: NodeSpec[] = probed.filter((n) => !unreachable.has(n.id))
  reporter.debug(`drift: ${boards.length} board(s), ${reachable.length}/${ctx.nodes.length} node(s) reachable`)

  // Modules see only the nodes that answer; with none, there is nothing they could observe.
  const active = modules.filter((m) => m.drift && m.appliesTo(cluster))
  const moduleRows: DriftFinding[] = []
  if (reachable.length) {
    const moduleCtx: PhaseContext = { ...ctx, nodes: reachable }
    const results = await Promise.all(
      active.map(async (module): Promise<DriftFinding[]> => {
        try {
          return await module.drift!(moduleCtx)
        } catch (error) {
          return [
            {
              subject: module.name,
              field: 'drift check',
              wanted: 'completed',
              found: reason(error),
              kind: 'unreachable',
              fixedBy: []
            }
          ]
        }
      })
    )
    for (const rows of results) moduleRows.push(...rows)
  }
  return normalizeFindings(findings, moduleRows, new Set([...poweredOff, ...unreachable]))
}

/**
 * One 'unreachable' row per subject and each (kind, subject, field) once. Module rows about a subject
 * that is down (powered off or unreachable) are dropped: the row that says why is the whole story. So
 * are symptom rows of a subject that has another row (k3s stopped explains the node being NotReady).
 */
export function normalizeFindings(
  observed: DriftFinding[],
  moduleRows: DriftFinding[],
  down: Set<string>
): DriftFinding[] {
  const seenUnreachable = new Set<string>()
  const seenRows = new Set<string>()
  const out: DriftFinding[] = []
  const all = [...observed, ...moduleRows.filter((f) => !down.has(f.subject))]
  const explained = new Set(all.filter((f) => !f.symptom).map((f) => f.subject))
  for (const finding of all) {
    if (finding.symptom && explained.has(finding.subject)) continue
    if (finding.kind === 'unreachable') {
      if (seenUnreachable.has(finding.subject)) continue
      seenUnreachable.add(finding.subject)
    } else if (seenUnreachable.has(finding.subject) && !observed.includes(finding)) continue
    const key = `${finding.kind}\u0000${finding.subject}\u0000${finding.field}`
    if (seenRows.has(key)) continue
    seenRows.add(key)
    const { symptom: _, ...row } = finding
    out.push(row)
  }
  return out
}
