// Finds the ext4 root filesystem inside a disk image by reading its partition table (MBR or GPT) in
// plain TypeScript, so no loop device or root is needed. The root is the LAST partition that carries an
// ext2/3/4 superblock (Armbian: one ext4 partition; images with a separate /boot put root last).
import { open } from 'node:fs/promises'

export interface Partition {
  index: number
  /** Byte offset of the partition start. */
  offset: number
  bytes: number
}

const SECTOR = 512

async function readAt(fd: Awaited<ReturnType<typeof open>>, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length)
  const { bytesRead } = await fd.read(buf, 0, length, position)
  return buf.subarray(0, bytesRead)
}

export async function listPartitions(imagePath: string): Promise<Partition[]> {
  const fd = await open(imagePath, 'r')
  try {
    const mbr = await readAt(fd, 0, SECTOR)
    if (mbr.length < SECTOR || mbr.readUInt16LE(510) !== 0xaa55) return []
    const entries: Partition[] = []
    for (let i = 0; i < 4; i++) {
      const e = 446 + i * 16
      const type = mbr[e + 4]
      const start = mbr.readUInt32LE(e + 8)
      const count = mbr.readUInt32LE(e + 12)
      if (type === 0xee) return await gpt(fd)
      if (type && count) entries.push({ index: i + 1, offset: start * SECTOR, bytes: count * SECTOR })
    }
    return entries
  } finally {
    await fd.close()
  }
}

async function gpt(fd: Awaited<ReturnType<typeof open>>): Promise<Partition[]> {
  const header = await readAt(fd, SECTOR, 92)
  if (header.subarray(0, 8).toString('latin1') !== 'EFI PART') return []
  const entriesLba = Number(header.readBigUInt64LE(72))
  const count = header.readUInt32LE(80)
  const size = header.readUInt32LE(84)
  const table = await readAt(fd, entriesLba * SECTOR, count * size)
  const parts: Partition[] = []
  for (let i = 0; i < count; i++) {
    const e = table.subarray(i * size, (i + 1) * size)
    if (e.length < 48 || e.subarray(0, 16).every((b) => b === 0)) continue
    const first = Number(e.readBigUInt64LE(32))
    const last = Number(e.readBigUInt64LE(40))
    parts.push({ index: i + 1, offset: first * SECTOR, bytes: (last - first + 1) * SECTOR })
  }
  return parts
}

/** True when an ext2/3/4 superblock (magic 0xEF53 at 1024+56) sits at offset. */
export async function isExt(imagePath: string, offset: number): Promise<boolean> {
  const fd = await open(imagePath, 'r')
  try {
    const b = await readAt(fd, offset + 1024 + 56, 2)
    return b.length === 2 && b.readUInt16LE(0) === 0xef53
  } finally {
    await fd.close()
  }
}

/** Byte offset of the root ext4 filesystem; throws naming the image when there is none. */
export async function rootOffset(imagePath: string): Promise<number> {
  const parts = await listPartitions(imagePath)
  for (const p of [...parts].reverse()) if (await isExt(imagePath, p.offset)) return p.offset
  if (!parts.length && (await isExt(imagePath, 0))) return 0
  throw new Error(
    `${imagePath}: no ext4 root partition found (partitions: ${parts.map((p) => `#${p.index}@${p.offset}`).join(', ') || 'none'})`
  )
}
