// §8.1: bmcd's auth middleware holds one mutex across the handler, so the BMC answers one authenticated
// request at a time. A status poll, a UART read or a cancel sent during an upload POST waits for it.
import { afterEach, describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { startBmc, type BmcEmulator } from '../../../lab/bmc/index.js'
import { api, call, flashStatus, pollFlash, startFlash, until, upload } from './helpers.js'

let bmc: BmcEmulator | undefined
afterEach(async () => {
  await bmc?.stop()
  bmc = undefined
})

/** curl as an outside client would run it (async: the emulator lives in this event loop). */
function curl(args: string[]): Promise<{ code: number; out: string; at: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sk', '--max-time', '30', ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code: code ?? -1, out, at: Date.now() }))
  })
}

describe('§8.1 requests are serialized', () => {
  it('curl: a flash status poll sent during an upload POST is answered only after the POST returns', async () => {
    const b = (bmc = await startBmc({ usbDetectMs: 10, writeBytesPerSec: 400_000 }))
    const data = randomBytes(400_000) // about one second of eMMC writing
    const handle = await startFlash(b, `node=0&file=a.img&length=${data.length}&skip_crc`)
    let uploadDone = 0
    const up = upload(b, handle, data).then((r) => {
      uploadDone = Date.now()
      return r
    })
    await until(() => uploadStarted(b))
    const sent = Date.now()
    const poll = await curl([
      '-u',
      `${b.username}:${b.password}`,
      '-w',
      '\n%{http_code}',
      `${b.url}/api/bmc?opt=get&type=flash`
    ])
    const r = await up
    expect(r.status).toBe(200)
    const [body, status] = poll.out.split('\n')
    expect(status).toBe('200')
    // Sent while the POST was running, answered after it returned, and it sees the finished write.
    expect(sent).toBeLessThan(uploadDone)
    expect(poll.at).toBeGreaterThanOrEqual(uploadDone)
    expect(poll.at - sent).toBeGreaterThan(300)
    expect(JSON.parse(body!)).toMatchObject({ Done: [{}, data.length] })
  })

  it('holds a UART read and a cancel behind the upload too, in arrival order', async () => {
    const b = (bmc = await startBmc({ usbDetectMs: 10, writeBytesPerSec: 300_000 }))
    const data = randomBytes(240_000)
    const handle = await startFlash(b, `node=1&file=a.img&length=${data.length}&skip_crc`)
    const order: string[] = []
    const up = upload(b, handle, data).then((r) => {
      order.push('upload')
      return r
    })
    await until(() => uploadStarted(b))
    const uart = api(b, 'opt=get&type=uart&node=0').then((r) => {
      order.push('uart')
      return r
    })
    await new Promise((r) => setTimeout(r, 20))
    const cancel = call(b, '/api/bmc/upload/1/cancel').then((r) => {
      order.push('cancel')
      return r
    })
    const [u, q, c] = await Promise.all([up, uart, cancel])
    expect(order).toEqual(['upload', 'uart', 'cancel'])
    // The cancel came too late to stop the write: the upload succeeded, and cancel still sets the error (§8.9).
    expect([u.status, q.status, c.status]).toEqual([200, 200, 200])
    expect(await flashStatus(b)).toEqual({ Error: 'cancelled by user' })
  })

  it('serializes plain requests as well: a login waits for a slow reset', async () => {
    const b = (bmc = await startBmc({ resetDelayMs: 300 }))
    const t0 = Date.now()
    const reset = api(b, 'opt=set&type=reset&node=0').then(() => Date.now())
    await new Promise((r) => setTimeout(r, 30))
    const login = call(b, '/api/bmc/authenticate', {
      method: 'POST',
      auth: null,
      body: '{"username":"root","password":"turing"}'
    }).then(() => Date.now())
    const [resetAt, loginAt] = await Promise.all([reset, login])
    expect(loginAt).toBeGreaterThanOrEqual(resetAt)
    expect(loginAt - t0).toBeGreaterThanOrEqual(300)
  })

  it('does not serialize the web UI outside /api/bmc', async () => {
    const b = (bmc = await startBmc({ resetDelayMs: 400 }))
    const reset = api(b, 'opt=set&type=reset&node=0')
    await new Promise((r) => setTimeout(r, 30))
    const t0 = Date.now()
    const page = await call(b, '/index.html', { auth: null })
    expect(page.status).toBe(200)
    expect(Date.now() - t0).toBeLessThan(300)
    await reset
  })

  it('answers a poll queued behind an upload with the state after it, then resumes normal polling', async () => {
    const b = (bmc = await startBmc({ usbDetectMs: 10, writeBytesPerSec: 500_000, verifyBytesPerSec: 500_000 }))
    const data = randomBytes(100_000)
    const handle = await startFlash(b, `node=0&file=a.img&length=${data.length}`)
    const up = upload(b, handle, data)
    await until(() => uploadStarted(b))
    const queued = await flashStatus(b)
    expect((await up).status).toBe(200)
    // The CRC read-back runs after the POST returned: the queued poll saw it (or already Done).
    expect(JSON.stringify(queued)).toMatch(/Transferring|Done/)
    expect((await pollFlash(b)).at(-1)).toMatchObject({ Done: [{}, data.length] })
  })
})

/** True once the emulator holds an upload POST (the lock is taken by it). */
function uploadStarted(b: BmcEmulator): boolean {
  return b.uploadsInProgress() > 0
}
