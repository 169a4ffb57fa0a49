// The live-member rule through the shipped bundle (dist/) on the lab, board 13 (127.10.13.x): a K3s
// server and a worker deployed onto blank nodes (no confirm needed), then the worker powered off and its
// flash record deleted (a second runner, a wiped cache): a deploy without confirm leaves it untouched
// and says why; with reflash: true and confirm it is reflashed and rejoins.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { annotations, expectRun, onBoard, setPower } from './helpers-drift.js'
import { kubectlGet } from './helpers-k3s.js'

/** Lab board of this suite: no other test file starts nodes on board 13. */
const B = 13
const FILE = 'examples/k3s-cluster.yaml'
const KUBECONFIG = 'production-kubeconfig'
const WORKER_SLOT = 2
const SMALL = {
  control_plane: { node: 1, ip: '10.10.88.73', hostname: 'k3s-cp', has_nvme: false },
  workers: [{ node: WORKER_SLOT, ip: '10.10.88.74', hostname: 'k3s-w1', has_nvme: false }],
  addons: { metallb: false, traefik: false, longhorn: false, prometheus: false, portainer_agent: false },
  longhorn_enabled: false,
  npu_config: { install_rknn: false, install_rkllm: false, deploy_rkllama: false },
  cluster_timeout: 60
}

let lab: Lab
let setup: LabActionSetup
let first: ActionRun
const errors = (r: ActionRun): string[] =>
  annotations(r)
    .filter((a) => a.level === 'error')
    .map((a) => a.message)
const flashes = (r: ActionRun): string[] => r.log.match(/^\S+: flashing /gm) ?? []

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  setup = await onBoard(lab, FILE, B, SMALL)
  first = await runLabAction(lab, setup, { command: 'deploy' })
}, 300_000)
afterAll(async () => {
  await lab?.stop()
})

test('a first deploy onto blank nodes needs no confirm: each is seen booting nothing, then flashed', () => {
  expectRun(first, 0)
  expect(first.log).toMatch(
    /k3s-w1: no flash record and not answering; powered on to see whether it boots an installed system/
  )
  expect(flashes(first).sort()).toEqual(['k3s-cp: flashing ', 'k3s-w1: flashing '])
})

describe('the joined worker powered off and its flash record deleted', () => {
  let refused: ActionRun
  let diskBefore: { mtimeMs: number; size: number }
  beforeAll(async () => {
    await setPower(lab.boards[B]!.bmc, WORKER_SLOT, false)
    await lab.node(B, WORKER_SLOT).waitFor('off', 20_000)
    const stateFile = join(setup.stateDir, 'production', 'state.json')
    const state = JSON.parse(await readFile(stateFile, 'utf8')) as { nodes: Record<string, unknown> }
    delete state.nodes['k3s-w1']
    await writeFile(stateFile, JSON.stringify(state))
    diskBefore = await stat(lab.boards[B]!.bmc.diskPath(WORKER_SLOT))
    refused = await runLabAction(lab, setup, { command: 'deploy' })
  }, 300_000)

  test('a deploy without confirm fails naming the node, the evidence and the two keys', () => {
    expect(refused.code).toBe(1)
    expect(errors(refused).join('\n')).toContain(
      'node k3s-w1: flash failed: reflash refused: k3s-w1 is a member of cluster "production" (the k3s API on k3s-cp lists Node "k3s-w1"); set reflash: true and confirm: production'
    )
  })

  test('leaves it untouched: not flashed, not powered on, its disk unchanged', async () => {
    expect(flashes(refused)).toEqual([])
    expect(lab.node(B, WORKER_SLOT).state).toBe('off')
    const after = await stat(lab.boards[B]!.bmc.diskPath(WORKER_SLOT))
    expect({ mtimeMs: after.mtimeMs, size: after.size }).toEqual({ mtimeMs: diskBefore.mtimeMs, size: diskBefore.size })
  })

  test('a second runner with an empty state-dir is refused the same way', async () => {
    const fresh = await mkdtemp(join(lab.dir, 'second-runner-state-'))
    const r = await runLabAction(lab, setup, { command: 'deploy', 'state-dir': fresh })
    expect(r.code).toBe(1)
    expect(errors(r).join('\n')).toContain(
      'node k3s-w1: flash failed: reflash refused: k3s-w1 is a member of cluster "production"'
    )
    expect(flashes(r)).toEqual([])
    expect(lab.node(B, WORKER_SLOT).state).toBe('off')
  }, 300_000)

  test('the plan says the same, in the summary and the plan output', async () => {
    const plan = await runLabAction(lab, setup, { command: 'plan' })
    expect(plan.summary).toContain('reflash refused: k3s-w1 is a member of cluster')
    expect(JSON.stringify(plan.outputs)).toContain('reflash refused: k3s-w1 is a member of cluster')
  }, 150_000)

  test('with reflash: true and confirm it is reflashed and rejoins', async () => {
    const before = (await kubectlGet(lab, setup, KUBECONFIG, ['node', 'k3s-w1'])).metadata.uid
    const r = await runLabAction(lab, setup, {
      command: 'deploy',
      reflash: 'true',
      confirm: 'production',
      nodes: 'k3s-w1'
    })
    expectRun(r, 0)
    expect(flashes(r)).toEqual(['k3s-w1: flashing '])
    const node = await kubectlGet(lab, setup, KUBECONFIG, ['node', 'k3s-w1'])
    expect(node.metadata.uid).not.toBe(before)
    expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True')
  }, 300_000)
})
