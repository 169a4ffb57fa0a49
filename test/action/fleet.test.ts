import { afterAll, describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../helpers/run-bundle.js'

const root = join(import.meta.dirname, '..', '..')
const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

function fleet(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'tpi-action-fleet-'))
  dirs.push(dir)
  mkdirSync(join(dir, 'clusters'))
  const example = (name: string) => readFileSync(join(root, 'examples', name), 'utf8')
  writeFileSync(join(dir, 'clusters', 'edge.yaml'), example('k3s-cluster.yaml'))
  writeFileSync(join(dir, 'clusters', 'lab.yaml'), example('two-boards.yaml'))
  // two-boards.yaml flashes a runner-local image; validate checks that it exists, so the runner has it.
  mkdirSync(join(dir, 'images'))
  writeFileSync(join(dir, 'images', 'Armbian_25.8.1_Turing-rk1_bookworm_vendor_6.1.115_minimal.img.xz'), '')
  for (const [name, text] of Object.entries(extra)) writeFileSync(join(dir, 'clusters', name), text)
  return dir
}

describe('the action with a fleet (a folder or glob of cluster files)', () => {
  it('lists the clusters as JSON for strategy.matrix, with boards and the per-board concurrency group', () => {
    const dir = fleet()
    const r = runAction('main', { command: 'list', config: 'clusters', 'working-directory': dir })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.outputs.clusters)).toEqual([
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

  it('fails the list on a broken file, with an annotation at its position', () => {
    const dir = fleet({ 'bad.yaml': 'kind: k3s\nname: Bad_Name\n' })
    const r = runAction('main', { command: 'list', config: 'clusters/*.yaml', 'working-directory': dir })
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(
      /::error file=[^,]*clusters\/bad\.yaml,line=1,[^:]*::armbian_image: armbian_image is required/
    )
    expect(JSON.parse(r.outputs.clusters).map((c: { name: string }) => c.name)).toEqual(['production', 'homelab'])
  })

  it('validates every cluster of a folder in one job and writes one summary table', () => {
    const dir = fleet()
    const r = runAction('main', { command: 'validate', config: 'clusters', 'working-directory': dir })
    expect(r.code).toBe(0)
    expect(r.summary).toContain('turingpi-cluster validate: Fleet: 2 cluster(s), 2 ok, 0 failed')
    expect(r.summary).toMatch(/<td>production<\/td><td>clusters\/edge\.yaml<\/td><td>default<\/td><td>ok<\/td><\/tr>/)
    expect(JSON.parse(r.outputs.fleet).map((c: { name: string; status: string }) => [c.name, c.status])).toEqual([
      ['production', 'ok'],
      ['homelab', 'ok']
    ])
    // The post step gets the run's temp dir to remove, as for one cluster.
    expect(r.state).toContain(join(r.dir, 'turingpi-cluster'))
  })

  it('refuses to deploy several clusters in one job', () => {
    const dir = fleet()
    const r = runAction('main', { command: 'deploy', config: 'clusters', 'working-directory': dir })
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      '::error::config clusters names 2 cluster files; deploy takes one: fan out with command: list and a matrix'
    )
  })

  it('refuses a deploy or drift whose concurrency group does not name the cluster boards, before any BMC call', () => {
    const dir = fleet()
    const r = runAction(
      'main',
      { command: 'drift', config: 'clusters/lab.yaml', 'working-directory': dir, 'bmc-password': 'pw' },
      { TURINGPI_CONCURRENCY_GROUP: 'turingpi-board-rack-a' }
    )
    expect(r.code).toBe(1)
    expect(r.stdout).toContain(
      '::error::the job\'s concurrency group "turingpi-board-rack-a" does not match the boards of cluster homelab (rack-a, rack-b): use "turingpi-board-rack-a+rack-b"'
    )
    expect(r.stdout).not.toContain('BMC')
  })
})
