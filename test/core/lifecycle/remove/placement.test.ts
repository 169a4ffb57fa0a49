import { afterEach, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { quorumProblem, recordPlacement, removedNodes } from '../../../../src/core/lifecycle/remove/placement.js'
import { StateStore } from '../../../../src/core/state/store.js'
import { haNodes, k3sCluster } from '../../kinds/k3s/fixtures.js'

const dirs: string[] = []
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

async function deployedHa(): Promise<StateStore> {
  const dir = await mkdtemp(join(tmpdir(), 'placement-'))
  dirs.push(dir)
  const state = await StateStore.open(dir, 'lab')
  await recordPlacement(state, k3sCluster('', haNodes))
  return state
}
const without = (...ids: string[]) =>
  k3sCluster(
    '',
    haNodes
      .split('\n')
      .filter((l) => !ids.some((id) => l.includes(id)))
      .join('\n')
      .replace(/workers:$/, 'workers: []')
  )

describe('scale down: nodes the file dropped', () => {
  test('are found with the board, slot and address recorded at the last deploy, and survive a reopen', async () => {
    const state = await deployedHa()
    const again = await StateStore.open(state.dir.slice(0, -'/lab'.length), 'lab')
    const cluster = without('k3s-w1')
    expect(removedNodes(again, cluster, again.nodeIds())).toEqual([
      { id: 'k3s-w1', board: 'default', slot: 4, ip: '10.10.88.76', hostname: 'k3s-w1', role: 'worker' }
    ])
    expect(removedNodes(again, k3sCluster('', haNodes), again.nodeIds())).toEqual([])
  })

  // (Two servers of three staying is already refused by validate: EvenControlPlanes.)
  test('removing a worker keeps quorum; removing two servers of three does not', async () => {
    const state = await deployedHa()
    const check = (...ids: string[]) => {
      const c = without(...ids)
      return quorumProblem(c, removedNodes(state, c, state.nodeIds()))
    }
    expect(check('k3s-w1')).toBeUndefined()
    expect(check('k3s-cp2', 'k3s-cp3')).toBe(
      'removing k3s-cp2, k3s-cp3 leaves 1 of 3 etcd members, fewer than the 2 a quorum needs; remove one server per deploy, keeping a majority'
    )
  })

  test('a forgotten node is no longer listed', async () => {
    const state = await deployedHa()
    await state.forget('k3s-w1')
    expect(state.nodeIds()).not.toContain('k3s-w1')
    expect(removedNodes(state, without('k3s-w1'), state.nodeIds())).toEqual([])
  })
})
