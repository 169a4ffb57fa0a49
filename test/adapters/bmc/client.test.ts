import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { Readable } from 'node:stream'
import { createBmcClient, HttpBmcClient } from '../../../src/adapters/bmc/client.js'
import { MemoryReporter } from '../../../src/core/reporter.js'
import { startFakeBmc, type FakeBmc } from './fake-bmc.js'

let bmc: FakeBmc
beforeEach(async () => {
  bmc = await startFakeBmc()
})
afterEach(async () => bmc.close())

const noSleep = async (): Promise<void> => {}
const client = (extra: Partial<ConstructorParameters<typeof HttpBmcClient>[0]> = {}) =>
  createBmcClient({
    endpoint: bmc.url,
    username: 'root',
    password: bmc.password,
    fingerprint: bmc.fingerprint,
    insecure: false,
    sleep: noSleep,
    retryDelays: [1, 1, 1],
    ...extra
  })

describe('HttpBmcClient', () => {
  test('logs in once and reuses the token across calls', async () => {
    const c = await client()
    await c.power()
    await c.nodeInfo()
    expect(bmc.logins).toBe(1)
  })

  test('reuses one TLS connection across calls', async () => {
    const c = await client()
    for (let i = 0; i < 5; i++) await c.power()
    expect(bmc.connections).toBe(1)
    c.close()
  })

  test('refuses a certificate that does not match the pin before sending credentials', async () => {
    const wrong = 'AA'.repeat(32)
    await expect(client({ fingerprint: wrong })).rejects.toMatchObject({ code: 'BmcTlsMismatch' })
    expect(bmc.calls).toEqual([])
  })

  test('accepts the pin with or without colons and in lower case', async () => {
    const c = await client({ fingerprint: bmc.fingerprint.replace(/:/g, '').toLowerCase() })
    expect((await c.about()).bmcdVersion).toBe('2.3.7')
  })

  test('refuses to connect with neither a pin nor insecure', async () => {
    await expect(client({ fingerprint: undefined })).rejects.toMatchObject({ code: 'BmcTlsUnpinned' })
  })

  test('insecure skips the pin', async () => {
    const c = await client({ fingerprint: undefined, insecure: true })
    expect((await c.power())[1]).toBe('off')
  })

  test('logs in again on a 401 after the BMC dropped its tokens (reload, expiry)', async () => {
    const c = await client()
    bmc.wipeTokens()
    await c.setPower(2, true)
    expect(bmc.logins).toBe(2)
    expect(bmc.power.node2).toBe('1')
    expect(bmc.calls).toContain('GET /api/bmc?opt=set&type=power&node2=1')
  })

  test('retries a 5xx on an idempotent call with backoff', async () => {
    const c = await client()
    bmc.fail5xx = 2
    expect((await c.power())[3]).toBe('off')
    expect(bmc.calls.filter((x) => x.includes('type=power')).length).toBe(3)
  })

  test('retries a dropped connection and gives up with the attempt count', async () => {
    const c = await client()
    bmc.drop = 10
    await expect(c.power()).rejects.toMatchObject({ code: 'BmcUnreachable' })
    expect(bmc.calls.filter((x) => x.includes('type=power')).length).toBe(4)
  })

  test('a call that gets no answer times out per call and is retried', async () => {
    const c = await client({ timeoutMs: 100 })
    bmc.hang = 2
    expect((await c.power())[1]).toBe('off')
    bmc.hang = 10
    await expect(c.power()).rejects.toMatchObject({
      code: 'BmcUnreachable',
      message: expect.stringContaining('no reply to GET /api/bmc?opt=get&type=power within 100 ms')
    })
  })

  test('an abandoned client ends the request in flight at once and makes no further attempt', async () => {
    const giveUp = new AbortController()
    // Real backoff here: the point is that neither the hung request nor the waits outlive the abort.
    const c = await client({ timeoutMs: 60_000, sleep: undefined, retryDelays: [5_000, 5_000], signal: giveUp.signal })
    bmc.hang = 10
    const t0 = Date.now()
    const power = c.power()
    setTimeout(() => giveUp.abort(), 100)
    await expect(power).rejects.toMatchObject({
      code: 'BmcUnreachable',
      message: expect.stringContaining('abandoned (the caller stopped waiting)')
    })
    expect(Date.now() - t0).toBeLessThan(2_000)
    expect(bmc.calls.filter((x) => x.includes('type=power')).length).toBe(1)
    await expect(c.nodeInfo()).rejects.toMatchObject({
      message: expect.stringContaining('not sent (the caller stopped waiting)')
    })
  })

  test('does not retry a reset (it may have happened)', async () => {
    const c = await client()
    bmc.fail5xx = 1
    await expect(c.reset(1)).rejects.toMatchObject({ code: 'BmcRejected' })
    expect(bmc.calls.filter((x) => x.includes('type=reset')).length).toBe(1)
  })

  test('stops at once when banned instead of hammering', async () => {
    bmc.banned = true
    await expect(client()).rejects.toMatchObject({
      code: 'BmcBanned',
      message: expect.stringContaining('blocks this runner')
    })
    expect(bmc.calls.length).toBe(1)
  })

  test('a wrong password is a clear error that never shows the password', async () => {
    const r = new MemoryReporter()
    const err = await client({ password: 'wrong-pass', reporter: r }).catch((e: Error) => e)
    expect(err).toMatchObject({ code: 'BmcAuthFailed' })
    expect((err as Error).message).not.toContain('wrong-pass')
  })

  test('maps node 1..4 to node=0..3 for uart and reads the uart key', async () => {
    const c = await client()
    bmc.uart[3] = 'hello\nlogin: '
    expect(await c.readUart(4)).toBe('hello\nlogin: ')
    expect(bmc.calls.at(-1)).toContain('node=3')
  })

  test('sdcard is undefined when the BMC has no card', async () => {
    const c = await client()
    expect(await c.sdcard()).toBeUndefined()
  })

  test('node_info keeps nulls and numbers', async () => {
    const c = await client()
    const info = await c.nodeInfo()
    expect(info[0]).toEqual({ slot: 1, name: null, moduleName: 'RK1', powerOnTime: 12, uartBaud: 115200 })
    expect(info.map((i) => i.slot)).toEqual([1, 2, 3, 4])
  })

  test('starts a flash with sha256, presence-only skip_crc, and streams a multipart body with exact length', async () => {
    const c = await client()
    const data = Buffer.alloc(100_000, 7)
    const req = {
      slot: 2 as const,
      fileName: 'node.img.xz',
      length: data.length,
      sha256: 'ab'.repeat(32),
      skipCrc: true
    }
    const handle = await c.startFlash(req)
    expect(handle).toBe(7)
    const start = bmc.calls.find((x) => x.includes('type=flash') && x.includes('opt=set'))
    expect(start).toContain('node=1&file=node.img.xz&length=100000&sha256=' + 'ab'.repeat(32) + '&skip_crc')
    expect(start).not.toContain('skip_crc=')
    await c.upload(handle, Readable.from([data.subarray(0, 50_000), data.subarray(50_000)]), req)
    const body = bmc.uploadBody as Buffer
    expect(Number(bmc.uploadHeaders?.['content-length'])).toBe(body.length)
    expect(body.toString('latin1')).toContain('name="file"; filename="node.img.xz"')
    expect(body.includes(data)).toBe(true)
    expect(await c.flashStatus()).toMatchObject({ state: 'transferring', id: 7, size: data.length })
    expect(await c.flashStatus()).toEqual({ state: 'done', seconds: 3, size: data.length })
  })

  test('cancel leaves the BMC in the cancelled error', async () => {
    const c = await client()
    await c.cancelFlash()
    expect(await c.flashStatus()).toEqual({ state: 'error', message: 'cancelled by user' })
  })
})

describe('bmcFactory', () => {
  test('logs into each board once even when asked concurrently, through the address map', async () => {
    const { bmcFactory } = await import('../../../src/adapters/bmc/factory.js')
    const port = Number(new URL(bmc.url).port)
    const mapped: string[] = []
    const get = bmcFactory({
      password: bmc.password,
      net: { map: (host, p) => (mapped.push(`${host}:${p}`), { host: '127.0.0.1', port }) }
    })
    const board = {
      name: 'tp',
      bmc: { endpoint: 'https://10.10.88.70', username: 'root', tls: { fingerprint: bmc.fingerprint, insecure: false } }
    }
    const [a, b] = await Promise.all([get(board), get(board)])
    expect(a).toBe(b)
    expect(bmc.logins).toBe(1)
    expect(mapped[0]).toBe('10.10.88.70:443')
  })

  test('without a password refuses every board, naming the input, before any request', async () => {
    const { bmcFactory } = await import('../../../src/adapters/bmc/factory.js')
    const mapped: string[] = []
    const get = bmcFactory({ net: { map: (host, p) => (mapped.push(`${host}:${p}`), { host: '127.0.0.1', port: p }) } })
    const board = { name: 'tp', bmc: { endpoint: 'https://10.10.88.70', username: 'root', tls: { insecure: true } } }
    await expect(get(board)).rejects.toMatchObject({
      code: 'BmcPasswordMissing',
      message: expect.stringContaining('bmc-password')
    })
    expect(mapped).toEqual([])
  })
})
