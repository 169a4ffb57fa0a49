// flashNode through the real HTTPS client against the lab BMC, which serves one request at a time like
// bmcd 2.3.7 (bmc-api.md §8.1). Real timers: the restart case measures how fast a vanished transfer is
// noticed, and the long-upload case that no reply timeout runs while the upload holds the BMC.
import { afterEach, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { startBmc, type BmcEmulator, type BmcEmulatorOptions } from '../../../../lab/bmc/index.js'
import { createBmcClient, type HttpBmcClient } from '../../../../src/adapters/bmc/client.js'
import { PhaseError } from '../../../../src/core/errors.js'
import { flashNode, type FlashJob } from '../../../../src/core/phases/flash/flash-node.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { api, startFlash, upload } from '../../../lab/bmc/helpers.js'
import { FileSource } from '../../../../src/adapters/bmc/file-source.js'

const openFile = (path: string, chunkBytes: number): FileSource => new FileSource(path, chunkBytes)

const HOST = '127.20.93.1'
let bmc: BmcEmulator | undefined
let client: HttpBmcClient | undefined
let dir: string | undefined
afterEach(async () => {
  client?.close()
  await bmc?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
  bmc = client = dir = undefined
})

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

async function setup(
  o: BmcEmulatorOptions,
  imageBytes: number,
  timeoutMs?: number
): Promise<{ b: BmcEmulator; c: HttpBmcClient; image: string }> {
  bmc = await startBmc({ host: HOST, usbDetectMs: 20, ...o })
  dir = await mkdtemp(join(tmpdir(), 'flash-serial-'))
  const image = join(dir, 'node.img')
  await writeFile(image, Buffer.alloc(imageBytes, 5))
  client = await createBmcClient({
    endpoint: bmc.url,
    username: 'root',
    password: bmc.password,
    fingerprint: bmc.fingerprint,
    insecure: false,
    timeoutMs
  })
  return { b: bmc, c: client, image }
}

const job = (c: HttpBmcClient, image: string, reporter: MemoryReporter, extra: Partial<FlashJob> = {}): FlashJob => ({
  node: 'rk1-c',
  slot: 3,
  bmc: c,
  imagePath: image,
  openFile,
  reporter,
  sleep: realSleep,
  timeoutMs: 60_000,
  pollMs: 200,
  progressEveryMs: 0,
  ...extra
})

describe('flashNode against a BMC that serves one request at a time', () => {
  test('an upload lasting 4× the reply timeout completes: nothing is polled during it, progress comes from the bytes sent', async () => {
    // 1 s reply timeout, 4 s upload: a poll beside the upload would time out (and be retried) 4 times.
    const { b, c, image } = await setup({ writeBytesPerSec: 256 * 1024, verifyBytesPerSec: 4 * 2 ** 20 }, 1 << 20, 1000)
    const reporter = new MemoryReporter()
    const t0 = Date.now()
    await flashNode(job(c, image, reporter))
    expect(Date.now() - t0).toBeGreaterThan(3800)
    expect(b.waitedRequests()).toBe(0) // never a second request while one was in flight
    expect(reporter.text()).toMatch(/rk1-c: write 100% \(1\/1 MiB\)/)
    expect(reporter.text()).toContain('writing done; verifying (CRC read-back)')
    expect(reporter.text()).toContain('rk1-c: flash done')
    expect(await readFile(b.diskPath(3))).toEqual(await readFile(image))
    // Between the flash start and the upload's reply nothing but the token-renewing status read and the upload.
    const types = b.requests.map((r) =>
      r.path.startsWith('/api/bmc/upload/') ? 'upload' : `${r.query.opt} ${r.query.type}`
    )
    const from = types.indexOf('set flash')
    expect(types.slice(from, from + 4)).toEqual(['set flash', 'get flash', 'upload', 'get flash'])
  }, 30_000)

  test('a BMC restart during the CRC read-back fails the flash within 10 s, naming the node, the "Ready" seen and how to resume', async () => {
    const { b, c, image } = await setup({ verifyBytesPerSec: 100 * 1024 }, 2 << 20)
    const reporter = new MemoryReporter()
    const flashing = flashNode(job(c, image, reporter)).then(
      () => undefined,
      (e: unknown) => e
    )
    // Restart once the upload has returned and the read-back runs.
    let restartedAt = 0
    while (!restartedAt) {
      await realSleep(20)
      if (
        b.requests.some((r) => r.path.startsWith('/api/bmc/upload/') && r.status === 200) &&
        (b.flashBytesWritten() ?? 0) > 0
      ) {
        b.reload()
        restartedAt = Date.now()
      }
    }
    const e = (await flashing) as PhaseError
    const took = Date.now() - restartedAt
    expect(took).toBeLessThan(10_000)
    expect(e).toBeInstanceOf(PhaseError)
    expect(e).toMatchObject({ phase: 'flash', node: 'rk1-c' })
    expect(e.message).toMatch(
      /^node rk1-c: flash failed: our transfer \(id \d+\) vanished from the BMC during the CRC read-back: the flash status is "Ready"\. The BMC restarted/
    )
    expect(e.message).toContain('Slot 3 was left powered off')
    expect(e.message).toContain('To resume: re-run the workflow')
    expect(b.power(3)).toBe(false)
    expect(b.storedPower(3)).toBe(false)
  }, 30_000)

  test('another transfer on the BMC during the read-back fails at once, naming the other transfer', async () => {
    const { b, c, image } = await setup({ verifyBytesPerSec: 100 * 1024 }, 1 << 20)
    const reporter = new MemoryReporter()
    const flashing = flashNode(job(c, image, reporter)).then(
      () => undefined,
      (e: unknown) => e
    )
    let other: number | undefined
    while (other === undefined) {
      await realSleep(20)
      if (
        b.requests.some((r) => r.path.startsWith('/api/bmc/upload/') && r.status === 200) &&
        (b.flashBytesWritten() ?? 0) > 0
      ) {
        other = await startFlash(b, 'node=0&file=other.img&length=4')
      }
    }
    const e = (await flashing) as PhaseError
    expect(e.message).toContain(`the flash status is Transferring id ${other} ("Node 1 os install service")`)
    expect(e.message).toMatch(/Someone started another flash on this BMC/)
    await upload(b, other, Buffer.from('abcd'))
  }, 30_000)

  test('a USB fault: the node is left off and the USB routing from before is restored (bmcd does neither, §8.3)', async () => {
    const { b, c, image } = await setup({}, 64 * 1024)
    expect((await api(b, 'opt=set&type=usb&node=1&mode=5')).status).toBe(200) // Device, BMC route, node 2
    b.faults.setUsbAbsent(3, true)
    const reporter = new MemoryReporter()
    const e = (await flashNode(job(c, image, reporter)).catch((x: unknown) => x)) as PhaseError
    expect(e.message).toMatch(
      /BMC reported "Compute module's USB interface not found or supported" \(the module did not enter flash mode/
    )
    expect(e.message).toContain('Slot 3 was left powered off')
    expect(b.power(3)).toBe(false)
    expect(b.storedPower(3)).toBe(false)
    const usb = JSON.parse((await api(b, 'opt=get&type=usb')).body).response[0].result[0]
    expect(usb).toEqual({ bus_type: 'Usb hub', mode: 'Device', node: 'Node 2', route: 'Bmc' })
    expect(reporter.text()).toContain('USB routing restored to device for slot 2 (bmc)')
  }, 30_000)

  test('a truncated .xz says the image file is corrupt or truncated and where it came from', async () => {
    const { b, c } = await setup({}, 1)
    const packed = Buffer.from(
      (
        await promisify(execFile)('sh', ['-c', 'head -c 300000 /dev/urandom | xz -c | base64 -w0'], {
          maxBuffer: 1 << 22
        })
      ).stdout,
      'base64'
    )
    const image = join(dir!, 'metal-arm64.raw.xz')
    await writeFile(image, packed.subarray(0, packed.length - 5000))
    const e = (await flashNode(
      job(c, image, new MemoryReporter(), { imageSource: 'https://mirror.example/metal-arm64.raw.xz' })
    ).catch((x: unknown) => x)) as PhaseError
    expect(e).toBeInstanceOf(PhaseError)
    expect(e.message).toContain('"More memory needed"')
    expect(e.message).toContain(
      'the image file metal-arm64.raw.xz (from https://mirror.example/metal-arm64.raw.xz) is corrupt or truncated'
    )
    expect(b.power(3)).toBe(false)
  }, 30_000)

  test('a sha256 mismatch says the file is corrupt or changed, and where it came from', async () => {
    const { c, image } = await setup({}, 32 * 1024)
    const wrong = createHash('sha256').update('other').digest('hex')
    const e = (await flashNode(
      job(c, image, new MemoryReporter(), { sha256: wrong, imageSource: 'images/node.img' })
    ).catch((x: unknown) => x)) as PhaseError
    expect(e.message).toMatch(
      /BMC reported "sha256 checksum failed\. Expected: [0-9a-f]{64}, got: [0-9a-f]{64}" \(the bytes the BMC received do not match the image's sha256: the image file node\.img \(from images\/node\.img\) is corrupt or truncated/
    )
  }, 30_000)
})
