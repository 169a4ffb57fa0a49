// The Engine.lock hook: locks every board the selected nodes sit on. The key is the BMC endpoint, the
// physical board, so two cluster files that both call their board "tpi" still do not collide unless
// they really share hardware.
import type { BoardSpec } from '../config/model.js'
import type { PhaseContext } from '../phases/types.js'
import { acquireBoardLocks, type LockOptions } from './board-lock.js'

export function boardLockKey(board: BoardSpec): string {
  return board.bmc.endpoint.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')
}

/** Acquires the locks for a deploy; resolves to the release function run.ts calls in finally. */
export function lockRunBoards(
  ctx: PhaseContext,
  options: Omit<LockOptions, 'stateDir' | 'reporter'>
): Promise<() => Promise<void>> {
  const boards = ctx.cluster.boardList.filter((b) => ctx.nodes.some((n) => n.board === b.name))
  return acquireBoardLocks(boards.map(boardLockKey), {
    ...options,
    stateDir: ctx.settings.stateDir,
    reporter: ctx.reporter
  })
}
