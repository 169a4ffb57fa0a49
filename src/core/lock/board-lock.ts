// One lock file per board in state-dir, so two runs on the same runner never flash or power-cycle the
// same board at once (the workflow's concurrency group covers runs of one workflow; this covers the
// CLI and other workflows). Created with O_EXCL; a lock whose owner died (pid gone on this host) or that
// is older than any run can last is taken over with a warning, under a guard file so only one run does.
import { hostname as osHostname } from 'node:os'
import { mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { TpiError } from '../errors.js'
import type { Reporter } from '../reporter.js'

export interface LockInfo {
  pid: number
  host: string
  runId: string
  /** ISO time the lock was taken. */
  startedAt: string
  board: string
}

export interface LockOptions {
  stateDir: string
  /** Who holds the lock, for the waiting run's message: `github run 123 attempt 1`, `cli`. */
  runId: string
  reporter: Reporter
  /** Give up waiting after this long; default 30 min. */
  waitTimeoutMs?: number
  /** Re-check interval while waiting; default 2 s. */
  pollMs?: number
  /** How often the waiting message is repeated; default 30 s. */
  infoEveryMs?: number
  /** A lock older than this is stale whatever its pid; default 6 h (GitHub's job limit). */
  maxAgeMs?: number
  host?: string
  pid?: number
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  /** Whether a pid runs on this host; default signal 0. */
  isAlive?: (pid: number) => boolean
}

export interface BoardLock {
  board: string
  file: string
  release(): Promise<void>
}

const DEFAULTS = { waitTimeoutMs: 30 * 60_000, pollMs: 2000, infoEveryMs: 30_000, maxAgeMs: 6 * 3600_000 }
/** A lock file still empty after this long belongs to a writer that died between create and write. */
const EMPTY_GRACE_MS = 10_000

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export function lockFile(stateDir: string, board: string): string {
  return join(stateDir, 'locks', `board-${board.replace(/[^A-Za-z0-9._-]/g, '_')}.lock`)
}

function describe(info: LockInfo): string {
  return `run ${info.runId} (pid ${info.pid} on ${info.host}, since ${info.startedAt})`
}

async function readInfo(file: string): Promise<LockInfo | 'missing' | 'unreadable'> {
  try {
    const text = await readFile(file, 'utf8')
    const info = JSON.parse(text) as LockInfo
    return typeof info.pid === 'number' && typeof info.host === 'string' ? info : 'unreadable'
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable'
  }
}

async function tryCreate(file: string, info: LockInfo): Promise<boolean> {
  try {
    const handle = await open(file, 'wx', 0o600)
    try {
      await handle.writeFile(JSON.stringify(info) + '\n')
    } finally {
      await handle.close()
    }
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw error
  }
}

/** Why the lock in `info` is stale, or undefined when its owner may still be working. */
function staleReason(
  info: LockInfo,
  options: Required<Pick<LockOptions, 'host' | 'maxAgeMs' | 'now' | 'isAlive'>>
): string | undefined {
  if (info.host === options.host && !options.isAlive(info.pid))
    return `pid ${info.pid} is no longer running on ${info.host}`
  const age = options.now() - Date.parse(info.startedAt)
  if (!(age < options.maxAgeMs)) return `it is older than ${Math.round(options.maxAgeMs / 60_000)} min`
  return undefined
}

/**
 * Removes a stale lock under a guard file, so that of several runs that saw the same stale lock only
 * one removes it, and only while it is still that same lock (never a fresh one another run just took).
 * 'busy': another run holds the guard; the caller waits a poll interval and looks again.
 */
async function takeOver(
  file: string,
  seen: LockInfo | 'unreadable',
  now: () => number
): Promise<'removed' | 'changed' | 'busy'> {
  const guard = `${file}.takeover`
  try {
    await (await open(guard, 'wx', 0o600)).close()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    // A guard left behind by a run killed in the middle of a takeover would block everyone forever.
    const age = await stat(guard).then(
      (s) => now() - s.mtimeMs,
      () => 0
    )
    if (age > EMPTY_GRACE_MS) await unlink(guard).catch(() => {})
    return 'busy'
  }
  try {
    const current = await readInfo(file)
    const same =
      seen === 'unreadable'
        ? current === 'unreadable'
        : typeof current === 'object' && JSON.stringify(current) === JSON.stringify(seen)
    if (!same) return 'changed'
    await unlink(file).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error
    })
    return 'removed'
  } finally {
    await unlink(guard).catch(() => {})
  }
}

export async function acquireBoardLock(board: string, options: LockOptions): Promise<BoardLock> {
  const o = {
    ...DEFAULTS,
    host: osHostname(),
    pid: process.pid,
    now: Date.now,
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    isAlive: pidAlive,
    ...options
  }
  const file = lockFile(o.stateDir, board)
  await mkdir(join(o.stateDir, 'locks'), { recursive: true, mode: 0o700 })
  const started = o.now()
  let lastInfo = -Infinity
  for (;;) {
    const mine: LockInfo = {
      pid: o.pid,
      host: o.host,
      runId: o.runId,
      startedAt: new Date(o.now()).toISOString(),
      board
    }
    if (await tryCreate(file, mine)) return { board, file, release: () => release(file, mine, o.reporter) }

    const held = await readInfo(file)
    if (held === 'missing') continue // released between our create and read: try again at once
    if (held === 'unreadable') {
      const age = await stat(file).then(
        (s) => o.now() - s.mtimeMs,
        () => 0
      )
      if (age > EMPTY_GRACE_MS) {
        const outcome = await takeOver(file, 'unreadable', o.now)
        if (outcome === 'removed')
          o.reporter.warn(
            `board ${board}: lock file ${file} was unreadable and ${Math.round(age / 1000)} s old; took it over`
          )
        if (outcome === 'busy') await o.sleep(o.pollMs)
        continue
      }
    } else {
      const stale = staleReason(held, o)
      if (stale) {
        const outcome = await takeOver(file, held, o.now)
        if (outcome === 'removed')
          o.reporter.warn(`board ${board}: took over the lock of ${describe(held)} because ${stale}`)
        if (outcome === 'busy') await o.sleep(o.pollMs)
        continue
      }
    }

    const waited = o.now() - started
    const holder = held === 'unreadable' ? 'another run' : describe(held)
    if (waited >= o.waitTimeoutMs)
      throw new TpiError(
        'BoardLocked',
        `board ${board} is locked by ${holder}; gave up after ${Math.round(waited / 1000)} s. ` +
          `If that run is gone, delete ${file} and re-run`
      )
    if (waited - lastInfo >= o.infoEveryMs || lastInfo === -Infinity) {
      o.reporter.info(
        `board ${board} is locked by ${holder}; waiting (${Math.round(waited / 1000)} s of ${Math.round(o.waitTimeoutMs / 1000)} s)`
      )
      lastInfo = waited
    }
    await o.sleep(o.pollMs)
  }
}

async function release(file: string, mine: LockInfo, reporter: Reporter): Promise<void> {
  const held = await readInfo(file)
  if (held === 'missing') return
  if (
    held === 'unreadable' ||
    held.pid !== mine.pid ||
    held.runId !== mine.runId ||
    held.startedAt !== mine.startedAt
  ) {
    reporter.warn(
      `board ${mine.board}: the lock ${file} now belongs to ${held === 'unreadable' ? 'another run' : describe(held)}; left in place`
    )
    return
  }
  await unlink(file).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw error
  })
}

/**
 * Locks several boards in name order (so two runs that need overlapping boards cannot deadlock) and
 * returns one release that frees them all, in reverse order, even if one release fails.
 */
export async function acquireBoardLocks(boards: string[], options: LockOptions): Promise<() => Promise<void>> {
  const held: BoardLock[] = []
  try {
    for (const board of [...new Set(boards)].sort()) held.push(await acquireBoardLock(board, options))
  } catch (error) {
    await releaseAll(held, options.reporter)
    throw error
  }
  return () => releaseAll(held, options.reporter)
}

async function releaseAll(held: BoardLock[], reporter: Reporter): Promise<void> {
  for (const lock of [...held].reverse()) {
    try {
      await lock.release()
    } catch (error) {
      reporter.warn(`board ${lock.board}: could not release ${lock.file}: ${(error as Error).message}`)
    }
  }
  held.length = 0
}

/** Runs fn while holding the locks of the given boards; releases them in finally. */
export async function withBoardLocks<T>(boards: string[], options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const releaseLocks = await acquireBoardLocks(boards, options)
  try {
    return await fn()
  } finally {
    await releaseLocks()
  }
}
