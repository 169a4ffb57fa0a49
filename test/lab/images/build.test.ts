import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { mkdtemp, rm, copyFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256File } from '../../../lab/images/disk.js'
import {
  buildArmbianImage,
  buildTalosImage,
  readImageFile,
  readPartitions,
  writeImageFiles,
  writeGarbageImage
} from '../../../lab/images/index.js'

describe('synthetic images', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'img-test-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('builds an Armbian disk with a GPT rootfs whose release file names the RK1 vendor branch', async () => {
    const img = await buildArmbianImage({ dir })
    expect(img.sha256).toMatch(/^[0-9a-f]{64}$/)
    const parts = await readPartitions(img.path)
    expect(parts.map((p) => p.name)).toEqual(['rootfs'])
    const release = (await readImageFile(img.path, '/etc/armbian-release'))?.toString()
    expect(release).toContain('BOARD=turing-rk1')
    expect(release).toContain('BRANCH=vendor')
    expect((await readImageFile(img.path, '/etc/hostname'))?.toString()).toBe('turing-rk1\n')
    expect(await readImageFile(img.path, '/root/.ssh/authorized_keys')).toBeUndefined()
  })

  it('injected identity files are read back from the image', async () => {
    const img = await buildArmbianImage({ dir, hostname: 'inject' })
    const copy = join(dir, 'node.img')
    await copyFile(img.path, copy)
    await writeImageFiles(copy, {
      '/etc/hostname': { content: 'node1\n', mode: 0o644 },
      '/root/.ssh/authorized_keys': { content: 'ssh-ed25519 AAAA x\n', mode: 0o600 }
    })
    expect((await readImageFile(copy, '/etc/hostname'))?.toString()).toBe('node1\n')
    expect((await readImageFile(copy, '/root/.ssh/authorized_keys'))?.toString()).toBe('ssh-ed25519 AAAA x\n')
  })

  it('builds a Talos disk whose META partition names version and schematic', async () => {
    const img = await buildTalosImage({ dir, version: 'v1.9.5', schematicId: 'abc' })
    expect((await readPartitions(img.path)).map((p) => p.name)).toEqual(['EFI', 'BIOS', 'BOOT', 'META'])
    const meta = JSON.parse((await readImageFile(img.path, '/lab-talos.json', 'META'))!.toString())
    expect(meta).toEqual({ os: 'talos', version: 'v1.9.5', schematicId: 'abc' })
  })

  it('reads nothing from a garbage disk', async () => {
    const p = join(dir, 'garbage.img')
    await writeGarbageImage(p)
    expect(await readImageFile(p, '/etc/hostname')).toBeUndefined()
  })
})

describe('images for the flash path and the bench', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'img-test2-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('compresses with xz on request and the sha256 is of the .xz bytes', async () => {
    const { createHash } = await import('node:crypto')
    const { readFile } = await import('node:fs/promises')
    const img = await buildArmbianImage({ dir, hostname: 'xz', xz: true })
    expect(img.path.endsWith('.img.xz')).toBe(true)
    const bytes = await readFile(img.path)
    expect(bytes.subarray(0, 6)).toEqual(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(img.sha256)
    expect(img.bytes).toBe(bytes.length)
  })

  it('makes a 2 GiB sparse bench image whose rootfs still reads back', async () => {
    const { buildBenchImage } = await import('../../../lab/images/index.js')
    const { stat } = await import('node:fs/promises')
    const img = await buildBenchImage(dir)
    expect(img.bytes).toBe(2048 * 1024 * 1024)
    expect((await stat(img.path)).blocks * 512).toBeLessThan(64 * 1024 * 1024)
    expect((await readImageFile(img.path, '/etc/hostname'))?.toString()).toBe('turing-rk1\n')
  })

  it('the bench image sha256 equals a hash of the whole file', async () => {
    const { buildBenchImage } = await import('../../../lab/images/index.js')
    const sub = join(dir, 'small')
    await (await import('node:fs/promises')).mkdir(sub)
    const img = await buildBenchImage(sub, 96)
    expect(img.sha256).toBe(await sha256File(img.path))
  })
})
