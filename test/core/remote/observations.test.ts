import { describe, expect, test } from '@jest/globals'
import {
  changedInRun,
  changesSoFar,
  invalidate,
  invalidateAll,
  observed
} from '../../../src/core/remote/observations.js'
import { emptyOutputs } from '../../../src/core/phases/types.js'

describe("a run's observation map", () => {
  test('a node is observed once per run, whoever asks; a new run observes afresh', async () => {
    const run = emptyOutputs()
    let takes = 0
    const take = async (): Promise<number> => ++takes
    expect(await Promise.all([observed(run, 'a', 'k3s', take), observed(run, 'a', 'k3s', take)])).toEqual([1, 1])
    expect(await observed(run, 'b', 'k3s', take)).toBe(2)
    expect(await observed(emptyOutputs(), 'a', 'k3s', take)).toBe(3)
  })

  test('a changed node is observed again; the others keep theirs, but the run counts the change', async () => {
    const run = emptyOutputs()
    let takes = 0
    const take = async (): Promise<number> => ++takes
    await observed(run, 'a', 'k3s', take)
    await observed(run, 'b', 'k3s', take)
    expect([changesSoFar(run), changedInRun(run, 'a')]).toEqual([0, false])
    invalidate(run, 'a')
    expect(await observed(run, 'a', 'k3s', take)).toBe(3)
    expect(await observed(run, 'b', 'k3s', take)).toBe(2)
    expect([changesSoFar(run), changedInRun(run, 'a'), changedInRun(run, 'b')]).toEqual([1, true, false])
    invalidateAll(run)
    expect([await observed(run, 'b', 'k3s', take), changedInRun(run, 'b')]).toEqual([4, true])
  })

  test('a failed observation is forgotten, so the next caller tries again', async () => {
    const run = emptyOutputs()
    await expect(observed(run, 'a', 'k3s', () => Promise.reject(new Error('no route')))).rejects.toThrow('no route')
    expect(await observed(run, 'a', 'k3s', async () => 'seen')).toBe('seen')
  })
})
