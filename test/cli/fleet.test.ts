import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runFleetVerb, runList } from '../../src/cli/commands/fleet.js'
import type { Io } from '../../src/cli/commands/shared.js'
import { validate } from '../../src/cli/commands/validate.js'
import { deploy } from '../../src/cli/commands/deploy.js'

const root = join(import.meta.dirname, '..', '..')
const dirs: string[] = []
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))))

function io(): Io & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = []
  const stderr: string[] = []
  return { stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t), env: {} }
}

async function fleet(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tpi-cli-fleet-'))
  dirs.push(dir)
  await mkdir(join(dir, 'clusters'))
  await writeFile(
    join(dir, 'clusters', 'edge.yaml'),
    await readFile(join(root, 'examples', 'k3s-cluster.yaml'), 'utf8')
  )
  await writeFile(join(dir, 'clusters', 'lab.yaml'), await readFile(join(root, 'examples', 'two-boards.yaml'), 'utf8'))
  // two-boards.yaml flashes a runner-local image; validate checks that it exists, so the runner has it.
  await mkdir(join(dir, 'images'))
  await writeFile(join(dir, 'images', 'Armbian_25.8.1_Turing-rk1_bookworm_vendor_6.1.115_minimal.img.xz'), '')
  return dir
}

describe('turingpi-cluster list and fleet verbs', () => {
  it('list prints the clusters of the folder (clusters/ by default) as one JSON line', async () => {
    const dir = await fleet()
    const out = io()
    expect(await runList(['--working-directory', dir], out)).toBe(0)
    expect(JSON.parse(out.stdout.join(''))).toEqual([
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
    ])
  })

  it('validate over a glob runs once per file and ends with one table', async () => {
    const dir = await fleet()
    const out = io()
    expect(await runFleetVerb(validate, ['--config', 'clusters/*.yaml', '--working-directory', dir], out)).toBe(0)
    const table = out.stderr.at(-1)!
    expect(table).toMatch(/clusters\/edge\.yaml\s+0\s+valid/)
    expect(table).toMatch(/clusters\/lab\.yaml\s+0\s+valid/)
    expect(out.stdout).toEqual(['production: valid (k3s, 4 nodes)', 'homelab: valid (k3s, 8 nodes)'])
  })

  it('leaves a single file to the verb as before, and refuses to deploy a folder', async () => {
    const dir = await fleet()
    expect(
      await runFleetVerb(validate, ['--config', 'clusters/edge.yaml', '--working-directory', dir], io())
    ).toBeUndefined()
    const out = io()
    expect(await runFleetVerb(deploy, ['--config', 'clusters', '--working-directory', dir], out)).toBe(1)
    expect(out.stderr).toEqual(['error: --config clusters names 2 cluster files; deploy takes one'])
  })
})
