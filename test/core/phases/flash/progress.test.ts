import { describe, expect, test } from '@jest/globals'
import { ProgressLog } from '../../../../src/core/phases/flash/progress.js'

describe('ProgressLog', () => {
  test('logs at most every interval or per quarter, with MB/s and ETA, and names the verify pass', () => {
    const lines: string[] = []
    const p = new ProgressLog((l) => lines.push(l), 10_000)
    const M = 2 ** 20
    p.sample({ bytes: 0, total: 400 * M, at: 0 })
    p.sample({ bytes: 10 * M, total: 400 * M, at: 1000 }) // not due
    p.sample({ bytes: 100 * M, total: 400 * M, at: 5000 }) // 25 %: due
    p.sample({ bytes: 400 * M, total: 400 * M, at: 9000 })
    p.sample({ bytes: 5 * M, total: 400 * M, at: 20_000 }) // counter restarted: verify
    expect(lines[0]).toBe(`write 25% (100/400 MiB), 21.0 MB/s, ETA 15 s`)
    expect(lines).toContain('writing done; verifying (CRC read-back)')
    expect(lines.at(-1)).toMatch(/^verify 1%/)
  })

  test('the verify pass gets its own rate, measured from its restart at 0', () => {
    const lines: string[] = []
    const p = new ProgressLog((l) => lines.push(l), 10_000)
    const M = 2 ** 20
    p.sample({ bytes: 0, total: 100 * M, at: 0 })
    p.sample({ bytes: 100 * M, total: 100 * M, at: 10_000 })
    p.sample({ bytes: 50 * M, total: 100 * M, at: 15_000 }) // verify: 50 MiB in the 5 s since the last sample
    const verify = lines.at(-1) as string
    const rate = Number(/, ([\d.]+) MB\/s/.exec(verify)?.[1])
    expect(verify).toMatch(/^verify 50% \(50\/100 MiB\)/)
    expect(rate).toBeCloseTo((50 * M) / 5 / 1e6, 1)
    expect(verify).toMatch(/ETA 5 s$/)
  })

  test('the end of the upload is said once, even when no poll ever sees the counter drop', () => {
    const lines: string[] = []
    const p = new ProgressLog((l) => lines.push(l), 10_000)
    const M = 2 ** 20
    p.sample({ bytes: 0, total: 100 * M, at: 0 })
    p.sample({ bytes: 60 * M, total: 100 * M, at: 6000 })
    p.writeDone(10_000)
    // The first poll comes late: the read-back is already past where the write was last sampled.
    p.sample({ bytes: 90 * M, total: 100 * M, at: 13_000 })
    p.sample({ bytes: 10 * M, total: 100 * M, at: 14_000 })
    expect(lines.filter((l) => l === 'writing done; verifying (CRC read-back)')).toHaveLength(1)
    expect(lines.at(-1)).toMatch(/^verify 90%/)
  })
})
