import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FileSource } from '../../../src/adapters/bmc/file-source.js'

let dir: string
let path: string
const data = randomBytes(5 * 64 * 1024 + 123) // not a multiple of the chunk size
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'file-source-'))
  path = join(dir, 'image.raw')
  await writeFile(path, data)
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

describe('FileSource', () => {
  test('as a plain Readable it yields the whole file in chunk-sized fresh buffers', async () => {
    const chunks: Buffer[] = []
    for await (const c of new FileSource(path, 64 * 1024)) chunks.push(c as Buffer)
    expect(Buffer.concat(chunks).equals(data)).toBe(true)
    expect(new Set(chunks.map((c) => c.buffer)).size).toBe(chunks.length)
  })

  test('reused() yields the file in order from three rotating buffers; a chunk stays intact until the one after the next is asked for', async () => {
    const source = new FileSource(path, 64 * 1024)
    const copies: Buffer[] = []
    const backing = new Set<ArrayBufferLike>()
    let previous: { chunk: Buffer; copy: Buffer } | undefined
    for await (const chunk of source.reused()) {
      const copy = Buffer.from(chunk)
      // meanwhile the next chunk is read ahead, into a third buffer: this one and the previous stay intact
      await new Promise((r) => setTimeout(r, 5))
      expect(chunk.equals(copy)).toBe(true)
      if (previous) expect(previous.chunk.equals(previous.copy)).toBe(true)
      backing.add(chunk.buffer)
      copies.push(copy)
      previous = { chunk, copy }
    }
    expect(Buffer.concat(copies).equals(data)).toBe(true)
    expect(copies.length).toBe(6)
    expect(backing.size).toBe(3)
    expect(source.destroyed).toBe(true)
  })

  test('cannot be read twice', async () => {
    const source = new FileSource(path)
    for await (const c of source.reused()) void c
    await expect(source.reused().next()).rejects.toThrow(/already being read/)
  })
})
