import { describe, expect, it } from '@jest/globals'
import { CHARTS } from '../../../src/core/phases/addons/charts.js'
import { rollbackArgs, upgradeOrRollBack } from '../../../src/core/upgrade/addons.js'

const spec = CHARTS.metallb

describe('an addon chart upgrade', () => {
  it('runs only the upgrade when it succeeds', async () => {
    const calls: string[][] = []
    await upgradeOrRollBack(async (_w, args) => calls.push(args), spec, ['upgrade', '--install', 'metallb'], 300)
    expect(calls).toEqual([['upgrade', '--install', 'metallb']])
  })

  it('rolls the release back to its previous revision when the upgrade fails, and says so', async () => {
    const calls: string[][] = []
    const helm = async (_w: string, args: string[]) => {
      calls.push(args)
      if (args[0] === 'upgrade')
        throw new Error('helm upgrade --install metallb: helm exited with 1: timed out waiting for the condition')
    }
    await expect(upgradeOrRollBack(helm, spec, ['upgrade', '--install', 'metallb'], 300)).rejects.toThrow(
      'helm upgrade --install metallb: helm exited with 1: timed out waiting for the condition; metallb was rolled back to the revision it ran before metallb 0.16.1'
    )
    expect(calls[1]).toEqual(['rollback', 'metallb', '--namespace', 'metallb-system', '--wait', '--timeout', '300s'])
  })

  it('says when the rollback failed too', async () => {
    const helm = async (w: string) => {
      throw new Error(`${w} failed`)
    }
    await expect(upgradeOrRollBack(helm, spec, ['upgrade'], 60)).rejects.toThrow(
      'helm upgrade --install metallb failed; the rollback of metallb failed too: rolling back metallb failed'
    )
  })

  it('builds the rollback argv exactly', () => {
    expect(rollbackArgs(CHARTS.longhorn, 90)).toEqual([
      'rollback',
      'longhorn',
      '--namespace',
      'longhorn-system',
      '--wait',
      '--timeout',
      '90s'
    ])
  })
})
