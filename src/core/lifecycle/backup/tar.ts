// A minimal POSIX ustar writer and reader for the backup bundle: regular files only, short relative names.
// A tar (not a zip or JSON) so a user restores by hand with `age -d backup.tar.age | tar x`.
import { TpiError } from '../../errors.js'

export interface TarEntry {
  /** Relative path, at most 100 bytes, no `..`, no leading `/`. */
  name: string
  data: Buffer
  mode?: number
}

const BLOCK = 512

function checkName(name: string): void {
  if (
    !name ||
    name.startsWith('/') ||
    name.split('/').some((p) => p === '..' || p === '') ||
    Buffer.byteLength(name) > 100
  )
    throw new TpiError(
      'BackupTar',
      `backup bundle: entry name ${JSON.stringify(name)} is not a short relative path (at most 100 bytes, no "..", no leading "/")`
    )
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0'
}

function header(entry: TarEntry, mtime: number): Buffer {
  const h = Buffer.alloc(BLOCK)
  h.write(entry.name, 0, 100, 'utf8')
  h.write(octal(entry.mode ?? 0o600, 8), 100, 'ascii')
  h.write(octal(0, 8), 108, 'ascii')
  h.write(octal(0, 8), 116, 'ascii')
  h.write(octal(entry.data.length, 12), 124, 'ascii')
  h.write(octal(mtime, 12), 136, 'ascii')
  h.write('        ', 148, 'ascii') // checksum counted as spaces
  h.write('0', 156, 'ascii')
  h.write('ustar\0', 257, 'ascii')
  h.write('00', 263, 'ascii')
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii')
  return h
}

/** The tar archive of these entries (two zero blocks at the end, as tar expects). */
export function packTar(entries: TarEntry[], mtime = Math.floor(Date.now() / 1000)): Buffer {
  const chunks: Buffer[] = []
  const seen = new Set<string>()
  for (const e of entries) {
    checkName(e.name)
    if (seen.has(e.name)) throw new TpiError('BackupTar', `backup bundle: entry ${e.name} twice`)
    seen.add(e.name)
    chunks.push(header(e, mtime), e.data, Buffer.alloc((BLOCK - (e.data.length % BLOCK)) % BLOCK))
  }
  chunks.push(Buffer.alloc(BLOCK * 2))
  return Buffer.concat(chunks)
}

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len)
  const end = raw.indexOf(0)
  return raw.subarray(0, end < 0 ? len : end).toString('utf8')
}

/** Entries of a ustar archive; anything but regular files with safe names, or a bad checksum, is refused. */
export function unpackTar(tar: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>()
  for (let at = 0; at + BLOCK <= tar.length;) {
    const h = tar.subarray(at, at + BLOCK)
    if (h.every((b) => b === 0)) return out
    let sum = 0
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!
    const name = field(h, 0, 100)
    if (parseInt(field(h, 148, 8).trim(), 8) !== sum)
      throw new TpiError(
        'BackupTar',
        `backup bundle: header of ${JSON.stringify(name)} at byte ${at} has a wrong checksum (damaged file?)`
      )
    const type = field(h, 156, 1) || '0'
    if (type !== '0')
      throw new TpiError(
        'BackupTar',
        `backup bundle: entry ${JSON.stringify(name)} is not a regular file (type ${type})`
      )
    checkName(name)
    const size = parseInt(field(h, 124, 12).trim(), 8)
    if (!Number.isFinite(size) || at + BLOCK + size > tar.length)
      throw new TpiError('BackupTar', `backup bundle: entry ${JSON.stringify(name)} is cut short`)
    if (out.has(name)) throw new TpiError('BackupTar', `backup bundle: entry ${name} twice`)
    out.set(name, Buffer.from(tar.subarray(at + BLOCK, at + BLOCK + size)))
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK
  }
  throw new TpiError('BackupTar', 'backup bundle: the archive has no end marker (cut short?)')
}
