import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, mkdir, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mustRun, runTool } from './run-tool.js'

export interface BuiltImage {
  path: string
  sha256: string
  bytes: number
}
export interface Partition {
  start: number
  size: number
  name?: string
  type: string
}

const SECTOR = 512
const FIRST_LBA = 2048

// Files under a root folder, keyed by absolute path inside the filesystem.
export type FsTree = Record<string, string | { content: string; mode?: number } | { dir: true }>

export async function materialise(dir: string, tree: FsTree): Promise<void> {
  for (const [p, v] of Object.entries(tree)) {
    const target = join(dir, p)
    if (typeof v === 'object' && 'dir' in v) {
      await mkdir(target, { recursive: true })
      continue
    }
    await mkdir(join(target, '..'), { recursive: true })
    const content = typeof v === 'string' ? v : v.content
    await writeFile(target, content, { mode: typeof v === 'string' ? 0o644 : (v.mode ?? 0o644) })
  }
}

export interface PartSpec {
  name: string
  sizeMiB?: number
  type?: string
  tree?: FsTree
}

// Writes a sparse GPT disk; partitions with a tree get an ext4 filesystem built in place
// (mke2fs -d at an offset: no root, no loop device). The last partition without sizeMiB takes the rest.
export async function buildDisk(path: string, sizeMiB: number, parts: PartSpec[]): Promise<Partition[]> {
  await writeFile(path, '')
  await truncate(path, sizeMiB * 1024 * 1024)
  const lines = parts.map(
    (p, i) =>
      `${i === 0 ? `start=${FIRST_LBA}, ` : ''}${p.sizeMiB ? `size=${p.sizeMiB}MiB, ` : ''}type=${p.type ?? 'L'}, name=${p.name}`
  )
  await mustRun('sfdisk', ['-q', path], `label: gpt\n${lines.join('\n')}\n`)
  const table = await readPartitions(path)
  const work = await mkdtemp(join(tmpdir(), 'lab-fs-'))
  try {
    for (const [i, spec] of parts.entries()) {
      if (!spec.tree) continue
      const part = table[i]!
      const root = join(work, String(i))
      await mkdir(root)
      await materialise(root, spec.tree)
      const blocks = Math.floor((part.size * SECTOR) / 1024)
      await mustRun('mke2fs', [
        '-q',
        '-F',
        '-t',
        'ext4',
        '-b',
        '1024',
        '-L',
        spec.name,
        '-d',
        root,
        '-E',
        `offset=${part.start * SECTOR},nodiscard`,
        path,
        String(blocks)
      ])
    }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
  return table
}

export async function readPartitions(path: string): Promise<Partition[]> {
  const r = await runTool('sfdisk', ['-J', path])
  if (r.code !== 0) return []
  try {
    const json = JSON.parse(r.stdout.toString()) as { partitiontable?: { partitions?: Partition[] } }
    return json.partitiontable?.partitions ?? []
  } catch {
    return []
  }
}

// The ext4 partition the node mounts as root: the one named rootfs, else the last one.
export async function rootPartition(path: string): Promise<Partition | undefined> {
  const parts = await readPartitions(path)
  return parts.find((p) => p.name === 'rootfs') ?? parts.at(-1)
}

export function fsSpec(diskPath: string, part: Partition): string {
  return `${diskPath}?offset=${part.start * SECTOR}`
}

// Reads one file from the disk's root filesystem; undefined when the disk, partition or file is absent.
export async function readImageFile(
  diskPath: string,
  pathInFs: string,
  partName?: string
): Promise<Buffer | undefined> {
  const parts = await readPartitions(diskPath)
  const part = partName
    ? parts.find((p) => p.name === partName)
    : (parts.find((p) => p.name === 'rootfs') ?? parts.at(-1))
  if (!part) return undefined
  const stat = await runTool('debugfs', ['-R', `stat ${pathInFs}`, fsSpec(diskPath, part)])
  if (stat.code !== 0 || !/Inode:/.test(stat.stdout.toString())) return undefined
  const r = await runTool('debugfs', ['-R', `cat ${pathInFs}`, fsSpec(diskPath, part)])
  return r.code === 0 ? r.stdout : undefined
}

// Writes files into the root filesystem of a built image (what the flash step does in production).
export async function writeImageFiles(
  diskPath: string,
  files: Record<string, { content: string | Buffer; mode: number }>
): Promise<void> {
  const part = await rootPartition(diskPath)
  if (!part) throw new Error(`disk ${diskPath} has no partition table, expected a built image`)
  const work = await mkdtemp(join(tmpdir(), 'lab-inject-'))
  try {
    const cmds: string[] = []
    let n = 0
    for (const [p, f] of Object.entries(files)) {
      const local = join(work, String(n++))
      await writeFile(local, f.content)
      const dir = p.slice(0, p.lastIndexOf('/')) || '/'
      cmds.push(`mkdir ${dir}`, `rm ${p}`, `write ${local} ${p}`, `sif ${p} mode 0${(0o100000 | f.mode).toString(8)}`)
    }
    await runTool('debugfs', ['-w', '-f', '-', fsSpec(diskPath, part)], cmds.join('\n') + '\n')
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}
