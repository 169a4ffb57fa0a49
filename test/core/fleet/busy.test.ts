import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadClusterFile } from '../../../src/core/config/load.js'
import type { Cluster } from '../../../src/core/config/model.js'
import { busyBoards, driftAroundDeploys } from '../../../src/core/fleet/busy.js'
import { lockFile } from '../../../src/core/lock/board-lock.js'
import type { PhaseContext } from '../../../src/core/phases/types.js'

const root = join(import.meta.dirname, '..', '..', '..')
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))
const NOW = Date.parse('2026-12-07T06:00:00Z')

async function setup(): Promise<{
  cluster: Cluster
  stateDir: string
  hold: (endpoint: string, info: object) => Promise<void>
}> {
  const { cluster } = await loadClusterFile(join(root, 'examples', 'two-boards.yaml'))
  const stateDir = await mkdtemp(join(tmpdir(), 'tpi-busy-'))
  dirs.push(stateDir)
  await mkdir(join(stateDir, 'locks'))
  return {
    cluster: cluster!,
    stateDir,
    hold: (endpoint, info) => writeFile(lockFile(stateDir, endpoint), JSON.stringify(info))
  }
}

const live = {
  pid: 4242,
  host: 'runner-1',
  runId: 'github run 77 attempt 1',
  startedAt: '2026-12-07T05:50:00Z',
  board: '10.10.88.71'
}
const options = { host: 'runner-1', now: () => NOW, isAlive: (pid: number) => pid === 4242 }

describe('busyBoards', () => {
  it('gives a board a running deploy holds one "deploy in progress" row and leaves its nodes unobserved', async () => {
    const { cluster, stateDir, hold } = await setup()
    await hold('10.10.88.71', live)
    const { rows, free } = await busyBoards(stateDir, cluster.boardList, cluster.nodes, options)
    expect(rows).toEqual([
      {
        subject: 'rack-b',
        field: 'deploy in progress',
        wanted: 'no deploy running',
        found:
          'github run 77 attempt 1 holds the board since 2026-12-07T05:50:00Z (pid 4242 on runner-1); check again when it has finished',
        kind: 'unreachable',
        fixedBy: [],
        path: ['boards', 1, 'bmc']
      }
    ])
    expect(free.map((n) => n.id)).toEqual(cluster.nodes.filter((n) => n.board === 'rack-a').map((n) => n.id))
  })

  it('ignores a lock whose owner died on this host or that is older than any run can last', async () => {
    const { cluster, stateDir, hold } = await setup()
    await hold('10.10.88.71', { ...live, pid: 999 })
    await hold('10.10.88.70', { ...live, host: 'runner-2', startedAt: '2026-12-06T20:00:00Z' })
    const { rows, free } = await busyBoards(stateDir, cluster.boardList, cluster.nodes, options)
    expect(rows).toEqual([])
    expect(free).toHaveLength(cluster.nodes.length)
  })

  it('counts a live lock of another runner host sharing state-dir as busy', async () => {
    const { cluster, stateDir, hold } = await setup()
    await hold('10.10.88.70', { ...live, host: 'runner-2' })
    const { rows } = await busyBoards(stateDir, cluster.boardList, cluster.nodes, options)
    expect(rows.map((r) => r.subject)).toEqual(['rack-a'])
  })
})

describe('driftAroundDeploys', () => {
  it('checks only the free boards and puts the busy rows first; with no lock it is the plain check', async () => {
    const { cluster, stateDir, hold } = await setup()
    const seen: string[][] = []
    const check = async (ctx: PhaseContext) => {
      seen.push(ctx.nodes.map((n) => n.id))
      return [
        { subject: ctx.nodes[0].id, field: 'power', wanted: 'on', found: 'off', kind: 'drift' as const, fixedBy: [] }
      ]
    }
    const ctx = { cluster, nodes: cluster.nodes, settings: { stateDir } } as unknown as PhaseContext
    expect(await driftAroundDeploys(ctx, [], check, options)).toHaveLength(1)
    expect(seen[0]).toHaveLength(cluster.nodes.length)
    await hold('10.10.88.71', live)
    const rows = await driftAroundDeploys(ctx, [], check, options)
    expect(rows.map((r) => [r.subject, r.field])).toEqual([
      ['rack-b', 'deploy in progress'],
      ['srv-1', 'power']
    ])
    expect(seen[1]).toEqual(['srv-1', 'srv-2', 'agent-1', 'agent-2'])
    await hold('10.10.88.70', live)
    expect((await driftAroundDeploys(ctx, [], check, options)).map((r) => r.subject)).toEqual(['rack-a', 'rack-b'])
    expect(seen).toHaveLength(2)
  })
})
