// What the board picture shows, derived from a run's result: per board the four slots (hostname, role,
// IP, power, a status mark) and, where the run knows them, the addons. One model for the Mermaid
// diagram of the job summary and the text of the log, so both always say the same.
import type { Cluster, NodeSpec } from '../core/config/model.js'
import type { DriftFinding } from '../core/drift/types.js'
import { PhaseError } from '../core/errors.js'
import type { AddonStatus, PlanStep } from '../core/phases/types.js'
import type { RunResult, StepSpan } from '../core/run.js'
import type { Table } from './tables.js'

export type Mark = 'ok' | 'changed' | 'drift' | 'failed' | 'unreachable' | 'unknown'

/** What a mark says, per command: a plan speaks of what would happen. */
export function markText(mark: Mark, command: string): string {
  const plan = command === 'plan'
  switch (mark) {
    case 'ok':
      return plan ? '✔ up to date' : command === 'drift' ? '✔ in sync' : '✔ ok'
    case 'changed':
      return plan ? '● will change' : '● changed'
    case 'drift':
      return '≠ drift'
    case 'failed':
      return plan ? '✖ blocked' : '✖ failed'
    case 'unreachable':
      return '⚠ unreachable'
    case 'unknown':
      return plan ? '○ not checked' : '○ not reached'
  }
}

export interface SlotView {
  slot: 1 | 2 | 3 | 4
  /** Undefined: no node of this cluster sits in the slot. */
  node?: { id: string; role: string; ip: string }
  /** on, off, ? (not observed) */
  power: string
  mark?: Mark
  /** Why: the fields that drifted, the phase that failed, the phases that will change. */
  note?: string
}

export interface ItemView {
  name: string
  mark: Mark
  note?: string
}

export interface BoardView {
  name: string
  slots: SlotView[]
  /** A finding about the board itself (its BMC). */
  mark?: Mark
  note?: string
  /** Cluster-wide items (addons) drawn with the board that holds the first control plane. */
  items?: ItemView[]
}

export interface BoardPicture {
  command: string
  boards: BoardView[]
}

const SLOTS = [1, 2, 3, 4] as const

function layout(cluster: Cluster, slot: (node: NodeSpec) => Omit<SlotView, 'slot' | 'node'>): BoardView[] {
  return cluster.boardList
    .filter((b) => cluster.nodes.some((n) => n.board === b.name))
    .map((board) => ({
      name: board.name,
      slots: SLOTS.map((s): SlotView => {
        const node = cluster.nodes.find((n) => n.board === board.name && n.slot === s)
        if (!node) return { slot: s, power: '' }
        return { slot: s, node: { id: node.id, role: node.role, ip: node.ip }, ...slot(node) }
      })
    }))
}

/** The board holding the first control plane: the API and the addons live there. */
function withItems(cluster: Cluster, boards: BoardView[], items: ItemView[]): BoardView[] {
  if (!items.length) return boards
  const home = cluster.nodes[0]?.board
  return boards.map((b) => (b.name === home ? { ...b, items } : b))
}

const unique = (xs: string[]): string[] => [...new Set(xs)]

function addonMark(status: AddonStatus['status']): Mark {
  switch (status) {
    case 'installed':
    case 'upgraded':
    case 'removed':
      return 'changed'
    case 'unchanged':
      return 'ok'
    case 'failed':
      return 'failed'
    case 'disabled-but-installed':
      return 'drift'
    case 'skipped':
      return 'unknown'
  }
}

export function deployBoards(cluster: Cluster, result: Pick<RunResult, 'steps' | 'error' | 'outputs'>): BoardPicture {
  const spans = result.steps ?? []
  const failedNode = result.error instanceof PhaseError ? result.error.node : undefined
  const boards = layout(cluster, (node) => {
    const own = spans.filter((s) => s.node === node.id)
    const failed =
      own.find((s) => s.outcome === 'failed') ??
      (failedNode === node.id ? ({ phase: (result.error as PhaseError).phase } as StepSpan) : undefined)
    // The node is on after any of these finished: boot powers it on, the later ones reached it over SSH.
    const up =
      own.some((s) => s.outcome !== 'failed' && s.phase !== 'flash') ||
      result.outputs.nodeStatus[node.id]?.ready === true
    const power = up ? 'on' : '?'
    if (failed) return { power, mark: 'failed', note: `in ${failed.phase}` }
    if (!own.length) return { power, mark: 'unknown', note: result.error ? undefined : 'no node step in this run' }
    const changed = own.filter((s) => s.outcome === 'changed').map((s) => s.phase)
    return changed.length ? { power, mark: 'changed', note: unique(changed).join(', ') } : { power, mark: 'ok' }
  })
  // The detail of a success (which release in which namespace) is in the addons table; a failure's is the point.
  const items = result.outputs.addons.map((a): ItemView => {
    const mark = addonMark(a.status)
    return { name: a.name, mark, ...(a.detail && (mark === 'failed' || mark === 'drift') ? { note: a.detail } : {}) }
  })
  return { command: 'deploy', boards: withItems(cluster, boards, items) }
}

export function planBoards(cluster: Cluster, plan: PlanStep[]): BoardPicture {
  const bmcErrors = new Map<string, string>()
  const boards = layout(cluster, (node) => {
    const own = plan.filter((s) => s.node === node.id)
    const flash = own.find((s) => s.phase === 'flash')
    if (flash?.details?.bmc?.startsWith('unreachable')) bmcErrors.set(node.board, flash.details.bmc)
    const power = flash?.details?.power ?? '?'
    const blocked = own.filter((s) => s.action === 'blocked')
    if (blocked.length) return { power, mark: 'failed', note: unique(blocked.map((s) => s.phase)).join(', ') }
    const will = own.filter((s) => s.action === 'run' || s.action === 'change')
    if (will.length) return { power, mark: 'changed', note: unique(will.map((s) => s.phase)).join(', ') }
    return own.length ? { power, mark: 'ok' } : { power, mark: 'unknown' }
  })
  return {
    command: 'plan',
    boards: boards.map((b) => (bmcErrors.has(b.name) ? { ...b, mark: 'unreachable', note: bmcErrors.get(b.name) } : b))
  }
}

const fields = (rows: DriftFinding[]): string => unique(rows.map((f) => f.field)).join(', ')

export function driftBoards(cluster: Cluster, findings: DriftFinding[], error?: Error): BoardPicture {
  const boardSubjects = new Map(cluster.boardList.map((b) => [`board ${b.name}`, b.name]))
  const nodeIds = new Set(cluster.nodes.map((n) => n.id))
  const boardRow = (name: string): DriftFinding | undefined => findings.find((f) => f.subject === `board ${name}`)
  const boards = layout(cluster, (node) => {
    if (error) return { power: '?', mark: 'unknown' }
    const own = findings.filter((f) => f.subject === node.id)
    const bmcDown = boardRow(node.board)?.kind === 'unreachable'
    const powerRow = own.find((f) => f.field === 'power')
    // A BMC that answered and raised no power row saw the slot on.
    const power = powerRow ? powerRow.found.split(' ')[0]! : bmcDown ? '?' : 'on'
    const down = own.filter((f) => f.kind === 'unreachable')
    if (down.length) return { power, mark: 'unreachable', note: fields(down) }
    if (own.length) return { power, mark: 'drift', note: fields(own) }
    return { power, mark: 'ok' }
  }).map((b) => {
    const row = boardRow(b.name)
    return row
      ? {
          ...b,
          mark: row.kind === 'unreachable' ? ('unreachable' as const) : ('drift' as const),
          note: `${row.field}: ${row.found}`
        }
      : b
  })
  // Addons and other cluster-wide subjects: only those with a row are drawn.
  const others = unique(findings.map((f) => f.subject)).filter((s) => !nodeIds.has(s) && !boardSubjects.has(s))
  const items = others.map((subject): ItemView => {
    const rows = findings.filter((f) => f.subject === subject)
    return {
      name: subject,
      mark: rows.some((f) => f.kind === 'unreachable') ? 'unreachable' : 'drift',
      note: fields(rows)
    }
  })
  return { command: 'drift', boards: withItems(cluster, boards, items) }
}

/** The picture for any finished run, or undefined when the run never got to the boards. */
export function boardPicture(result: RunResult, command: string): BoardPicture | undefined {
  const cluster = result.cluster
  if (!cluster || result.status === 'invalid') return undefined
  if (command === 'plan' && result.plan) return planBoards(cluster, result.plan)
  if (command === 'drift' && result.findings) return driftBoards(cluster, result.findings, result.error)
  if (command === 'deploy') return deployBoards(cluster, result)
  return undefined
}

/** The board as rows, for the log and the terminal: the same facts as the diagram. */
export function boardTables(picture: BoardPicture): Table[] {
  return picture.boards.map((b) => ({
    title: `Board ${b.name}${b.mark ? ` (${markText(b.mark, picture.command)}${b.note ? `: ${b.note}` : ''})` : ''}`,
    header: ['Slot', 'Node', 'Role', 'IP', 'Power', 'Status'],
    rows: [
      ...b.slots.map((s) =>
        s.node
          ? [
              String(s.slot),
              s.node.id,
              s.node.role,
              s.node.ip,
              s.power || '?',
              markText(s.mark ?? 'unknown', picture.command) + (s.note ? `: ${s.note}` : '')
            ]
          : [String(s.slot), '(empty)', '', '', '', '']
      ),
      ...(b.items ?? []).map((i) => [
        '',
        i.name,
        'addon',
        '',
        '',
        markText(i.mark, picture.command) + (i.note ? `: ${i.note}` : '')
      ])
    ]
  }))
}
