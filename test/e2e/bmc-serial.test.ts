// The shipped bundle against a lab BMC that serves one request at a time like bmcd 2.3.7 (bmc-api.md
// §8.1), with its eMMC write rate throttled.
//
// Time scaling: the lab has no clock of its own, so uploads are made long relative to the client's own
// timeouts instead. On a board an upload lasts "over 5 minutes"; what that breaks is anything sent to the
// BMC beside it: the client's 15 s reply timeout with 4 retries gives up after about 80 s. Here one upload
// lasts over 60 s = 4 × that reply timeout, so a single status poll or UART read during the upload would
// have timed out. The pipeline case uses 10 s uploads with a boot_timeout of 6 s: every node must be seen
// booted while the BMC is busy with the next node's upload (and cannot answer a UART read). (boot_timeout
// also bounds the Talos install's reboot, polled every 3 s: 6 s leaves room for a loaded CI machine.)
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, type ActionRun } from '../../lab/action.js'
import type { BmcEmulator } from '../../lab/bmc/index.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { onBoard, setPower } from './helpers-drift.js'

/** Lab board of this file: no other test file starts nodes there. */
const B = 14
const FILE = 'examples/talos-cluster.yaml'
/** What the lab's Talos image decompresses to on the eMMC (the throttle counts written bytes). */
const DISK_BYTES = 24 * 2 ** 20
/** Shorter than one upload of the pipeline case. */
const BOOT_TIMEOUT_S = 6

type Timeline = Record<string, number>

/** When each slot's flash started / ended and when it was powered on to boot (not the flash's USB boot). */
function record(bmc: BmcEmulator): Timeline {
  const t: Timeline = {}
  bmc.events.on('power', (slot: number, on: boolean, info: { usbBoot: boolean }) => {
    if (on && !info.usbBoot) t[`boot ${slot}`] ??= Date.now()
  })
  bmc.events.on('flash-start', (slot: number) => void (t[`flash ${slot}`] = Date.now()))
  bmc.events.on('flashed', (slot: number) => void (t[`flashed ${slot}`] = Date.now()))
  return t
}

/** A failed run's error annotations first (a CI log that keeps only the start of a diff still shows them). */
const ok = (run: ActionRun) => ({
  code: run.code,
  tail: run.code ? [...run.log.split('\n').filter((l) => l.startsWith('::error')), run.log.slice(-2000)].join('\n') : ''
})

describe('the BMC busy with uploads', () => {
  let lab: Lab
  let bmc: BmcEmulator
  beforeAll(async () => {
    lab = await startLab({ boards: B + 1, bootDelayMs: 300 })
    bmc = lab.boards[B]!.bmc as unknown as BmcEmulator
  }, 150_000)
  afterAll(async () => {
    await lab?.stop()
  })

  test('four nodes with a boot_timeout shorter than one upload: each is flashed and booted while the next one uploads', async () => {
    const setup = await onBoard(lab, FILE, B, { boot_timeout: BOOT_TIMEOUT_S })
    const t = record(bmc)
    bmc.throttle({ writeBytesPerSec: DISK_BYTES / 10 }) // 10 s per upload
    const run = await runLabAction(lab, setup, { command: 'deploy' })
    expect(ok(run)).toEqual({ code: 0, tail: '' })
    expect((await stat(bmc.diskPath(1))).size).toBe(DISK_BYTES)
    for (const slot of [1, 2, 3, 4])
      expect(run.log).toMatch(
        new RegExp(
          `talos-(cp|w${slot - 1}): boot: changed — booted in \\d+ s \\(Talos API on 10\\.10\\.88\\.${72 + slot}:50000\\)`
        )
      )
    for (const slot of [1, 2, 3]) {
      // Node k powered on before node k+1's flash began, and that upload outlasted node k's boot_timeout:
      // the boot was seen (the run succeeded) while the BMC was busy with node k+1.
      expect(t[`boot ${slot}`]).toBeLessThanOrEqual(t[`flash ${slot + 1}`]!)
      expect(t[`flashed ${slot + 1}`]! - t[`boot ${slot}`]!).toBeGreaterThan(BOOT_TIMEOUT_S * 1000)
    }
    // The action never had a second request waiting at the BMC.
    expect(bmc.waitedRequests()).toBe(0)
  }, 300_000)

  test("one node whose upload lasts over 4 × the client's 15 s reply timeout is flashed, verified and booted", async () => {
    // A new one-node cluster on the same slot, with its own state dir. The slot still holds the
    // configured Talos of the test before, so the live-member guard asks for the explicit opt-in.
    const setup = await onBoard(lab, FILE, B, {
      workers: [],
      name: 'talos-one',
      longhorn_enabled: false,
      'addons.longhorn': false
    })
    await setPower(lab.boards[B]!.bmc, 1, false)
    await mkdir(join(lab.dir, 'state-one'), { recursive: true })
    const t = record(bmc)
    bmc.throttle({ writeBytesPerSec: DISK_BYTES / 62 })
    const run = await runLabAction(lab, setup, {
      command: 'deploy',
      'state-dir': join(lab.dir, 'state-one'),
      reflash: 'true',
      confirm: 'talos-one'
    })
    expect(ok(run)).toEqual({ code: 0, tail: '' })
    expect(t['flashed 1']! - t['flash 1']!).toBeGreaterThan(60_000)
    expect(run.log).toContain('talos-cp: writing done; verifying (CRC read-back)')
    expect(run.log).toMatch(/talos-cp: flash done in \d+ s/)
    expect(run.log).toMatch(/talos-cp: boot: changed — booted in \d+ s/)
    expect(bmc.waitedRequests()).toBe(0)
  }, 450_000)
})
