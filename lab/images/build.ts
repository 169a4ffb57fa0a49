import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { readFile, stat, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildDisk, sha256File, type BuiltImage, type FsTree } from './disk.js'
import { mustRun } from './run-tool.js'

export const ARMBIAN_KERNEL = '6.1.115-vendor-rk35xx'
export const ARMBIAN_VERSION = '25.8.1'

export function armbianTree(hostname: string): FsTree {
  return {
    '/etc/armbian-release': [
      'BOARD=turing-rk1',
      'BOARD_NAME="Turing RK1"',
      'BOARDFAMILY=rockchip-rk3588',
      `VERSION=${ARMBIAN_VERSION}`,
      'LINUXFAMILY=rk35xx',
      'ARCH=arm64',
      'IMAGE_TYPE=stable',
      'BOARD_TYPE=csc',
      'INITRD_ARCH=arm64',
      'KERNEL_IMAGE_TYPE=Image',
      'BRANCH=vendor',
      'DISTRIBUTION_CODENAME=bookworm',
      'DISTRIBUTION_STATUS=supported',
      ''
    ].join('\n'),
    '/etc/os-release': [
      'PRETTY_NAME="Armbian 25.8.1 bookworm"',
      'NAME="Debian GNU/Linux"',
      'VERSION_ID="12"',
      'VERSION="12 (bookworm)"',
      'VERSION_CODENAME=bookworm',
      'ID=debian',
      ''
    ].join('\n'),
    '/etc/hostname': `${hostname}\n`,
    '/etc/lab-kernel-release': `${ARMBIAN_KERNEL}\n`,
    '/boot/armbianEnv.txt': 'verbosity=1\nconsole=serial\noverlay_prefix=rockchip-rk3588\n',
    [`/boot/vmlinuz-${ARMBIAN_KERNEL}`]: 'lab kernel marker\n',
    '/lib/modules/6.1.115-vendor-rk35xx/kernel/drivers/rknpu/rknpu.ko': 'lab module marker\n',
    '/root/.ssh': { dir: true },
    '/etc/ssh': { dir: true },
    '/etc/systemd/system': { dir: true },
    '/var/log': { dir: true },
    '/usr/local/bin': { dir: true },
    '/opt': { dir: true },
    '/tmp': { dir: true }
  }
}

// Per-process cache: tests build the same small image many times.
const cacheDir = mkdtempSync(join(tmpdir(), 'lab-images-'))
process.once('exit', () => {
  spawnSync('rm', ['-rf', cacheDir])
})
const cache = new Map<string, Promise<BuiltImage>>()

async function describe(path: string): Promise<BuiltImage> {
  return { path, sha256: await sha256File(path), bytes: (await stat(path)).size }
}

export interface ArmbianImageOptions {
  dir?: string
  hostname?: string
  sizeMiB?: number
  xz?: boolean
}

// A small sparse GPT disk shaped like the Armbian RK1 image: rootfs ext4 with the release files.
export function buildArmbianImage(opts: ArmbianImageOptions = {}): Promise<BuiltImage> {
  const hostname = opts.hostname ?? 'turing-rk1'
  const sizeMiB = opts.sizeMiB ?? 32
  const key = `armbian:${hostname}:${sizeMiB}:${opts.xz ? 'xz' : 'raw'}:${opts.dir ?? ''}`
  let p = cache.get(key)
  if (!p) {
    p = (async () => {
      const path = join(
        opts.dir ?? cacheDir,
        `Armbian_${ARMBIAN_VERSION}_Turing-rk1_bookworm_vendor_${hostname}-${sizeMiB}.img`
      )
      await buildDisk(path, sizeMiB, [{ name: 'rootfs', tree: armbianTree(hostname) }])
      if (!opts.xz) return describe(path)
      await mustRun('xz', ['-f', '-T1', '-0', path])
      return describe(`${path}.xz`)
    })()
    cache.set(key, p)
    p.catch(() => cache.delete(key))
  }
  return p
}

export interface TalosImageOptions {
  dir?: string
  version: string
  schematicId?: string
}

export const DEFAULT_SCHEMATIC = '376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba'

// Talos-shaped disk: EFI, BIOS, BOOT, META and STATE-less layout; the META partition is ext4 here and holds
// lab-talos.json so the node knows which version and schematic it boots.
export function buildTalosImage(opts: TalosImageOptions): Promise<BuiltImage> {
  const schematicId = opts.schematicId ?? DEFAULT_SCHEMATIC
  const key = `talos:${opts.version}:${schematicId}:${opts.dir ?? ''}`
  let p = cache.get(key)
  if (!p) {
    p = (async () => {
      const path = join(opts.dir ?? cacheDir, `metal-arm64-${opts.version}-${schematicId.slice(0, 8)}.raw`)
      await buildDisk(path, 24, [
        { name: 'EFI', sizeMiB: 4, type: 'U' },
        { name: 'BIOS', sizeMiB: 1, type: '21686148-6449-6E6F-744E-656564454649' },
        { name: 'BOOT', sizeMiB: 4 },
        {
          name: 'META',
          tree: { '/lab-talos.json': JSON.stringify({ os: 'talos', version: opts.version, schematicId }) + '\n' }
        }
      ])
      return describe(path)
    })()
    cache.set(key, p)
    p.catch(() => cache.delete(key))
  }
  return p
}

// A 2 GiB sparse disk with an Armbian root at its start, for the flash bench (fast: only the fs is written).
export async function buildBenchImage(dir: string, sizeMiB = 2048): Promise<BuiltImage> {
  const path = join(dir, `bench-${sizeMiB}.img`)
  await buildDisk(path, 32, [{ name: 'rootfs', tree: armbianTree('turing-rk1') }])
  // Hash the written head from the file and the known-zero tail from memory: reading a 2 GiB sparse
  // file back costs several seconds, hashing zeros from one reused buffer much less.
  const h = createHash('sha256')
  h.update(await readFile(path))
  await truncate(path, sizeMiB * 1024 * 1024)
  const zeros = Buffer.alloc(4 * 1024 * 1024)
  for (let left = (sizeMiB - 32) * 1024 * 1024; left > 0; left -= zeros.length)
    h.update(left >= zeros.length ? zeros : zeros.subarray(0, left))
  return { path, sha256: h.digest('hex'), bytes: sizeMiB * 1024 * 1024 }
}

export async function writeGarbageImage(path: string, bytes = 1024 * 1024): Promise<void> {
  const buf = Buffer.alloc(bytes)
  for (let i = 0; i < bytes; i += 4) buf.writeUInt32LE((i * 2654435761) >>> 0, i)
  await writeFile(path, buf)
}
