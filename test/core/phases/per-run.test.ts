import { describe, expect, test } from '@jest/globals'
import { perRun } from '../../../src/core/phases/per-run.js'
import { emptyOutputs } from '../../../src/core/phases/types.js'

describe('perRun', () => {
  test('does the work once per run and key, however many callers ask at the same time', async () => {
    let calls = 0
    const once = perRun<number>()
    const run = emptyOutputs()
    const work = async () => ++calls
    expect(await Promise.all([once(run, work), once(run, work), once(run, work, 'other')])).toEqual([1, 1, 2])
    expect(await once(emptyOutputs(), work)).toBe(3)
  })

  test('forgets a failure, so a later caller in the same run tries again', async () => {
    const once = perRun<string>()
    const run = emptyOutputs()
    await expect(
      once(run, async () => {
        throw new Error('factory down')
      })
    ).rejects.toThrow('factory down')
    expect(await once(run, async () => 'ok')).toBe('ok')
  })
})
