import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PhaseError } from '../../../../src/core/errors.js'
import { flashNode } from '../../../../src/core/phases/flash/flash-node.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { MemoryBmc, type Fault } from './memory-bmc.js'
import { FileSource } from '../../../../src/adapters/bmc/file-source.js'

const openFile = (path: string, chunkBytes: number): FileSource => new FileSource(path, chunkBytes)

let dir: string
let image: string
const data = Buffer.alloc(3 * 2 ** 20, 1)
const sha = createHash('sha256').update(data).digest('hex')
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flash-'))
  image = join(dir, 'metal-arm64.raw.xz')
  await writeFile(image, data)
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))
const run = (bmc: MemoryBmc, reporter = new MemoryReporter()) =>
  flashNode({
    node: 'rk1-b',
    slot: 2,
    bmc,
    imagePath: image,
    openFile,
    sha256: sha,
    reporter,
    sleep,
    timeoutMs: 5000,
    pollMs: 2,
    progressEveryMs: 0
  })

async function failure(fault: Fault): Promise<PhaseError> {
  const bmc = new MemoryBmc()
  bmc.faults.add(fault)
  const error = await run(bmc).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(PhaseError)
  const e = error as PhaseError
  expect(e).toMatchObject({ phase: 'flash', node: 'rk1-b' })
  expect(e.message).toContain('To resume: re-run the workflow')
  return e
}

describe('flashNode', () => {
  test('streams the file under its .xz name with its sha256, follows verify to Done and leaves the node off', async () => {
    const bmc = new MemoryBmc()
    const reporter = new MemoryReporter()
    await run(bmc, reporter)
    expect(bmc.flashes).toEqual([{ slot: 2, bytes: data.length, sha256: sha, fileName: 'metal-arm64.raw.xz' }])
    expect(bmc.powerBits[2]).toBe('off')
    expect(reporter.text()).toContain('rk1-b: flash done')
  })

  test('reports its upload (until the POST returns) and its CRC read-back (until Done) as two stages', async () => {
    const bmc = new MemoryBmc()
    let posted = 0
    const upload = bmc.upload.bind(bmc)
    bmc.upload = async (...args: Parameters<MemoryBmc['upload']>) => {
      const before = Date.now()
      await upload(...args)
      posted = Date.now()
      expect(posted).toBeGreaterThanOrEqual(before)
    }
    const started = Date.now()
    const { stages } = await run(bmc)
    const [up, verify] = stages
    expect(stages.map((s) => s.name)).toEqual(['upload', 'read-back'])
    expect(up!.start).toBeGreaterThanOrEqual(started)
    expect(up!.end).toBeGreaterThanOrEqual(posted)
    expect(up!.end - posted).toBeLessThan(100)
    expect(verify!.start).toBe(up!.end)
    expect(verify!.end).toBeGreaterThanOrEqual(verify!.start)
  })

  test('sha256 mismatch reported by the BMC names the node and explains', async () => {
    expect((await failure('sha256')).message).toMatch(
      /BMC reported "sha256 checksum failed.*metal-arm64\.raw\.xz is corrupt or truncated, or changed in transit/
    )
  })

  test('CRC read-back error points at the eMMC', async () => {
    expect((await failure('crc')).message).toMatch(/crc error.*eMMC/)
  })

  test('USB interface not found says the module did not enter flash mode', async () => {
    expect((await failure('usb')).message).toMatch(/USB interface not found.*did not enter flash mode/)
  })

  test('a dropped upload is not re-sent and says what the BMC saw', async () => {
    const bmc = new MemoryBmc()
    bmc.faults.add('drop')
    const e = (await run(bmc).catch((x: unknown) => x)) as PhaseError
    expect(e.message).toMatch(/missing \d+ bytes/)
    expect(bmc.uploads).toBe(1)
  })

  test('a cancel mid-upload ends in a clear cancelled error', async () => {
    expect((await failure('cancel')).message).toMatch(/cancelled by user.*cancelled the flash/)
  })

  test('Done is not read alone as success: a Done for another length is not this flash (§8.8)', async () => {
    const e = await failure('other-done')
    expect(e.message).toContain(
      `the BMC reports Done for ${data.length - 1} bytes, but this flash sent ${data.length}: not this transfer`
    )
    expect(e.message).toContain('Slot 2 was left powered off')
  })

  test('an upload refused with 401 starts the flash once more (nothing reached the eMMC)', async () => {
    const bmc = new MemoryBmc()
    bmc.faults.add('unauthorized-once')
    await run(bmc)
    expect(bmc.starts).toBe(2)
    expect(bmc.flashes.length).toBe(1)
  })
})
