import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BoardSpec, Cluster, NodeSpec } from '../../../src/core/config/model.js'
import { boardLockKey, lockRunBoards } from '../../../src/core/lock/run-lock.js'
import type { PhaseContext } from '../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../src/core/reporter.js'

let dir = ''
afterAll(() => rm(dir, { recursive: true, force: true }))

const board = (name: string, endpoint: string) =>
  ({ name, bmc: { endpoint, username: 'root', tls: { insecure: true } }, path: [] }) as BoardSpec

describe('lockRunBoards', () => {
  it('keys locks by BMC endpoint', () => {
    expect(boardLockKey(board('tpi', 'https://10.10.88.70/'))).toBe('10.10.88.70')
    expect(boardLockKey(board('tpi', 'https://turingpi.local:8443'))).toBe('turingpi.local:8443')
  })

  it('locks only the boards of the selected nodes until released', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tpi-runlock-'))
    const boardList = [board('a', 'https://10.10.88.70'), board('b', 'https://10.10.89.70')]
    const nodes = [{ id: 'n1', board: 'b' }] as NodeSpec[]
    const ctx = {
      cluster: { boardList } as unknown as Cluster,
      nodes,
      settings: { stateDir: dir },
      reporter: new MemoryReporter()
    } as unknown as PhaseContext
    const release = await lockRunBoards(ctx, { runId: 'github 1/1' })
    expect(await readdir(join(dir, 'locks'))).toEqual(['board-10.10.89.70.lock'])
    await release()
    expect(await readdir(join(dir, 'locks'))).toEqual([])
  })
})
