import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadClusterFile } from '../../../src/core/config/load.js'
import { boardGroup, groupMismatch } from '../../../src/core/fleet/boards.js'
import { listFleet } from '../../../src/core/fleet/list.js'

const root = join(import.meta.dirname, '..', '..', '..')
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

async function example(name: string, edit: (text: string) => string = (t) => t): Promise<string> {
  return edit(
    (await readFile(join(root, 'examples', name), 'utf8')).replace('$schema=../schema', '$schema=../../schema')
  )
}

async function fleet(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tpi-fleet-list-'))
  dirs.push(dir)
  await mkdir(join(dir, 'clusters'))
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, 'clusters', name), text)
  return dir
}

describe('listFleet', () => {
  it('lists each cluster of a folder with its file, boards and the concurrency group of those boards', async () => {
    const dir = await fleet({
      'edge.yaml': await example('k3s-cluster.yaml'),
      'lab.yaml': await example('two-boards.yaml')
    })
    expect(await listFleet('clusters', dir)).toEqual({
      clusters: [
        {
          name: 'production',
          config: 'clusters/edge.yaml',
          kind: 'k3s',
          boards: ['default'],
          group: 'turingpi-board-default'
        },
        {
          name: 'homelab',
          config: 'clusters/lab.yaml',
          kind: 'k3s',
          boards: ['rack-a', 'rack-b'],
          group: 'turingpi-board-rack-a+rack-b'
        }
      ],
      issues: []
    })
  })

  it('reports a broken file with its position and still lists the others', async () => {
    const dir = await fleet({ 'a.yaml': await example('k3s-cluster.yaml'), 'b.yaml': 'kind: k3s\nname: [\n' })
    const list = await listFleet('clusters/*.yaml', dir)
    expect(list.clusters.map((c) => c.name)).toEqual(['production'])
    expect(list.issues).toEqual([
      expect.objectContaining({
        file: 'clusters/b.yaml',
        severity: 'error',
        where: expect.objectContaining({ file: 'clusters/b.yaml' })
      })
    ])
  })

  it('refuses two files with one cluster name (artifacts, issues and state are keyed by it)', async () => {
    const text = await example('k3s-cluster.yaml')
    const dir = await fleet({ 'a.yaml': text, 'b.yaml': text.replace('10.10.88.70', '10.10.89.70') })
    const { issues } = await listFleet('clusters', dir)
    expect(issues.map((i) => [i.file, i.code, i.message])).toEqual([
      ['clusters/b.yaml', 'FleetDuplicateName', 'cluster name "production" is also used by clusters/a.yaml'],
      [
        'clusters/b.yaml',
        'FleetBoardName',
        'board "default" is 10.10.89.70 here but 10.10.88.70 in clusters/a.yaml: give each physical board its own name'
      ]
    ])
  })

  it('accepts two clusters that really share a board (same name, same BMC): they share its group', async () => {
    const text = await example('k3s-cluster.yaml')
    const dir = await fleet({ 'a.yaml': text, 'b.yaml': text.replace('name: production', 'name: staging') })
    const list = await listFleet('clusters', dir)
    expect(list.issues).toEqual([])
    expect(list.clusters.map((c) => c.group)).toEqual(['turingpi-board-default', 'turingpi-board-default'])
  })
})

describe('groupMismatch', () => {
  it('accepts the group naming exactly the cluster boards and explains any other', async () => {
    const { cluster } = await loadClusterFile(join(root, 'examples', 'two-boards.yaml'))
    expect(boardGroup(['rack-b', 'rack-a'])).toBe('turingpi-board-rack-a+rack-b')
    expect(groupMismatch('turingpi-board-rack-a+rack-b', cluster!)).toBeUndefined()
    expect(groupMismatch('turingpi-board-rack-a', cluster!)).toBe(
      'the job\'s concurrency group "turingpi-board-rack-a" does not match the boards of cluster homelab (rack-a, rack-b): use "turingpi-board-rack-a+rack-b", so that every job that touches these boards waits for the others'
    )
  })
})
