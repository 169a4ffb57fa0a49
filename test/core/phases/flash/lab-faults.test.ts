// The flash and boot phases through the real BMC client against the lab's BMC emulator (lab/bmc) over
// HTTPS with a pinned certificate, one fault at a time. Every failure must be a PhaseError naming the
// node, the phase, what was seen and how to resume; the re-run (same state dir) must converge without
// flashing again a node that already finished.
import { afterEach, describe, expect, test } from '@jest/globals'
import { readFile, writeFile } from 'node:fs/promises'
import { Agent, request } from 'node:https'
import type { Slot } from '../../../../src/adapters/bmc/types.js'
import { createBmcClient } from '../../../../src/adapters/bmc/client.js'
import { TpiError, PhaseError } from '../../../../src/core/errors.js'
import { resolveBaseImage } from '../../../../src/core/phases/flash/resolve-image.js'
import type { PhaseContext } from '../../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { basic, call } from '../../../lab/bmc/helpers.js'
import { diskOf, fastSleep, startLabBoard, type LabBoard, type LabBoardOptions } from './lab-board.js'

const NET = 91
let board: LabBoard | undefined
afterEach(async () => {
  await board?.stop()
  board = undefined
})

async function start(o: Partial<LabBoardOptions> = {}): Promise<LabBoard> {
  board = await startLabBoard({ net: NET, ...o })
  return board
}

const text = (ctx: PhaseContext): string => (ctx.reporter as MemoryReporter).text()

/**
 * Resolves once the emulator works on the given slot's image (write or CRC read-back pass: bytes_written
 * > 0 under Transferring). Polls as another BMC user would (Basic auth, its own keep-alive connection),
 * so it neither uses nor renews the client's session.
 */
async function whenWriting(b: LabBoard, slot: Slot, timeoutMs = 20_000): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false })
  const status = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = request(
        `${b.bmc.url}/api/bmc?opt=get&type=flash`,
        { agent, headers: { authorization: basic() } },
        (res) => {
          let body = ''
          res.on('data', (c: Buffer) => (body += c.toString()))
          res.on('end', () => resolve(body))
        }
      )
      req.on('error', reject)
      req.end()
    })
  const end = Date.now() + timeoutMs
  try {
    for (;;) {
      const text = await status()
      const t = (JSON.parse(text) as { Transferring?: { process_name: string; bytes_written: number } }).Transferring
      if (t && t.process_name === `Node ${slot} os install service` && t.bytes_written > 0) return
      if (Date.now() > end)
        throw new Error(`slot ${slot} was not being written within ${timeoutMs} ms (last status ${text})`)
      await new Promise((r) => setTimeout(r, 2))
    }
  } finally {
    agent.destroy()
  }
}

/** Runs a deploy and returns its PhaseError (fails the test when it succeeds or throws anything else). */
async function failingRun(b: LabBoard, ctx: PhaseContext, during?: Promise<unknown>): Promise<PhaseError> {
  const outcome = await b.run(ctx).then(
    () => undefined,
    (e: unknown) => e
  )
  await during
  if (!(outcome instanceof PhaseError))
    throw new Error(`expected a PhaseError, got ${outcome instanceof Error ? outcome.stack : String(outcome)}`)
  expect(outcome.message).toContain('To resume: re-run the workflow')
  return outcome
}

/** The re-run: converges, flashes only `expectFlash`, and every node ends flashed and booted with the image on its disk. */
async function convergingRerun(b: LabBoard, expectFlash: Slot[]): Promise<PhaseContext> {
  const flashedBefore = b.flashed.length
  const ctx = await b.context()
  await b.run(ctx)
  expect(b.flashed.slice(flashedBefore)).toEqual(expectFlash)
  const image = await readFile(b.image)
  for (const node of ctx.nodes) {
    expect(ctx.state.done(node.id, 'flash')?.fingerprint).toBe(b.sha256(image))
    expect(ctx.state.done(node.id, 'boot')).toBeDefined()
    expect(b.sha256(await diskOf(b, node.slot))).toBe(b.sha256(image))
  }
  // A third run changes nothing at all on the BMC.
  const uploads = b.uploads()
  const third = await b.context()
  await b.run(third)
  expect(b.uploads()).toBe(uploads)
  expect(b.flashed.length).toBe(flashedBefore + expectFlash.length)
  return ctx
}

describe('flash + boot against the lab BMC emulator', () => {
  test('token expiry mid-flash: the poll logs in again, the flash completes, nothing is uploaded twice', async () => {
    const b = await start({
      imageBytes: 1 << 20,
      bmc: { writeBytesPerSec: 4 * 2 ** 20, verifyBytesPerSec: 4 * 2 ** 20, tokenTtlMs: 60_000 }
    })
    const ctx = await b.context()
    const expired = whenWriting(b, 2).then(() => b.bmc.faults.expireTokens())
    await b.run(ctx)
    await expired
    // One fresh login per caller that met the 401 (cp's boot poll may overlap w1's flash poll).
    expect(b.logins()).toBeGreaterThanOrEqual(2)
    expect(b.logins()).toBeLessThanOrEqual(3)
    const unauthorized = b.bmc.requests.filter((r) => r.status === 401)
    expect(unauthorized.length).toBeGreaterThanOrEqual(1)
    expect(b.uploads()).toBe(3)
    expect(b.flashed).toEqual([1, 2, 3])
    expect(text(ctx)).toMatch(/session no longer valid \(token expired/)
    expect(text(ctx)).not.toContain(b.bmc.password)
    await convergingRerun(b, [])
  })

  test("a BMC restart during the third node's CRC read-back: that flash fails (the transfer is gone), the re-run logs in again and flashes only it", async () => {
    const b = await start({
      imageBytes: 1 << 20,
      bmc: { writeBytesPerSec: 8 * 2 ** 20, verifyBytesPerSec: 2 * 2 ** 20 }
    })
    const ctx = await b.context()
    let uploadsOfThird = 0
    b.bmc.events.on('flash-start', (slot: number) => void (slot === 3 && (uploadsOfThird = b.uploads() + 1)))
    const reloaded = (async () => {
      // In process (no request, so nothing queues behind the client's): wait for slot 3's read-back.
      while (!(
        uploadsOfThird &&
        b.uploads() >= uploadsOfThird &&
        b.bmc.uploadsInProgress() === 0 &&
        (b.bmc.flashBytesWritten() ?? 0) > 0
      ))
        await new Promise((r) => setTimeout(r, 2))
      b.bmc.reload()
    })()
    const e = await failingRun(b, ctx, reloaded)
    expect(e).toMatchObject({ phase: 'flash', node: 'w2' })
    expect(e.message).toMatch(
      /our transfer \(id \d+\) vanished from the BMC during the CRC read-back: the flash status is "Ready"\. The BMC restarted/
    )
    expect(b.flashed).toEqual([1, 2])
    expect(b.bmc.power(3)).toBe(false)
    expect(text(ctx)).toMatch(/session no longer valid \(token <session token> is not registered\); logging in again/)
    expect(b.bmc.requests.some((r) => r.status === 403)).toBe(false)
    await convergingRerun(b, [3])
  })

  test('5xx on idempotent calls is retried; a non-idempotent reset is not; a persistent 5xx fails naming node and call', async () => {
    const b = await start()
    b.bmc.faults.failNext('power', 503, 2)
    b.bmc.faults.failNext('uart', 502, 1)
    const ctx = await b.context()
    await b.run(ctx)
    // The first power calls of a run are the live-member probe's (read, then power on a blank node).
    const power = b.statuses((_p, q) => q.type === 'power')
    expect(power.slice(0, 3)).toEqual([503, 503, 200])
    expect(b.statuses((_p, q) => q.type === 'uart')[0]).toBe(502)
    expect(b.flashed).toEqual([1, 2, 3])

    // reset is not idempotent: a lost reply may hide a reset that happened, so exactly one request.
    const client = await createBmcClient({
      endpoint: b.bmc.url,
      username: 'root',
      password: b.bmc.password,
      fingerprint: b.bmc.fingerprint,
      insecure: false,
      sleep: fastSleep
    })
    b.bmc.faults.failNext('reset', 503, 1)
    const resetError = (await client.reset(1).catch((e: unknown) => e)) as TpiError
    expect(resetError).toMatchObject({ code: 'BmcRejected' })
    expect(b.statuses((_p, q) => q.type === 'reset')).toEqual([503])
    client.close()
  })

  test('a 5xx that outlasts the retries: clear error on that node, the re-run powers it on without reflashing', async () => {
    const b = await start()
    // cp flashes, then every power call fails: five attempts, then the error.
    b.bmc.events.once('flashed', () => b.bmc.faults.failNext('power', 500, 5))
    const first = await b.context()
    const e = await failingRun(b, first)
    expect(e).toMatchObject({ phase: 'flash', node: 'cp' })
    expect(e.message).toMatch(
      /^node cp: flash failed: flashed, but powering slot 1 on failed: .*power on slot 1 answered HTTP 500: .*injected fault.*\(after 5 attempts\)/
    )
    expect(b.flashed).toEqual([1]) // the board stops flashing after a failure
    const ctx = await convergingRerun(b, [2, 3])
    expect(text(ctx)).toMatch(/cp: not answering; powered on/)
  })

  test('dropped upload: not re-sent, the error says the upload broke, the re-run flashes it again', async () => {
    const b = await start({ imageBytes: 1 << 20 })
    b.bmc.events.once('flashed', () => b.bmc.faults.dropUpload(300 * 1024)) // the second node's upload drops
    const first = await b.context()
    const e = await failingRun(b, first)
    expect(e).toMatchObject({ phase: 'flash', node: 'w1' })
    expect(e.message).toMatch(
      /^node w1: flash failed: upload broke off: .*\/api\/bmc\/upload\/\d+.*never re-sent blindly/
    )
    expect(b.uploads()).toBe(2) // cp, and w1 once
    expect(b.flashed).toEqual([1])
    expect(first.state.done('cp', 'boot')).toBeDefined()
    expect(first.state.done('w1', 'flash')).toBeUndefined()
    await convergingRerun(b, [2, 3])
    expect(b.uploads()).toBe(4)
  })

  test('sha256 mismatch (the image changed on disk after it was hashed): clear error, the re-run re-hashes and converges', async () => {
    const b = await start()
    const first = await b.context()
    const hashed = await resolveBaseImage(first)
    const changed = await readFile(b.image)
    changed[1000] = changed[1000]! ^ 0xff
    await writeFile(b.image, changed)
    const e = await failingRun(b, first)
    expect(e).toMatchObject({ phase: 'flash', node: 'cp' })
    expect(e.message).toContain(
      `BMC reported "sha256 checksum failed. Expected: ${hashed.sha256}, got: ${b.sha256(changed)}"`
    )
    expect(e.message).toMatch(
      /the image file metal-arm64\.raw \(from metal-arm64\.raw\) is corrupt or truncated, or changed in transit/
    )
    expect(b.flashed).toEqual([])
    await convergingRerun(b, [1, 2, 3])
  })

  test('CRC read-back error on the second node: the first stays done, the re-run flashes only the rest', async () => {
    const b = await start()
    b.bmc.events.once('flashed', () => void (b.bmc.faults.flashError = 'crc'))
    const first = await b.context()
    const e = await failingRun(b, first)
    expect(e).toMatchObject({ phase: 'flash', node: 'w1' })
    expect(e.message).toMatch(
      /BMC reported "crc error\. expected 0x[0-9a-f]+, calculated 0x[0-9a-f]+" \(the eMMC read back differently/
    )
    b.bmc.faults.flashError = undefined
    await convergingRerun(b, [2, 3])
  })

  test("USB interface not found: names the slot's node and the likely cause; the re-run converges once the module is seated", async () => {
    const b = await start()
    b.bmc.faults.setUsbAbsent(2, true)
    const first = await b.context()
    const e = await failingRun(b, first)
    expect(e).toMatchObject({ phase: 'flash', node: 'w1' })
    expect(e.message).toMatch(
      /BMC reported "Compute module's USB interface not found or supported" \(the module did not enter flash mode/
    )
    // bmcd returns early and leaves the node on in USB flash mode (§8.3); the client cleans up.
    expect(e.message).toContain('Slot 2 was left powered off')
    expect(b.bmc.power(2)).toBe(false)
    expect(b.bmc.storedPower(2)).toBe(false)
    expect(JSON.parse((await call(b.bmc, '/api/bmc?opt=get&type=usb')).body).response[0].result[0]).toEqual({
      bus_type: 'Usb hub',
      mode: 'Device',
      node: 'Node 1',
      route: 'AlternativePort'
    })
    b.bmc.faults.setUsbAbsent(2, false)
    await convergingRerun(b, [2, 3])
  })

  test('a flash cancelled on the BMC by someone else: clear error, the re-run converges', async () => {
    const b = await start({
      imageBytes: 1 << 20,
      bmc: { writeBytesPerSec: 4 * 2 ** 20, verifyBytesPerSec: 4 * 2 ** 20 }
    })
    const first = await b.context()
    const cancelled = whenWriting(b, 2).then(() => call(b.bmc, '/api/bmc/upload/0/cancel'))
    const e = await failingRun(b, first, cancelled)
    expect(((await cancelled) as { status: number }).status).toBe(200)
    expect(e).toMatchObject({ phase: 'flash', node: 'w1' })
    expect(e.message).toMatch(/BMC reported "cancelled by user" \(someone or something cancelled the flash/)
    expect(b.flashed).toEqual([1])
    await convergingRerun(b, [2, 3])
  })

  test('a node that never boots: boot timeout naming the node with its last console lines; the re-run power-cycles it, no reflash', async () => {
    const b = await start()
    b.behaviour[2] = 'panics'
    b.behaviour[3] = 'silent'
    const first = await b.context()
    const e = await failingRun(b, first)
    expect(e).toMatchObject({ phase: 'boot', node: 'w1', code: 'BootTimeout' })
    expect(e.message).toMatch(
      /^node w1: boot failed: the Talos API on 10\.10\.88\.74:50000 did not answer within boot_timeout 1 s and slot 2's console shows no Talos maintenance\/ready line; last console lines:\n/
    )
    expect(e.message).toContain('Kernel panic - not syncing: VFS: Unable to mount root fs')
    expect(e.message).toMatch(/power-cycled/)
    expect(b.flashed).toEqual([1, 2, 3]) // boot failures do not stop the other nodes
    expect(first.state.done('cp', 'boot')).toBeDefined()
    expect(first.state.done('w2', 'boot')).toBeUndefined()
    expect(text(first)).toContain('w2: ') // the silent node was waited for too
    b.behaviour[2] = 'boots'
    b.behaviour[3] = 'boots'
    const ctx = await convergingRerun(b, [])
    expect(text(ctx)).toMatch(/w1: powered but not answering; reset/)
    expect(b.statuses((_p, q) => q.type === 'reset').length).toBe(2)
  })
})
