import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalExec } from '../../../src/adapters/exec/local-exec.js'
import { fingerprintOf, generateHostKey } from '../../../src/adapters/ssh/host-key.js'
import { armbianPresets, buildNodeImage, netmask, type NodeIdentity } from '../../../src/core/image/identity.js'
import { rootOffset } from '../../../src/core/image/partition.js'

let dir: string
const exec = createLocalExec()

/** A 48 MiB sparse disk image with a boot partition and an ext4 root, like an Armbian image. */
function makeImage(path: string, label: 'dos' | 'gpt'): number {
  execFileSync('truncate', ['-s', '48M', path])
  execFileSync('sfdisk', ['-q', path], {
    input: `label: ${label}\nstart=2048, size=8192, type=${label === 'gpt' ? 'L' : '83'}\nstart=16384, type=${label === 'gpt' ? 'L' : '83'}\n`
  })
  const offset = 16384 * 512
  execFileSync('mke2fs', ['-q', '-t', 'ext4', '-E', `offset=${offset}`, path, '30M'])
  return offset
}

const debugfsCat = (image: string, offset: number, path: string): string =>
  execFileSync('debugfs', ['-R', `cat ${path}`, `${image}?offset=${offset}`], {
    stdio: ['ignore', 'pipe', 'ignore']
  }).toString()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'identity-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

const identity = (): NodeIdentity => ({
  hostname: 'rk1-a',
  ip: '10.10.88.73',
  prefix: 24,
  gateway: '10.10.88.1',
  dns: [],
  authorizedKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBnK1z2D9sOsLkGwW4d2zQm6Q2c6p7nQqfZ0Q5g6bS0p deploy',
  hostKey: generateHostKey('rk1-a')
})

describe('per-node Armbian image', () => {
  test('finds the ext4 root as the last ext partition (MBR and GPT)', async () => {
    for (const label of ['dos', 'gpt'] as const) {
      const img = join(dir, `base-${label}.img`)
      const offset = makeImage(img, label)
      expect(await rootOffset(img)).toBe(offset)
    }
  })

  test('injects hostname, key, host key and presets into a sparse copy; the base stays untouched', async () => {
    const base = join(dir, 'base.img')
    makeImage(base, 'dos')
    const before = createHash('sha256')
      .update(await readFile(base))
      .digest('hex')
    const target = join(dir, 'rk1-a.img')
    const id = identity()
    const { offset } = await buildNodeImage(exec, base, target, id)
    expect(debugfsCat(target, offset, '/etc/hostname')).toBe('rk1-a\n')
    expect(debugfsCat(target, offset, '/root/.ssh/authorized_keys')).toBe(`${id.authorizedKey}\n`)
    expect(debugfsCat(target, offset, '/etc/ssh/ssh_host_ed25519_key.pub')).toBe(`${id.hostKey.publicKey}\n`)
    expect(debugfsCat(target, offset, '/root/.not_logged_in_yet')).toContain('PRESET_NET_STATIC_IP="10.10.88.73"')
    const st = execFileSync('debugfs', ['-R', 'stat /root/.ssh/authorized_keys', `${target}?offset=${offset}`], {
      stdio: ['ignore', 'pipe', 'ignore']
    }).toString()
    expect(st).toMatch(/Mode:\s+0600/)
    expect(st).toMatch(/User:\s+0\s+Group:\s+0/)
    expect(
      createHash('sha256')
        .update(await readFile(base))
        .digest('hex')
    ).toBe(before)
    const s = await stat(target)
    expect(s.blocks * 512).toBeLessThan(s.size / 2)
  })

  test('decompresses an .xz base into the per-node file', async () => {
    const base = join(dir, 'xzbase.img')
    makeImage(base, 'gpt')
    execFileSync('xz', ['-0', '-k', '-T1', base])
    const target = join(dir, 'from-xz.img')
    const { offset } = await buildNodeImage(exec, `${base}.xz`, target, identity())
    expect(debugfsCat(target, offset, '/etc/hostname')).toBe('rk1-a\n')
  })

  test('host key fingerprint matches ssh-keygen -lf', async () => {
    const key = generateHostKey('x')
    expect(key.privateKey).toContain(['BEGIN', 'OPENSSH', 'PRIVATE KEY'].join(' '))
    const pub = join(dir, 'k.pub')
    await import('node:fs/promises').then((fs) => fs.writeFile(pub, key.publicKey + '\n'))
    const out = execFileSync('ssh-keygen', ['-lf', pub]).toString()
    expect(out.split(' ')[1]).toBe(key.fingerprint)
    expect(fingerprintOf(key.publicKey)).toBe(key.fingerprint)
  })

  test('presets carry the Armbian static-IP variables', () => {
    expect(netmask(24)).toBe('255.255.255.0')
    expect(netmask(20)).toBe('255.255.240.0')
    const p = armbianPresets({ ...identity(), dns: ['1.1.1.1', '9.9.9.9'] })
    expect(p.split('\n')).toEqual(
      expect.arrayContaining([
        'PRESET_NET_USE_STATIC="1"',
        'PRESET_NET_STATIC_MASK="255.255.255.0"',
        'PRESET_NET_STATIC_GATEWAY="10.10.88.1"',
        'PRESET_NET_STATIC_DNS="1.1.1.1 9.9.9.9"'
      ])
    )
  })
})
