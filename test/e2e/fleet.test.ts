// A fleet in the lab, run the way the fleet templates run it: two cluster files in one folder
// (clusters/alpha.yaml on lab board 20, clusters/beta.yaml on lab board 21), `list` for the matrix,
// one deploy per cluster, then the daily drift: one leg per cluster, each followed by the template's
// issue step (its real bash against a local stand-in gh), and one fleet-wide drift with one table.
// One row changed in alpha's file → one issue, for alpha only. Boards 20 and 21: no other suite uses them.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { hostname } from 'node:os'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, type ActionRun } from '../../lab/action.js'
import { setupLabFleet, type FleetMember } from '../../lab/fleet.js'
import { startLab, type Lab } from '../../lab/lab.js'
import type { FleetEntry } from '../../src/core/fleet/list.js'
import { lockFile } from '../../src/core/lock/board-lock.js'
import { fakeGh } from '../workflows-templates/fake-gh.js'
import { runIssueStep } from '../workflows-templates/issue-step.js'
import { expectRun, findings } from './helpers-drift.js'

const ALPHA_BOARD = 20
const BETA_BOARD = 21
const TEMPLATE = 'turingpi-fleet-drift.yml'

let lab: Lab
let root: string
let members: FleetMember[]
let entries: FleetEntry[]
let gh: Awaited<ReturnType<typeof fakeGh>>
const member = (name: string) => members.find((m) => m.name === name)!
const action = (m: FleetMember, inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> =>
  runLabAction(lab, m.setup, inputs, undefined, { env })

/** One leg of the fleet drift matrix: the drift step, then the issue step on its output. */
async function driftLeg(entry: FleetEntry): Promise<ActionRun> {
  const r = await action(
    member(entry.name),
    { command: 'drift', config: entry.config, 'fail-on-drift': 'false' },
    { TURINGPI_CONCURRENCY_GROUP: entry.group }
  )
  if (r.outputs.drift !== undefined) {
    const step = await runIssueStep(
      TEMPLATE,
      { TITLE: `[drift] ${entry.name}`, CONFIG: entry.config, drift: r.outputs.drift },
      gh
    )
    expect(step.code).toBe(0)
  }
  return r
}

beforeAll(async () => {
  lab = await startLab({ boards: BETA_BOARD + 1, bootDelayMs: 100 })
  root = await mkdtemp(join(lab.dir, 'repo-'))
  members = await setupLabFleet(lab, root, [
    { name: 'alpha', board: ALPHA_BOARD },
    { name: 'beta', board: BETA_BOARD }
  ])
  gh = await fakeGh(await mkdtemp(join(lab.dir, 'gh-')))
}, 150_000)
afterAll(async () => {
  await lab?.stop()
})

describe('list, then one deploy per cluster', () => {
  let list: ActionRun
  let deploys: ActionRun[]
  beforeAll(async () => {
    list = await action(members[0]!, { command: 'list', config: 'clusters' })
    entries = JSON.parse(list.outputs.clusters ?? '[]') as FleetEntry[]
    deploys = []
    for (const e of entries) deploys.push(await action(member(e.name), { command: 'deploy', config: e.config }))
  }, 400_000)

  test("list gives the matrix: each cluster with its file, its board and that board's concurrency group", () => {
    expectRun(list, 0)
    expect(entries).toEqual([
      {
        name: 'alpha',
        config: 'clusters/alpha.yaml',
        kind: 'k3s',
        boards: ['alpha-board'],
        group: 'turingpi-board-alpha-board'
      },
      {
        name: 'beta',
        config: 'clusters/beta.yaml',
        kind: 'k3s',
        boards: ['beta-board'],
        group: 'turingpi-board-beta-board'
      }
    ])
  })

  test('each cluster deploys on its own board', () => {
    deploys.forEach((d) => expectRun(d, 0))
    expect(deploys.map((d) => JSON.parse(d.outputs['node-status']!).map((n: { ip: string }) => n.ip))).toEqual([
      ['10.10.90.73', '10.10.90.74'],
      ['10.10.91.73', '10.10.91.74']
    ])
  })
})

describe("the daily drift after one row of alpha's file changed", () => {
  let legs: Record<string, ActionRun>
  let wide: ActionRun
  beforeAll(async () => {
    const file = join(root, 'clusters', 'alpha.yaml')
    await writeFile(file, (await readFile(file, 'utf8')).replace('pod_cidr: 10.244.0.0/16', 'pod_cidr: 10.42.0.0/16'))
    legs = {}
    for (const e of entries) legs[e.name] = await driftLeg(e)
    wide = await action(members[0]!, { command: 'drift', config: 'clusters', 'fail-on-drift': 'false' })
  }, 600_000)

  test("alpha's leg finds exactly that row; beta's leg is in sync", () => {
    expectRun(legs.alpha!, 0)
    expect(findings(legs.alpha!)).toEqual([
      expect.objectContaining({
        subject: 'alpha-cp',
        field: 'k3s.config.cluster-cidr',
        wanted: '10.42.0.0/16',
        found: '10.244.0.0/16',
        kind: 'drift'
      })
    ])
    expectRun(legs.beta!, 0)
    expect(findings(legs.beta!)).toEqual([])
  })

  test('the issue steps open one issue, for alpha only', async () => {
    expect((await gh.issues()).map((i) => [i.title, i.state, i.labels])).toEqual([['[drift] alpha', 'open', ['drift']]])
  })

  test('the fleet-wide drift writes one table with a row per cluster and names alpha as drifted', () => {
    expectRun(wide, 0)
    expect(JSON.parse(wide.outputs.drifted!)).toEqual(['alpha'])
    expect(wide.summary).toContain('Fleet: 2 cluster(s), 1 drifted, 0 not checked')
    expect(wide.summary).toMatch(
      /<td>alpha<\/td><td>clusters\/alpha\.yaml<\/td><td>alpha-board<\/td><td>drift<\/td><td>1<\/td><td>0<\/td>/
    )
    expect(wide.summary).toMatch(
      /<td>beta<\/td><td>clusters\/beta\.yaml<\/td><td>beta-board<\/td><td>in-sync<\/td><td>0<\/td><td>0<\/td>/
    )
  })
})

describe('a drift leg that meets a running deploy of beta (its board lock held)', () => {
  let r: ActionRun
  beforeAll(async () => {
    // What a deploy holding beta's board looks like in state-dir: a live process (this test's) on this host.
    const lock = lockFile(member('beta').setup.stateDir, '10.10.91.70')
    await mkdir(join(lock, '..'), { recursive: true })
    await writeFile(
      lock,
      JSON.stringify({
        pid: process.pid,
        host: hostname(),
        runId: 'github run 77 attempt 1',
        startedAt: new Date().toISOString(),
        board: '10.10.91.70'
      })
    )
    r = await driftLeg(entries.find((e) => e.name === 'beta')!)
    await rm(lock)
  }, 300_000)

  test('reports "deploy in progress" for beta\'s board, not drift, and leaves the issues as they are', async () => {
    expect(r.code).toBe(1)
    expect(findings(r)).toEqual([
      expect.objectContaining({
        subject: 'beta-board',
        field: 'deploy in progress',
        kind: 'unreachable',
        found: expect.stringContaining('github run 77 attempt 1 holds the board')
      })
    ])
    expect((await gh.issues()).map((i) => i.title)).toEqual(['[drift] alpha'])
  })
})
