import { afterEach, describe, expect, it } from '@jest/globals'
import { createHash, randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { startBmc, type BmcEmulator, type BmcEmulatorOptions } from '../../../lab/bmc/index.js'
import { api, call, flashStatus, pollFlash, startFlash, until, upload } from './helpers.js'

let bmc: BmcEmulator | undefined
async function board(o: BmcEmulatorOptions = {}): Promise<BmcEmulator> {
  bmc = await startBmc({ usbDetectMs: 10, ...o })
  return bmc
}
afterEach(async () => {
  await bmc?.stop()
  bmc = undefined
})

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
type Transferring = {
  Transferring: { id: number; process_name: string; size: number; cancelled: boolean; bytes_written: number }
}
const isTransferring = (s: unknown): s is Transferring => typeof s === 'object' && s !== null && 'Transferring' in s

describe('checklist 11: one transfer slot', () => {
  it('answers a random u32 handle as bare text/plain JSON, Ready only before the first transfer', async () => {
    const b = await board()
    expect(await flashStatus(b)).toBe('Ready')
    const r = await api(b, 'opt=set&type=flash&node=0&file=a.img&length=4')
    expect(r.status).toBe(200)
    expect(r.headers['content-type']).toMatch(/^text\/plain/)
    expect(r.body).toMatch(/^\{"handle":\d+\}$/)
    const { handle } = JSON.parse(r.body) as { handle: number }
    expect(Number.isInteger(handle) && handle >= 0 && handle < 2 ** 32).toBe(true)
    expect(await flashStatus(b)).toEqual({
      Transferring: {
        id: handle,
        process_name: 'Node 1 os install service',
        size: 4,
        cancelled: false,
        bytes_written: 0
      }
    })
    expect((await upload(b, handle, Buffer.from('abcd'))).status).toBe(200)
    const seen = await pollFlash(b)
    expect(seen.at(-1)).toEqual({ Done: [{ secs: expect.any(Number), nanos: expect.any(Number) }, 4] })
    // Done persists without an id and never goes back to Ready.
    expect(await flashStatus(b)).toEqual(seen.at(-1))
    expect(JSON.stringify(await flashStatus(b))).not.toContain('"id"')
  })

  it('lets a new start replace a running transfer (here in its CRC read-back): its handle is then unknown', async () => {
    const b = await board({ verifyBytesPerSec: 100_000 })
    const data = randomBytes(60_000)
    const first = await startFlash(b, `node=0&file=a.img&length=${data.length}`)
    expect((await upload(b, first, data)).status).toBe(200)
    expect(await flashStatus(b)).toMatchObject({ Transferring: { id: first } })
    const second = await startFlash(b, 'node=1&file=b.img&length=3')
    expect(await flashStatus(b)).toMatchObject({
      Transferring: { id: second, process_name: 'Node 2 os install service', size: 3 }
    })
    expect((await upload(b, first, data)).body).toBe('unauthorized request for handle')
    expect((await upload(b, second, Buffer.from('xyz'))).status).toBe(200)
    expect((await pollFlash(b)).at(-1)).toMatchObject({ Done: [{}, 3] })
  })

  it('times out a transfer started later by the timer of an earlier start (the timer is not tied to a handle)', async () => {
    const b = await board({ uploadDeadlineMs: 300 })
    await startFlash(b, 'node=0&file=a.img&length=4')
    await new Promise((r) => setTimeout(r, 200))
    const second = await startFlash(b, 'node=1&file=b.img&length=4')
    await new Promise((r) => setTimeout(r, 150)) // the first start's timer fired; the second is 150 ms old
    expect(await flashStatus(b)).toEqual({ Error: 'Send timeout' })
    expect((await upload(b, second, Buffer.alloc(4))).body).toBe(
      'cannot execute command in current state. current=Error, expected=Transferring'
    )
  })

  it('keeps Error without an id until the next start', async () => {
    const b = await board({ uploadDeadlineMs: 30 })
    await startFlash(b, 'node=0&file=a.img&length=4')
    expect((await pollFlash(b)).at(-1)).toEqual({ Error: 'Send timeout' })
    expect(await flashStatus(b)).toEqual({ Error: 'Send timeout' })
  })
})

describe('checklist 12: upload', () => {
  it('writes only the first multipart part to the eMMC file, truncated to the written size', async () => {
    const b = await board()
    const data = randomBytes(5000)
    const h = await startFlash(b, `node=2&file=x.img&length=${data.length}&skip_crc`)
    expect((await upload(b, h, data, 'x.img', Buffer.from('second part ignored'))).status).toBe(200)
    await pollFlash(b)
    expect((await readFile(b.diskPath(3))).equals(data)).toBe(true)
    const h2 = await startFlash(b, 'node=2&file=y.img&length=10&skip_crc')
    await upload(b, h2, Buffer.from('0123456789'))
    await pollFlash(b)
    expect(await readFile(b.diskPath(3), 'utf8')).toBe('0123456789')
  })

  it('fails with Error("Send timeout") when no upload starts within the deadline, and leaves the node off', async () => {
    const b = await board({ uploadDeadlineMs: 50 })
    await api(b, 'opt=set&type=power&node1=1')
    await startFlash(b, 'node=0&file=a.img&length=4')
    expect((await pollFlash(b)).at(-1)).toEqual({ Error: 'Send timeout' })
    await until(() => !b.power(1))
    expect(JSON.parse((await api(b, 'opt=get&type=power')).body).response[0].result[0].node1).toBe('0')
  })

  it('answers 500 "missing N bytes" (humansize DECIMAL) when the body is shorter than length, and cancels (§8.5)', async () => {
    const b = await board()
    const h = await startFlash(b, 'node=0&file=a.img&length=100')
    const r = await upload(b, h, Buffer.alloc(90))
    expect([r.status, r.body]).toEqual([500, 'missing 10 B bytes'])
    expect(r.headers['content-type']).toMatch(/^text\/plain/)
    expect(await flashStatus(b)).toEqual({ Error: 'cancelled by user' })
    const h2 = await startFlash(b, 'node=0&file=a.img&length=5000')
    expect((await upload(b, h2, Buffer.alloc(2500))).body).toBe('missing 2.50 kB bytes')
    const h3 = await startFlash(b, 'node=0&file=a.img&length=3000')
    expect((await upload(b, h3, Buffer.alloc(1000))).body).toBe('missing 2 kB bytes')
  })

  it('wraps the u64 on an over-long body after writing the extra bytes, and cancels (§8.5)', async () => {
    const b = await board()
    const h = await startFlash(b, 'node=0&file=a.img&length=10&skip_crc')
    const r = await upload(b, h, Buffer.alloc(20, 7))
    expect([r.status, r.body]).toEqual([500, 'missing 18.45 EB bytes'])
    expect(await flashStatus(b)).toEqual({ Error: 'cancelled by user' })
  })

  it('refuses a wrong handle, a second upload and an upload after an error, all 500 text/plain', async () => {
    const b = await board({ verifyBytesPerSec: 50_000 })
    const h = await startFlash(b, 'node=0&file=a.img&length=20000')
    expect((await upload(b, h + 1, Buffer.alloc(1))).body).toBe('unauthorized request for handle')
    expect((await upload(b, h, Buffer.alloc(20000))).status).toBe(200)
    // Still Transferring (CRC read-back): the sender is taken.
    const second = await upload(b, h, Buffer.alloc(20000))
    expect([second.status, second.body]).toEqual([
      500,
      'cannot transfer bytes to worker. This is either because the transfer happens locally, or is already ongoing.'
    ])
    await pollFlash(b)
    const h2 = await startFlash(b, 'node=0&file=a.img&length=5')
    await upload(b, h2, Buffer.alloc(3))
    const after = await upload(b, h2, Buffer.alloc(5))
    expect([after.status, after.body]).toEqual([
      500,
      'cannot execute command in current state. current=Error, expected=Transferring'
    ])
  })

  it('checks state before the handle: a wrong handle after Done names the state (§8.7)', async () => {
    const b = await board()
    const h = await startFlash(b, 'node=0&file=a.img&length=2')
    await upload(b, h, Buffer.from('ok'))
    await pollFlash(b)
    const r = await upload(b, h + 1, Buffer.from('ok'))
    expect([r.status, r.body]).toEqual([
      500,
      'cannot execute command in current state. current=Done, expected=Transferring'
    ])
  })

  it('answers 404 "Path deserialize error" for a handle that is not a u32 (§8.7)', async () => {
    const b = await board()
    await startFlash(b, 'node=0&file=a.img&length=2')
    for (const bad of ['x', '-1', '4294967296']) {
      const r = await upload(b, bad, Buffer.from('ok'))
      expect([r.status, r.body]).toEqual([404, `Path deserialize error: can not parse "${bad}" to a u32`])
    }
  })

  it('replies only after the throttled write has ended', async () => {
    const b = await board({ writeBytesPerSec: 400_000 })
    const data = randomBytes(120_000)
    const h = await startFlash(b, `node=0&file=a.img&length=${data.length}&skip_crc`)
    const t0 = Date.now()
    const r = await upload(b, h, data)
    const took = Date.now() - t0
    expect(r.status).toBe(200)
    expect(r.body).toBe('')
    expect(took).toBeGreaterThanOrEqual(250) // 120 kB at 400 kB/s ≈ 300 ms
    expect((await readFile(b.diskPath(1))).length).toBe(data.length)
  })
})

describe('checklist 13: progress, verify pass, integrity faults, cancel', () => {
  it('climbs to the size, restarts at 0 for the CRC read-back, then reports Done', async () => {
    const b = await board({ writeBytesPerSec: 200_000, verifyBytesPerSec: 200_000 })
    const data = randomBytes(60_000)
    const h = await startFlash(b, `node=0&file=a.img&length=${data.length}`)
    const written: number[] = []
    const probe = setInterval(() => {
      const c = b.flashBytesWritten()
      if (c !== undefined) written.push(c)
    }, 5)
    const up = upload(b, h, data)
    // A poll sent during the upload is answered after it (§8.1): by then the CRC pass has restarted at 0.
    await until(() => b.uploadsInProgress() > 0)
    const [seen, r] = await Promise.all([pollFlash(b), up])
    clearInterval(probe)
    expect(r.status).toBe(200)
    const restart = written.findIndex((n, i) => i > 0 && n < written[i - 1]!)
    expect(restart).toBeGreaterThan(1)
    expect(written[restart - 1]).toBeGreaterThan(data.length / 2)
    const counts = seen.filter(isTransferring).map((s) => s.Transferring.bytes_written)
    expect(counts.length).toBeGreaterThan(0)
    expect(counts).toEqual([...counts].sort((x, y) => x - y))
    expect(counts[0]).toBeLessThan(data.length)
    expect(seen.at(-1)).toEqual({ Done: [{ secs: expect.any(Number), nanos: expect.any(Number) }, data.length] })
  })

  it('skips the verify pass when skip_crc is merely present', async () => {
    const b = await board({ writeBytesPerSec: 200_000, verifyBytesPerSec: 200_000 })
    const data = randomBytes(40_000)
    const h = await startFlash(b, `node=0&file=a.img&length=${data.length}&skip_crc=false`)
    const [seen] = await Promise.all([pollFlash(b), upload(b, h, data)])
    const counts = seen.filter(isTransferring).map((s) => s.Transferring.bytes_written)
    expect(counts).toEqual([...counts].sort((x, y) => x - y))
  })

  it('checks sha256 over the raw stream only at the end, after the data is on the eMMC', async () => {
    const b = await board()
    const data = randomBytes(3000)
    const wrong = 'ab'.repeat(32)
    const h = await startFlash(b, `node=0&file=a.img&length=${data.length}&sha256=${wrong}`)
    expect((await upload(b, h, data)).status).toBe(200)
    expect((await pollFlash(b)).at(-1)).toEqual({
      Error: `sha256 checksum failed. Expected: ${wrong}, got: ${sha(data)}`
    })
    expect((await readFile(b.diskPath(1))).equals(data)).toBe(true)
    const ok = await startFlash(b, `node=0&file=a.img&length=${data.length}&sha256=${sha(data).toUpperCase()}`)
    await upload(b, ok, data)
    expect((await pollFlash(b)).at(-1)).toMatchObject({ Done: [{}, data.length] })
  })

  it('refuses an invalid sha256 at start with 500 text/plain', async () => {
    const b = await board()
    const r = await api(b, 'opt=set&type=flash&node=0&file=a.img&length=3&sha256=xyz')
    expect(r.status).toBe(500)
    expect(r.body).toMatch(/sha256/)
  })

  it.each([
    ['sha256', /^sha256 checksum failed\. Expected: [0-9a-f]{64}, got: [0-9a-f]{64}$/],
    ['crc', /^crc error\. expected 0x[0-9a-f]{16}, calculated 0x[0-9a-f]{16}$/]
  ] as const)('injects a %s failure at the end of the flash', async (fault, message) => {
    const b = await board()
    b.faults.flashError = fault
    const data = Buffer.from('payload')
    const h = await startFlash(b, `node=0&file=a.img&length=${data.length}&sha256=${sha(data)}`)
    await upload(b, h, data)
    const last = (await pollFlash(b)).at(-1) as { Error: string }
    expect(last.Error).toMatch(message)
  })

  it('fails right after start with the USB-not-found message, and the upload then gets 500', async () => {
    const b = await board()
    b.faults.flashError = 'usb-not-found'
    const h = await startFlash(b, 'node=0&file=a.img&length=4')
    expect((await pollFlash(b)).at(-1)).toEqual({ Error: "Compute module's USB interface not found or supported" })
    expect((await upload(b, h, Buffer.alloc(4))).body).toBe(
      'cannot execute command in current state. current=Error, expected=Transferring'
    )
  })

  it('cancels on GET …/cancel with any handle: 200 empty body, Error("cancelled by user"), node off', async () => {
    const b = await board({ verifyBytesPerSec: 50_000 })
    const h = await startFlash(b, 'node=0&file=a.img&length=50000')
    expect((await upload(b, h, Buffer.alloc(50000))).status).toBe(200)
    expect(await flashStatus(b)).toMatchObject({ Transferring: { id: h } })
    const r = await call(b, '/api/bmc/upload/999/cancel')
    expect([r.status, r.body]).toEqual([200, ''])
    expect(await flashStatus(b)).toEqual({ Error: 'cancelled by user' })
    await until(() => !b.power(1))
  })

  it.each(['Ready', 'Done'])('cancel sets Error("cancelled by user") from %s too (§8.9)', async (from) => {
    const b = await board()
    if (from === 'Done') {
      const h = await startFlash(b, 'node=0&file=a.img&length=2')
      await upload(b, h, Buffer.from('ok'))
      expect((await pollFlash(b)).at(-1)).toMatchObject({ Done: [{}, 2] })
    } else expect(await flashStatus(b)).toBe('Ready')
    expect((await call(b, '/api/bmc/upload/0/cancel')).status).toBe(200)
    expect(await flashStatus(b)).toEqual({ Error: 'cancelled by user' })
  })

  it('powers the node off, on in USB mode, and leaves it off; emits flash-start and flashed', async () => {
    const b = await board()
    await api(b, 'opt=set&type=power&node2=1')
    const events: unknown[] = []
    b.events.on('power', (...a: unknown[]) => events.push(['power', ...a]))
    b.events.on('flash-start', (s: number) => events.push(['flash-start', s]))
    b.events.on('flashed', (s: number, p: string) => events.push(['flashed', s, p]))
    const h = await startFlash(b, 'node=1&file=a.img&length=2')
    await upload(b, h, Buffer.from('hi'))
    await pollFlash(b)
    expect(events).toEqual([
      ['flash-start', 2],
      ['power', 2, false, { usbBoot: false }],
      ['power', 2, true, { usbBoot: true }],
      ['power', 2, false, { usbBoot: false }],
      ['flashed', 2, b.diskPath(2)]
    ])
    expect(JSON.parse((await api(b, 'opt=get&type=power')).body).response[0].result[0].node2).toBe('0')
  })

  it('reports the node powered ("1") for the whole transfer (§8.4)', async () => {
    const b = await board({ writeBytesPerSec: 100_000 })
    const h = await startFlash(b, 'node=1&file=a.img&length=20000')
    expect(JSON.parse((await api(b, 'opt=get&type=power')).body).response[0].result[0].node2).toBe('1')
    expect(b.power(2)).toBe(true)
    await upload(b, h, Buffer.alloc(20000))
    await pollFlash(b)
    expect(JSON.parse((await api(b, 'opt=get&type=power')).body).response[0].result[0].node2).toBe('0')
  })
})
