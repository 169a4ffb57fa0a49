import { describe, expect, test } from '@jest/globals'
import { runPipelined } from '../../../../src/core/phases/flash/pipeline.js'

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

describe('runPipelined', () => {
  test("serializes flashes per board and overlaps each node's later steps with the next flash", async () => {
    const log: string[] = []
    let flashing = 0
    let maxFlashing = 0
    const nodes = ['a', 'b', 'c'].map((id) => ({ id, board: 'one' }))
    await runPipelined(nodes, (n) => ({
      flash: async () => {
        flashing++
        maxFlashing = Math.max(maxFlashing, flashing)
        log.push(`flash ${n.id} start`)
        await sleep(30)
        log.push(`flash ${n.id} end`)
        flashing--
      },
      rest: async () => {
        log.push(`boot ${n.id} start`)
        await sleep(45)
        log.push(`boot ${n.id} end`)
      }
    }))
    expect(maxFlashing).toBe(1)
    // a boots while b flashes
    expect(log.indexOf('boot a start')).toBeLessThan(log.indexOf('flash b end'))
    expect(log.indexOf('flash a end')).toBeLessThan(log.indexOf('flash b start'))
  })

  test('separate boards flash in parallel', async () => {
    const started: number[] = []
    const t0 = Date.now()
    await runPipelined([{ board: 'x' }, { board: 'y' }], () => ({
      flash: async () => {
        started.push(Date.now() - t0)
        await sleep(40)
      },
      rest: async () => {}
    }))
    expect(Math.max(...started)).toBeLessThan(30)
  })

  test("a failed flash skips that node's later steps and the board's next flashes; others finish; first error thrown", async () => {
    const done: string[] = []
    const nodes = [
      { id: 'a', board: 'one' },
      { id: 'b', board: 'one' },
      { id: 'c', board: 'two' }
    ]
    const error = await runPipelined(nodes, (n) => ({
      flash: async () => {
        if (n.id === 'a') throw new Error('flash a broke')
        done.push(`flash ${n.id}`)
      },
      rest: async () => void done.push(`rest ${n.id}`)
    })).catch((e: Error) => e)
    expect((error as Error).message).toBe('flash a broke')
    expect(done).toEqual(['flash c', 'rest c'])
  })
})
