import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
// @ts-expect-error lab modules are plain ESM JavaScript
import { readState, updateState } from '../../../lab/kube/store.mjs'
// @ts-expect-error lab modules are plain ESM JavaScript
import { upgradeKubectl } from '../../../lab/upgrade/kubectl-verbs.mjs'
// @ts-expect-error lab modules are plain ESM JavaScript
import { dropBudget, guardPod, setEtcdVoter } from '../../../lab/upgrade/faults.mjs'

type State = {
  objects: Record<
    string,
    {
      spec?: { unschedulable?: boolean; nodeName?: string }
      status?: { conditions?: { type: string; status: string }[] }
    }
  >
}
let dir: string
let stdout: string
let stderr: string

const node = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Node',
  metadata: { name },
  spec: {},
  status: { conditions: [{ type: 'Ready', status: 'True' }] }
})
const pod = (name: string, nodeName: string, owner?: string) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name,
    namespace: 'kube-system',
    labels: {},
    ...(owner ? { ownerReferences: [{ kind: owner, name: 'x' }] } : {})
  },
  spec: { nodeName },
  status: { phase: 'Running' }
})
const kubectl = (...args: string[]): Promise<number | undefined> => upgradeKubectl(dir, args)
const state = (): State => readState(dir) as State

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lab-upgrade-'))
  updateState(dir, (s: { objects: Record<string, unknown> }) => {
    for (const n of ['cp1', 'cp2']) s.objects[`/nodes//${n}`] = node(n)
    s.objects['/pods/kube-system/coredns-1'] = pod('coredns-1', 'cp1', 'ReplicaSet')
    s.objects['/pods/kube-system/svclb-1'] = pod('svclb-1', 'cp1', 'DaemonSet')
  })
  stdout = ''
  stderr = ''
  jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true))
  jest.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true))
})
afterEach(async () => {
  jest.restoreAllMocks()
  await rm(dir, { recursive: true, force: true })
})

describe('lab kubectl: cordon, drain, budgets', () => {
  it('cordons and uncordons with kubectl’s words, and says so when already done', async () => {
    expect(await kubectl('cordon', 'cp1')).toBe(0)
    expect(await kubectl('cordon', 'cp1')).toBe(0)
    expect(state().objects['/nodes//cp1'].spec?.unschedulable).toBe(true)
    expect(await kubectl('uncordon', 'cp1')).toBe(0)
    expect(stdout).toBe('node/cp1 cordoned\nnode/cp1 already cordoned\nnode/cp1 uncordoned\n')
    expect(await kubectl('cordon', 'nope')).toBe(1)
    expect(stderr).toBe('Error from server (NotFound): nodes "nope" not found\n')
  })

  it('drains: cordons, leaves DaemonSet pods, moves the others to a schedulable node', async () => {
    expect(await kubectl('drain', 'cp1', '--ignore-daemonsets', '--delete-emptydir-data', '--timeout=2s')).toBe(0)
    expect(stdout).toBe(
      'node/cp1 cordoned\nevicting pod kube-system/coredns-1\npod/coredns-1 evicted\nnode/cp1 drained\n'
    )
    expect(stderr).toBe('Warning: ignoring DaemonSet-managed Pods: kube-system/svclb-1\n')
    expect(state().objects['/pods/kube-system/coredns-1'].spec?.nodeName).toBe('cp2')
  })

  it('refuses DaemonSet pods without --ignore-daemonsets and pods without a controller without --force', async () => {
    updateState(dir, (s: { objects: Record<string, unknown> }) => {
      s.objects['/pods/kube-system/bare'] = pod('bare', 'cp1')
    })
    expect(await kubectl('drain', 'cp1', '--timeout=1s')).toBe(1)
    expect(stderr).toContain(
      'cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): kube-system/svclb-1'
    )
    expect(stderr).toContain(
      'cannot delete Pods that declare no controller (use --force to override): kube-system/bare'
    )
  })

  it('a budget with no disruption left blocks the drain until the time-out; the budget’s status says why', async () => {
    guardPod(dir, { node: 'cp1' })
    const started = Date.now()
    expect(await kubectl('drain', 'cp1', '--ignore-daemonsets', '--timeout=1s')).toBe(1)
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
    expect(stderr).toContain(
      'error when evicting pods/"web-0" -n "web" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.'
    )
    expect(stderr).toContain(
      'error: unable to drain node "cp1" due to error: [error when evicting pods/"web-0" -n "web": global timeout reached: 1s], continuing command...'
    )
    expect(state().objects['/pods/web/web-0'].spec?.nodeName).toBe('cp1')
    stdout = ''
    expect(await kubectl('get', 'pdb', '-A', '-o', 'json')).toBe(0)
    expect(JSON.parse(stdout).items[0]).toMatchObject({
      metadata: { name: 'web-pdb' },
      status: { currentHealthy: 1, desiredHealthy: 1, disruptionsAllowed: 0 }
    })
    dropBudget(dir)
    expect(await kubectl('drain', 'cp1', '--ignore-daemonsets', '--timeout=1s')).toBe(0)
  })

  it('keeps k3s’s EtcdIsVoter condition beside Ready', () => {
    setEtcdVoter(dir, 'cp1', false)
    expect(state().objects['/nodes//cp1'].status?.conditions).toEqual([
      { type: 'Ready', status: 'True' },
      expect.objectContaining({ type: 'EtcdIsVoter', status: 'False', reason: 'MemberIsLearner' })
    ])
  })

  it('leaves every other command to the stand-in', async () => {
    expect(await kubectl('get', 'nodes', '-o', 'json')).toBeUndefined()
  })
})
