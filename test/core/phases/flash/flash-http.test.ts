// flashNode through the real HTTPS client: the session token dies mid-flash (expiry or BMC reload) and
// the poll logs in again instead of failing the flash.
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createBmcClient } from '../../../../src/adapters/bmc/client.js'
import { flashNode } from '../../../../src/core/phases/flash/flash-node.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { startFakeBmc, type FakeBmc } from '../../../adapters/bmc/fake-bmc.js'
import { FileSource } from '../../../../src/adapters/bmc/file-source.js'

const openFile = (path: string, chunkBytes: number): FileSource => new FileSource(path, chunkBytes)

let bmc: FakeBmc
let dir: string
beforeEach(async () => {
  bmc = await startFakeBmc()
  dir = await mkdtemp(join(tmpdir(), 'flash-http-'))
})
afterEach(async () => {
  await bmc.close()
  await rm(dir, { recursive: true, force: true })
})

describe('flash over HTTPS', () => {
  test('token expiry mid-flash: the next poll logs in again and the flash completes', async () => {
    const image = join(dir, 'node.img')
    await writeFile(image, Buffer.alloc(256 * 1024, 3))
    const client = await createBmcClient({
      endpoint: bmc.url,
      username: 'root',
      password: bmc.password,
      fingerprint: bmc.fingerprint,
      insecure: false
    })
    bmc.flash = { Transferring: { id: 7, size: 1, bytes_written: 0 } }
    const calls: string[] = []
    bmc.onFlashPoll = () => {
      // the first poll after the image arrived, while the BMC still verifies
      if (bmc.uploadBody && !calls.length) {
        calls.push(...bmc.calls)
        bmc.wipeTokens()
      }
    }
    const reporter = new MemoryReporter()
    await flashNode({
      node: 'rk1-a',
      slot: 1,
      bmc: client,
      imagePath: image,
      openFile,
      reporter,
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
      timeoutMs: 5000,
      pollMs: 5
    })
    expect(calls.some((c) => c.startsWith('POST /api/bmc/upload/7'))).toBe(true)
    expect(bmc.logins).toBe(2)
    expect(bmc.calls.filter((c) => c.startsWith('POST /api/bmc/upload')).length).toBe(1)
    expect(reporter.text()).toContain('rk1-a: flash done')
    expect(reporter.text()).not.toContain(bmc.password)
  })

  test('a dropped upload is never re-POSTed; the flash is cancelled and the error says what broke', async () => {
    const image = join(dir, 'node.img')
    await writeFile(image, Buffer.alloc(2 * 2 ** 20, 3))
    const client = await createBmcClient({
      endpoint: bmc.url,
      username: 'root',
      password: bmc.password,
      fingerprint: bmc.fingerprint,
      insecure: false
    })
    bmc.dropUpload = true
    const error = (await flashNode({
      node: 'rk1-d',
      slot: 4,
      bmc: client,
      imagePath: image,
      openFile,
      reporter: new MemoryReporter(),
      sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
      timeoutMs: 5000,
      pollMs: 5
    }).catch((e: unknown) => e)) as Error
    expect(error.message).toMatch(
      /^node rk1-d: flash failed: upload broke off: .*POST \/api\/bmc\/upload\/7 failed: .*; the transfer was cancelled on the BMC/
    )
    expect(bmc.calls.filter((c) => c.startsWith('POST /api/bmc/upload')).length).toBe(1)
    expect(bmc.calls.some((c) => c.includes('/cancel'))).toBe(true)
    client.close()
  })
})
