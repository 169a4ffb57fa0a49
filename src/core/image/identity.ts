// Per-node identity baked into a COPY of the Armbian image before flashing, so a node comes up with
// its hostname, static IP, the deploy key and a host key we generated (and can therefore pin):
//   /etc/hostname                         the hostname
//   /root/.ssh/authorized_keys  (0600)    the public half of the action's SSH key
//   /etc/ssh/ssh_host_ed25519_key (0600) + .pub (0644)   the generated host key
//   /root/.not_logged_in_yet              Armbian first-boot presets (PRESET_NET_*) for the static IP
// Written with `debugfs -w` into the ext4 root at its partition offset: no root, no loop device.
// The cached base image is never touched. The copy is sparse (`cp --sparse=always`, reflink when the
// filesystem can) so a mostly-empty 8 GiB image costs only its data; an .xz base is decompressed into
// the per-node file (one decompression per node instead of one shared .img: trades CPU for not keeping
// a second full-size copy in the cache). Check it: debugfs -R 'cat /etc/hostname' 'node.img?offset=N'.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { LocalExec } from '../deps.js'
import { TpiError } from '../errors.js'
import type { HostKey } from '../../adapters/ssh/host-key.js'
import { rootOffset } from './partition.js'

export interface NodeIdentity {
  hostname: string
  ip: string
  prefix: number
  gateway: string
  dns: string[]
  /** One authorized_keys line (public key). */
  authorizedKey: string
  hostKey: HostKey
}

export function netmask(prefix: number): string {
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 255).join('.')
}

/** The Armbian first-boot preset file: static IP on ethernet, no Wi-Fi, no interactive network step. */
export function armbianPresets(id: NodeIdentity): string {
  const q = (v: string): string => `"${v.replace(/["\\$`]/g, '')}"`
  return [
    `PRESET_NET_CHANGE_DEFAULTS=${q('1')}`,
    `PRESET_NET_ETHERNET_ENABLED=${q('1')}`,
    `PRESET_NET_WIFI_ENABLED=${q('0')}`,
    `PRESET_CONNECT_WIRELESS=${q('n')}`,
    `PRESET_NET_USE_STATIC=${q('1')}`,
    `PRESET_NET_STATIC_IP=${q(id.ip)}`,
    `PRESET_NET_STATIC_MASK=${q(netmask(id.prefix))}`,
    `PRESET_NET_STATIC_GATEWAY=${q(id.gateway)}`,
    `PRESET_NET_STATIC_DNS=${q((id.dns.length ? id.dns : [id.gateway]).join(' '))}`,
    ''
  ].join('\n')
}

interface Injected {
  path: string
  content: string
  mode: number
}

export function identityFiles(id: NodeIdentity): Injected[] {
  return [
    { path: '/etc/hostname', content: `${id.hostname}\n`, mode: 0o100644 },
    { path: '/root/.ssh/authorized_keys', content: `${id.authorizedKey.trim()}\n`, mode: 0o100600 },
    { path: '/etc/ssh/ssh_host_ed25519_key', content: id.hostKey.privateKey, mode: 0o100600 },
    { path: '/etc/ssh/ssh_host_ed25519_key.pub', content: `${id.hostKey.publicKey}\n`, mode: 0o100644 },
    { path: '/root/.not_logged_in_yet', content: armbianPresets(id), mode: 0o100644 }
  ]
}

/** The debugfs script: make the folders, replace each file, set mode and root ownership. */
export function debugfsScript(files: { path: string; local: string; mode: number }[]): string {
  const lines = ['mkdir /root', 'mkdir /root/.ssh', 'sif /root/.ssh mode 040700', 'mkdir /etc', 'mkdir /etc/ssh']
  for (const f of files) {
    lines.push(
      `rm ${f.path}`,
      `write ${f.local} ${f.path}`,
      `sif ${f.path} mode 0${f.mode.toString(8)}`,
      `sif ${f.path} uid 0`,
      `sif ${f.path} gid 0`
    )
  }
  return lines.join('\n') + '\n'
}

/** Copies the base image (sparse; decompressing .xz) to target. */
export async function copyImage(exec: LocalExec, base: string, target: string): Promise<void> {
  const r = base.endsWith('.xz')
    ? await exec('sh', ['-c', 'xz -dc -- "$1" | cp --sparse=always /dev/stdin "$2"', 'sh', base, target])
    : await exec('cp', ['--sparse=always', '--reflink=auto', '--', base, target])
  if (r.code !== 0)
    throw new TpiError(
      'ImageCopyFailed',
      `copying ${base} to ${target} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`
    )
}

/**
 * Builds <target> from the base image with the node's identity injected, and reads every file back
 * (debugfs exits 0 even when a command failed). Returns the root filesystem offset.
 */
export async function buildNodeImage(
  exec: LocalExec,
  base: string,
  target: string,
  id: NodeIdentity
): Promise<{ offset: number }> {
  await copyImage(exec, base, target)
  const offset = await rootOffset(target)
  const device = `${target}?offset=${offset}`
  const work = await mkdtemp(join(tmpdir(), 'tpi-identity-'))
  try {
    const files = identityFiles(id)
    const staged = await Promise.all(
      files.map(async (f, i) => {
        const local = join(work, `f${i}`)
        await writeFile(local, f.content, { mode: 0o600 })
        return { path: f.path, local, mode: f.mode }
      })
    )
    const script = join(work, 'cmds')
    await writeFile(script, debugfsScript(staged), { mode: 0o600 })
    const r = await exec('debugfs', ['-w', '-f', script, device])
    if (r.code !== 0)
      throw new TpiError(
        'ImageInjectFailed',
        `debugfs on ${device} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 300)}`
      )
    for (const f of files) {
      const back = await exec('debugfs', ['-R', `cat ${f.path}`, device])
      if (back.stdout !== f.content) {
        throw new TpiError(
          'ImageInjectFailed',
          `${f.path} in ${target} reads back ${back.stdout.length} bytes, expected ${f.content.length}: ${back.stderr.trim().slice(-200)}`
        )
      }
    }
    return { offset }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}
