// Two runs sharing one state file: what each records survives the other's saves.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StateStore } from '../../../src/core/state/store.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'state-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const onDisk = async (
  name: string
): Promise<{
  nodes: Record<string, { hostKey?: string; phases: Record<string, unknown> }>
  cluster: Record<string, unknown>
}> => JSON.parse(await readFile(join(dir, name, 'state.json'), 'utf8'))

describe('StateStore', () => {
  test('a run that read the file before another saved does not write back its stale copy', async () => {
    const first = await StateStore.open(dir, 'c1')
    const waiting = await StateStore.open(dir, 'c1') // read before the first run recorded anything
    first.node('n1').hostKey = 'SHA256:first'
    await first.markDone('n1', 'flash', 'img-a')
    waiting.node('n2').hostKey = 'SHA256:second'
    await waiting.markDone('n2', 'flash', 'img-b')
    const disk = await onDisk('c1')
    expect(disk.nodes.n1?.hostKey).toBe('SHA256:first')
    expect(disk.nodes.n1?.phases.flash).toMatchObject({ fingerprint: 'img-a' })
    expect(disk.nodes.n2?.hostKey).toBe('SHA256:second')
  })

  test("reload (under the board lock) brings in what the other run recorded and keeps this run's changes", async () => {
    const a = await StateStore.open(dir, 'c2')
    const b = await StateStore.open(dir, 'c2')
    b.cluster().mine = 1
    a.node('n1').hostKey = 'SHA256:a'
    await a.save()
    await b.reload()
    expect(b.node('n1').hostKey).toBe('SHA256:a')
    expect(b.cluster().mine).toBe(1)
  })

  test("the same key changed by both: this run's value wins; a clear by this run stays a clear", async () => {
    const a = await StateStore.open(dir, 'c3')
    await a.markDone('n1', 'boot', 'x')
    const b = await StateStore.open(dir, 'c3')
    a.node('n1').hostKey = 'SHA256:a'
    await a.save()
    b.node('n1').hostKey = 'SHA256:b'
    await b.clear('n1', 'boot')
    const disk = await onDisk('c3')
    expect(disk.nodes.n1?.hostKey).toBe('SHA256:b')
    expect(disk.nodes.n1?.phases).toEqual({})
  })

  test('references the phases hold stay live across saves, and concurrent saves lose nothing', async () => {
    const s = await StateStore.open(dir, 'c4')
    const record = s.cluster()
    record.one = 1
    await Promise.all([s.markDone('a', 'flash'), s.markDone('b', 'flash'), s.markDone('c', 'flash')])
    record.two = 2
    await s.save()
    const disk = await onDisk('c4')
    expect(disk.cluster).toEqual({ one: 1, two: 2 })
    expect(Object.keys(disk.nodes).sort()).toEqual(['a', 'b', 'c'])
  })

  test('is written atomically with mode 0600 and leaves no temp file', async () => {
    const s = await StateStore.open(dir, 'c5')
    await s.markDone('n', 'flash')
    expect((await stat(join(dir, 'c5', 'state.json'))).mode & 0o777).toBe(0o600)
    expect(await readdir(join(dir, 'c5'))).toEqual(['state.json'])
  })
})
