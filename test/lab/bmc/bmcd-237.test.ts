// Conformance of the lab BMC with bmcd 2.3.7's behaviour as read from its source (bmc-api.md §8). One
// test per item that has no home in the checklist suites (§8.1: serialization.test.ts; §8.2: envelope;
// §8.4, 8.5, 8.7, 8.9: flash.test.ts; §8.13: auth.test.ts).
import { afterEach, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { request } from 'node:http'
import { promisify } from 'node:util'
import { startBmc, type BmcEmulator, type BmcEmulatorOptions } from '../../../lab/bmc/index.js'
import { api, call, flashStatus, login, pollFlash, startFlash, until, upload } from './helpers.js'

let bmc: BmcEmulator | undefined
async function board(o: BmcEmulatorOptions = {}): Promise<BmcEmulator> {
  bmc = await startBmc({ usbDetectMs: 10, ...o })
  return bmc
}
afterEach(async () => {
  await bmc?.stop()
  bmc = undefined
})

const result = (r: { body: string }): unknown =>
  (JSON.parse(r.body) as { response: [{ result: unknown }] }).response[0].result
const power = async (b: BmcEmulator, slot: number): Promise<string> =>
  (result(await api(b, 'opt=get&type=power')) as Record<string, string>[])[0]![`node${slot}`]!
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('§8.3 USB interface not found', () => {
  it('returns early: the node stays powered ("1") in USB flash mode, nothing restored', async () => {
    const b = await board()
    expect(result(await api(b, 'opt=set&type=usb&node=3&mode=1'))).toBe('ok') // Device, USB-A: the mode before
    b.faults.setUsbAbsent(2, true)
    await startFlash(b, 'node=1&file=a.img&length=4')
    expect((await pollFlash(b)).at(-1)).toEqual({ Error: "Compute module's USB interface not found or supported" })
    await sleep(30)
    expect(await power(b, 2)).toBe('1')
    expect(b.power(2)).toBe(true)
    expect(result(await api(b, 'opt=get&type=usb'))).toEqual([
      { bus_type: 'Usb hub', mode: 'Flash', node: 'Node 2', route: 'Bmc' }
    ])
  })
})

describe('§8.6 token expiry', () => {
  it('measures "token expired <dur> ago" from the last use, not from login', async () => {
    const b = await board({ tokenTtlMs: 400 })
    const token = await login(b)
    for (let i = 0; i < 4; i++) {
      await sleep(150)
      expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).status).toBe(200)
    }
    await sleep(600)
    const r = await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })
    expect(r.status).toBe(401)
    const ago = Number(/^token expired ([\d.]+)s ago$/.exec(r.body)?.[1])
    expect(ago).toBeGreaterThanOrEqual(0.15)
    expect(ago).toBeLessThan(0.5) // from the last use 600 ms ago minus the 400 ms TTL, not from login (~0.8 s)
  })
})

describe('§8.8 invalid multipart', () => {
  it('answers 500 "Multipart form invalid" and the transfer usually ends Done with nothing written', async () => {
    const b = await board()
    const h = await startFlash(b, 'node=0&file=a.img&length=1000')
    const r = await call(b, `/api/bmc/upload/${h}`, {
      method: 'POST',
      body: Buffer.alloc(1000, 1),
      headers: { 'Content-Type': 'application/octet-stream' }
    })
    expect([r.status, r.body]).toEqual([500, 'Multipart form invalid'])
    expect((await pollFlash(b)).at(-1)).toEqual({
      Done: [{ secs: expect.any(Number), nanos: expect.any(Number) }, 1000]
    })
    expect(b.diskPath(1)).toBeDefined()
    const { size } = await import('node:fs/promises').then((fs) => fs.stat(b.diskPath(1)))
    expect(size).toBe(0)
  })

  it('ends in an error instead when a sha256 was given', async () => {
    const b = await board()
    const sha = createHash('sha256').update(Buffer.alloc(10)).digest('hex')
    const h = await startFlash(b, `node=0&file=a.img&length=10&sha256=${sha}`)
    await call(b, `/api/bmc/upload/${h}`, {
      method: 'POST',
      body: 'not multipart',
      headers: { 'Content-Type': 'text/plain' }
    })
    expect(((await pollFlash(b)).at(-1) as { Error: string }).Error).toMatch(/^sha256 checksum failed/)
  })
})

describe('§8.10 node_info POST errors are actix Json extractor errors', () => {
  it('answers 400 text/plain "Content type error" without application/json, and "Json deserialize error: …" for bad JSON', async () => {
    const b = await board()
    const noType = await api(b, 'opt=set&type=node_info', { method: 'POST', body: '{"Node1":{"name":"a"}}' })
    expect([noType.status, noType.body]).toEqual([400, 'Content type error'])
    expect(noType.headers['content-type']).toMatch(/^text\/plain/)
    const bad = await api(b, 'opt=set&type=node_info', {
      method: 'POST',
      body: '{nope',
      headers: { 'Content-Type': 'application/json' }
    })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatch(/^Json deserialize error: /)
  })
})

describe('§8.11 loopback exemption', () => {
  it('answers 404 on /api/bmc/authenticate when the exemption applies', async () => {
    const b = await board({ host: '127.0.0.1', loopbackExempt: true })
    const r = await call(b, '/api/bmc/authenticate', {
      method: 'POST',
      auth: null,
      body: '{"username":"root","password":"turing"}'
    })
    expect(r.status).toBe(404)
  })
})

describe('§8.12 key order', () => {
  it('sorts the keys of json! objects: usb, sdcard, about, other', async () => {
    const b = await board()
    const keys = async (q: string): Promise<string[]> => {
      const v = result(await api(b, q))
      return Object.keys(Array.isArray(v) ? v[0] : v)
    }
    expect(await keys('opt=get&type=usb')).toEqual(['bus_type', 'mode', 'node', 'route'])
    expect(await keys('opt=get&type=sdcard')).toEqual(['free', 'total', 'use'])
    expect(await keys('opt=get&type=about')).toEqual([
      'api',
      'bmcd_version',
      'board_model',
      'board_revision',
      'buildroot',
      'buildtime',
      'hostname',
      'version'
    ])
    expect(await keys('opt=get&type=other')).toEqual(['api', 'buildroot', 'buildtime', 'ip', 'mac', 'version'])
  })
})

describe('§8.13 bans', () => {
  it('neither counts nor ban-checks logins with unparsable JSON', async () => {
    const b = await board({ banThreshold: 2, banBaseMs: 60_000 })
    for (let i = 0; i < 5; i++)
      expect((await call(b, '/api/bmc/authenticate', { method: 'POST', auth: null, body: '{' })).body).toMatch(
        /^error trying to parse credentials/
      )
    expect(
      (
        await call(b, '/api/bmc/authenticate', {
          method: 'POST',
          auth: null,
          body: '{"username":"root","password":"turing"}'
        })
      ).status
    ).toBe(200)
    await call(b, '/api/bmc/authenticate', { method: 'POST', auth: null, body: '{"username":"root","password":"x"}' })
    const fifth = await call(b, '/api/bmc/authenticate', {
      method: 'POST',
      auth: null,
      body: '{"username":"root","password":"x"}'
    })
    expect(fifth.body).toMatch(/^Exceeded allowed authentication attempts/)
    // Banned, yet bad JSON still gets the parse error: it never reaches the ban check.
    expect((await call(b, '/api/bmc/authenticate', { method: 'POST', auth: null, body: '{' })).body).toMatch(
      /^error trying to parse credentials/
    )
  })
})

describe('§8.14 board revision', () => {
  it('v2.4: usb_node1 is refused and bus_type is "Single bus"', async () => {
    const b = await board({ firmware: { boardRevision: '2.4.0' } })
    const r = await api(b, 'opt=get&type=usb_node1')
    expect(r.status).toBe(500)
    expect(result(r)).toMatch(/^Failed to This command is only available on v2\.5\+ boards: /)
    expect(result(await api(b, 'opt=set&type=usb&node=0&mode=0'))).toBe('ok')
    expect(result(await api(b, 'opt=get&type=usb'))).toEqual([
      { bus_type: 'Single bus', mode: 'Host', node: 'Node 1', route: 'AlternativePort' }
    ])
  })

  it('v2.5: USB host modes 0 and 4 are refused', async () => {
    const b = await board()
    for (const mode of [0, 4]) {
      const r = await api(b, `opt=set&type=usb&node=0&mode=${mode}`)
      expect(r.status).toBe(500)
      expect(result(r)).toMatch(/^Failed to set USB mode: Selecting one of the nodes as USB Host role is not supported/)
    }
  })
})

describe('§8.15 .xz errors', () => {
  it('ends a truncated .xz in Error("More memory needed") and a non-xz stream in "stream/file format not recognized"', async () => {
    const b = await board()
    const xz = (
      await promisify(execFile)('sh', ['-c', 'head -c 200000 /dev/urandom | xz -c | base64 -w0'], {
        maxBuffer: 1 << 22
      })
    ).stdout
    const packed = Buffer.from(xz, 'base64')
    const cut = packed.subarray(0, packed.length - 2000)
    let h = await startFlash(b, `node=0&file=a.img.xz&length=${cut.length}`)
    await upload(b, h, cut, 'a.img.xz')
    expect((await pollFlash(b)).at(-1)).toEqual({ Error: 'More memory needed' })
    const raw = randomBytes(5000)
    h = await startFlash(b, `node=0&file=b.img.xz&length=${raw.length}`)
    await upload(b, h, raw, 'b.img.xz')
    expect((await pollFlash(b)).at(-1)).toEqual({ Error: 'stream/file format not recognized' })
  })
})

describe('§8.16 power_on_time', () => {
  it('restarts when an already-on node 2–4 is powered on again; node 1 keeps its time', async () => {
    const b = await board()
    await api(b, 'opt=set&type=power&node1=1&node3=1')
    await sleep(1100)
    await api(b, 'opt=set&type=power&node1=1&node3=1')
    const info = result(await api(b, 'opt=get&type=node_info')) as { power_on_time: number | null }[]
    expect(info[0]!.power_on_time).toBeGreaterThanOrEqual(1)
    expect(info[2]!.power_on_time).toBe(0)
  })
})

describe('§8.17 port-80 redirect', () => {
  it('puts :443 after the Host header as sent, port included', async () => {
    const b = await board({ httpPort: 0 })
    const location = await new Promise<string | undefined>((resolve, reject) => {
      request(
        `${b.httpUrl}/api/bmc?opt=get&type=power`,
        { agent: false, headers: { Host: 'turingpi.local:8080' } },
        (res) => {
          res.resume()
          resolve(res.headers.location)
        }
      )
        .on('error', reject)
        .end()
    })
    expect(location).toBe('https://turingpi.local:8080:443/api/bmc?opt=get&type=power')
  })
})

describe('§8.18 sha256 length', () => {
  it('accepts an even-length hex of the wrong length at start and fails only at the end', async () => {
    const b = await board()
    const h = await startFlash(b, 'node=0&file=a.img&length=2&sha256=abcd')
    expect((await upload(b, h, Buffer.from('ok'))).status).toBe(200)
    expect(((await pollFlash(b)).at(-1) as { Error: string }).Error).toMatch(
      /^sha256 checksum failed\. Expected: abcd, got: [0-9a-f]{64}$/
    )
    expect((await api(b, 'opt=set&type=flash&node=0&file=a.img&length=2&sha256=abc')).status).toBe(500)
  })
})

describe('§8.19 a restart', () => {
  it('wipes tokens, bans, UART rings and the running transfer: the status reads "Ready" again', async () => {
    const b = await board({ verifyBytesPerSec: 20_000, banThreshold: 1, banBaseMs: 60_000 })
    const token = await login(b)
    b.uart(1).write('boot log\r\n')
    const h = await startFlash(b, 'node=0&file=a.img&length=40000')
    expect((await upload(b, h, Buffer.alloc(40000))).status).toBe(200)
    expect(await flashStatus(b)).toMatchObject({ Transferring: { id: h } })
    b.reload()
    expect(await flashStatus(b)).toBe('Ready')
    // The token is unknown now; with a threshold of 1 that failure already bans (§8.13).
    expect((await api(b, 'opt=get&type=power', { auth: `Bearer ${token}` })).body).toMatch(
      /^Exceeded allowed authentication attempts/
    )
    // A restart forgets the ban too.
    b.reload()
    expect((await api(b, 'opt=get&type=power')).status).toBe(200)
    expect(b.uart(1).contents()).toBe('')
  })

  it('opt=set&type=reload restarts the same way after answering ok', async () => {
    const b = await board()
    await startFlash(b, 'node=0&file=a.img&length=4')
    expect(result(await api(b, 'opt=set&type=reload'))).toBe('ok')
    await until(() => true)
    expect(await flashStatus(b)).toBe('Ready')
  })
})
