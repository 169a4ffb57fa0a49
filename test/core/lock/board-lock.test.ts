import { afterAll, describe, expect, it } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  acquireBoardLock,
  acquireBoardLocks,
  lockFile,
  withBoardLocks,
  type LockInfo,
  type LockOptions
} from '../../../src/core/lock/board-lock.js'
import { MemoryReporter } from '../../../src/core/reporter.js'

const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))
async function stateDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tpi-lock-'))
  dirs.push(dir)
  return dir
}

/** A clock that only moves when the code under test sleeps. */
function fakeTime(start = Date.parse('2026-11-25T04:00:00Z')) {
  let now = start
  return { now: () => now, sleep: async (ms: number) => void (now += ms) }
}

const base = (dir: string, extra: Partial<LockOptions> = {}): LockOptions => ({
  stateDir: dir,
  runId: 'run-1',
  reporter: new MemoryReporter(),
  host: 'runner-a',
  pid: process.pid,
  ...extra
})

async function plant(dir: string, board: string, info: Partial<LockInfo>): Promise<string> {
  const file = lockFile(dir, board)
  await mkdir(join(dir, 'locks'), { recursive: true })
  await writeFile(
    file,
    JSON.stringify({
      pid: process.pid,
      host: 'runner-a',
      runId: 'other-run',
      startedAt: new Date().toISOString(),
      board,
      ...info
    })
  )
  return file
}

describe('acquireBoardLock', () => {
  it('creates a 0600 lock file naming pid, host, run and start time, and release removes it', async () => {
    const dir = await stateDir()
    const lock = await acquireBoardLock(
      'tpi',
      base(dir, { runId: 'github 42/1', now: () => Date.parse('2026-11-25T04:00:00Z') })
    )
    expect(JSON.parse(await readFile(lock.file, 'utf8'))).toEqual({
      pid: process.pid,
      host: 'runner-a',
      runId: 'github 42/1',
      startedAt: '2026-11-25T04:00:00.000Z',
      board: 'tpi'
    })
    expect((await stat(lock.file)).mode & 0o777).toBe(0o600)
    await lock.release()
    await expect(stat(lock.file)).rejects.toThrow(/ENOENT/)
    await lock.release() // twice is harmless
  })

  it('makes a second run wait with a message until the first releases', async () => {
    const dir = await stateDir()
    const events: string[] = []
    const first = await acquireBoardLock('tpi', base(dir, { runId: 'first' }))
    const reporter = new MemoryReporter()
    const second = acquireBoardLock('tpi', base(dir, { runId: 'second', reporter, pollMs: 5 })).then((lock) => {
      events.push('second acquired')
      return lock
    })
    await new Promise((resolve) => setTimeout(resolve, 30))
    events.push('first releases')
    await first.release()
    const lock = await second
    expect(events).toEqual(['first releases', 'second acquired'])
    expect(reporter.lines[0]).toMatch(
      /^board tpi is locked by run first \(pid \d+ on runner-a, since .*\); waiting \(0 s of 1800 s\)$/
    )
    expect(JSON.parse(await readFile(lock.file, 'utf8')).runId).toBe('second')
    await lock.release()
  })

  it('lets only one of many concurrent runs into the critical section at a time', async () => {
    const dir = await stateDir()
    let inside = 0
    let most = 0
    const order: number[] = []
    await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        withBoardLocks(['tpi'], base(dir, { runId: `run-${n}`, pollMs: 2 }), async () => {
          inside++
          most = Math.max(most, inside)
          await new Promise((resolve) => setTimeout(resolve, 5))
          order.push(n)
          inside--
        })
      )
    )
    expect(most).toBe(1)
    expect(order.sort()).toEqual([1, 2, 3, 4, 5, 6])
    expect(await readdir(join(dir, 'locks'))).toEqual([])
  })

  it('gives up after the wait timeout, naming the holder and the file, with a message every interval', async () => {
    const dir = await stateDir()
    const file = await plant(dir, 'tpi', {
      host: 'runner-b',
      runId: 'github 7/1',
      startedAt: '2026-11-25T03:59:00.000Z'
    })
    const reporter = new MemoryReporter()
    const error = await acquireBoardLock(
      'tpi',
      base(dir, { reporter, ...fakeTime(), waitTimeoutMs: 60_000, pollMs: 1000, infoEveryMs: 20_000 })
    ).catch((e: Error) => e)
    expect((error as Error).message).toBe(
      `board tpi is locked by run github 7/1 (pid ${process.pid} on runner-b, since 2026-11-25T03:59:00.000Z); gave up after 60 s. If that run is gone, delete ${file} and re-run`
    )
    expect(reporter.lines.map((l) => /\((\d+) s of 60 s\)/.exec(l)?.[1])).toEqual(['0', '20', '40'])
  })

  it('takes over a lock whose pid is dead on this host, with a warning', async () => {
    const dir = await stateDir()
    const dead = spawnSync('true').pid!
    await plant(dir, 'tpi', { pid: dead, runId: 'killed-run' })
    const reporter = new MemoryReporter()
    const lock = await acquireBoardLock('tpi', base(dir, { reporter, ...fakeTime() }))
    expect(reporter.lines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^warning: board tpi: took over the lock of run killed-run \\(pid ${dead} on runner-a, .*\\) because pid ${dead} is no longer running on runner-a$`
        )
      )
    ])
    expect(JSON.parse(await readFile(lock.file, 'utf8')).runId).toBe('run-1')
    expect(await readdir(join(dir, 'locks'))).toEqual(['board-tpi.lock'])
    await lock.release()
  })

  it('lets exactly one of several runs take over the same stale lock at a time', async () => {
    const dir = await stateDir()
    await plant(dir, 'tpi', { pid: spawnSync('true').pid!, runId: 'killed-run' })
    let inside = 0
    let most = 0
    await Promise.all(
      [1, 2, 3, 4].map((n) =>
        withBoardLocks(['tpi'], base(dir, { runId: `run-${n}`, pollMs: 2 }), async () => {
          most = Math.max(most, ++inside)
          await new Promise((resolve) => setTimeout(resolve, 5))
          inside--
        })
      )
    )
    expect(most).toBe(1)
    expect(await readdir(join(dir, 'locks'))).toEqual([])
  })

  it('does not judge the pid of another host, but takes over a lock older than the max age', async () => {
    const dir = await stateDir()
    const time = fakeTime()
    await plant(dir, 'tpi', {
      pid: 999_999_999,
      host: 'runner-b',
      startedAt: new Date(time.now() - 60_000).toISOString()
    })
    await expect(
      acquireBoardLock('tpi', base(dir, { ...time, waitTimeoutMs: 5000, maxAgeMs: 3600_000 }))
    ).rejects.toThrow(/locked by run other-run/)
    await plant(dir, 'old', { host: 'runner-b', startedAt: new Date(time.now() - 7 * 3600_000).toISOString() })
    const reporter = new MemoryReporter()
    const lock = await acquireBoardLock('old', base(dir, { ...time, reporter, maxAgeMs: 6 * 3600_000 }))
    expect(reporter.text()).toMatch(/because it is older than 360 min$/)
    await lock.release()
  })

  it('takes over an unreadable lock file only once it is old enough', async () => {
    const dir = await stateDir()
    const file = lockFile(dir, 'tpi')
    await mkdir(join(dir, 'locks'), { recursive: true })
    await writeFile(file, '')
    await expect(acquireBoardLock('tpi', base(dir, { ...fakeTime(Date.now()), waitTimeoutMs: 3000 }))).rejects.toThrow(
      /locked by another run/
    )
    await utimes(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000))
    const lock = await acquireBoardLock('tpi', base(dir))
    expect(JSON.parse(await readFile(file, 'utf8')).runId).toBe('run-1')
    await lock.release()
  })

  it('leaves a lock that another run has taken over in place on release', async () => {
    const dir = await stateDir()
    const reporter = new MemoryReporter()
    const lock = await acquireBoardLock('tpi', base(dir, { reporter }))
    await plant(dir, 'tpi', { runId: 'usurper' })
    await lock.release()
    expect(JSON.parse(await readFile(lock.file, 'utf8')).runId).toBe('usurper')
    expect(reporter.text()).toMatch(/^warning: board tpi: the lock .* now belongs to run usurper/)
  })
})

describe('acquireBoardLocks', () => {
  it('locks boards in name order and frees them all with one release', async () => {
    const dir = await stateDir()
    const release = await acquireBoardLocks(['tpi2', 'tpi1', 'tpi2'], base(dir))
    expect((await readdir(join(dir, 'locks'))).sort()).toEqual(['board-tpi1.lock', 'board-tpi2.lock'])
    await release()
    expect(await readdir(join(dir, 'locks'))).toEqual([])
  })

  it('releases what it already holds when a later board times out', async () => {
    const dir = await stateDir()
    await plant(dir, 'b', { host: 'runner-b' })
    await expect(
      acquireBoardLocks(['a', 'b'], base(dir, { ...fakeTime(Date.now()), waitTimeoutMs: 1000 }))
    ).rejects.toThrow(/board b is locked/)
    expect(await readdir(join(dir, 'locks'))).toEqual(['board-b.lock'])
  })

  it('releases in finally when the locked work throws', async () => {
    const dir = await stateDir()
    await expect(
      withBoardLocks(['tpi'], base(dir), async () => Promise.reject(new Error('flash failed')))
    ).rejects.toThrow('flash failed')
    expect(await readdir(join(dir, 'locks'))).toEqual([])
  })
})
