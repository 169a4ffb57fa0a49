// A drift check that meets a running deploy: the deploy holds the board's lock in state-dir (see
// lock/board-lock.ts) and is flashing or rebooting nodes, so reading that board now would report
// half-written disks and powered-off slots as drift. Such a board gets one row, "deploy in progress",
// of kind unreachable (the check could not run there: the drift issue is left as it is), and its
// nodes are not observed. Only a live lock counts: one whose owner died or that is older than any
// run can last is ignored, as the lock itself would take it over.
import { hostname } from 'node:os'
import { readFile } from 'node:fs/promises'
import type { BoardSpec, NodeSpec } from '../config/model.js'
import type { DriftFinding } from '../drift/types.js'
import type { PhaseContext, PhaseModule } from '../phases/types.js'
import { lockFile, pidAlive, type LockInfo } from '../lock/board-lock.js'
import { boardLockKey } from '../lock/run-lock.js'

const MAX_AGE_MS = 6 * 3600_000

export interface BusyOptions {
  host?: string
  now?: () => number
  isAlive?: (pid: number) => boolean
}

async function liveHolder(stateDir: string, board: BoardSpec, o: Required<BusyOptions>): Promise<LockInfo | undefined> {
  const text = await readFile(lockFile(stateDir, boardLockKey(board)), 'utf8').catch(() => undefined)
  if (!text) return undefined
  let info: LockInfo
  try {
    info = JSON.parse(text) as LockInfo
  } catch {
    return undefined
  }
  if (typeof info.pid !== 'number' || typeof info.host !== 'string') return undefined
  if (info.host === o.host && !o.isAlive(info.pid)) return undefined
  if (!(o.now() - Date.parse(info.startedAt) < MAX_AGE_MS)) return undefined
  return info
}

/** Boards of `nodes` a live deploy holds: one row each, and the nodes left to observe. */
export async function busyBoards(
  stateDir: string,
  boards: BoardSpec[],
  nodes: NodeSpec[],
  options: BusyOptions = {}
): Promise<{ rows: DriftFinding[]; free: NodeSpec[] }> {
  const o = { host: hostname(), now: Date.now, isAlive: pidAlive, ...options }
  const used = boards.filter((b) => nodes.some((n) => n.board === b.name))
  const holders = await Promise.all(used.map(async (board) => ({ board, info: await liveHolder(stateDir, board, o) })))
  const busy = holders.filter((h): h is { board: BoardSpec; info: LockInfo } => h.info !== undefined)
  const rows: DriftFinding[] = busy.map(({ board, info }) => ({
    subject: board.name,
    field: 'deploy in progress',
    wanted: 'no deploy running',
    found: `${info.runId} holds the board since ${info.startedAt} (pid ${info.pid} on ${info.host}); check again when it has finished`,
    kind: 'unreachable',
    fixedBy: [],
    path: board.path
  }))
  const names = new Set(busy.map((b) => b.board.name))
  return { rows, free: nodes.filter((n) => !names.has(n.board)) }
}

/** The drift hook around a check: busy boards get their row, the other boards are checked as usual. */
export async function driftAroundDeploys(
  ctx: PhaseContext,
  modules: PhaseModule[],
  drift: (ctx: PhaseContext, modules: PhaseModule[]) => Promise<DriftFinding[]>,
  options: BusyOptions = {}
): Promise<DriftFinding[]> {
  const { rows, free } = await busyBoards(ctx.settings.stateDir, ctx.cluster.boardList, ctx.nodes, options)
  if (!rows.length) return drift(ctx, modules)
  return [...rows, ...(free.length ? await drift({ ...ctx, nodes: free }, modules) : [])]
}
