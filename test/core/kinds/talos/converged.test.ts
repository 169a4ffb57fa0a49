// A converged re-run of a 4-node Talos cluster, counted through the talosctl adapter: what it asks each
// node, and what it no longer runs (validation of bytes already applied, health, a second kubeconfig, the
// Image Factory); and that a node whose config did change still gets its apply.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import type { Talosctl } from '../../../../src/adapters/talosctl/types.js'
import { talosInstallPhase } from '../../../../src/core/kinds/talos/install-phase.js'
import { talosJoinPhase } from '../../../../src/core/kinds/talos/join-phase.js'
import { talosKind } from '../../../../src/core/kinds/talos/kind.js'
import { oneCpThreeWorkers, talosCluster } from './fixtures.js'
import { startTalosTestLab, type TalosTestLab } from './talos-lab.js'

const IPS = ['10.10.88.73', '10.10.88.74', '10.10.88.75', '10.10.88.76']
const cluster = talosCluster()
let lab: TalosTestLab

beforeAll(async () => {
  lab = await startTalosTestLab({ board: 9, ips: IPS })
  await lab.powerOn()
  const first = await lab.context(cluster)
  await talosInstallPhase.run!(first)
  await talosJoinPhase.run!(first)
}, 60_000)
afterAll(() => lab.stop())

/** A run's context whose talosctl adapter records every argv it runs. */
async function counted(c = cluster): Promise<{ ctx: Awaited<ReturnType<TalosTestLab['context']>>; calls: string[][] }> {
  const ctx = await lab.context(c)
  const calls: string[][] = []
  const make = ctx.deps.talosctl
  ctx.deps = {
    ...ctx.deps,
    talosctl: (o): Talosctl => {
      const inner = make(o)
      return { ...inner, run: (args, options) => (calls.push(args), inner.run(args, options)) }
    }
  }
  return { ctx, calls }
}

const nodeOf = (args: string[]): string | undefined => args[args.indexOf('--nodes') + 1]
const verb = (args: string[]): string =>
  (args[0] === 'gen' || args[0] === 'get' ? args.slice(0, 2) : args.slice(0, 1)).join(' ')

describe('Talos converged re-run', () => {
  test('install and join make at most three talosctl calls per node and never validate, health-check or ask the factory again', async () => {
    const posts = lab.talos.factory.schematics.size
    const { ctx, calls } = await counted()
    // The lifecycle checks' kube access, earlier in the same run.
    const access = join(ctx.settings.tempDir, 'kube-access')
    await mkdir(access, { recursive: true })
    expect(await talosKind.readOnlyKubeconfig(ctx, access)).toBe(join(access, 'kubeconfig'))
    expect(await talosInstallPhase.run!(ctx)).toEqual({ changed: false, summary: '4 node(s) unchanged' })
    const joined = await talosJoinPhase.run!(ctx)
    expect(joined.changed).toBe(false)
    expect(joined.summary).toMatch(/^unchanged: 4 node\(s\)/)
    const perNode = new Map<string, string[]>()
    for (const args of calls.filter((a) => a.includes('--nodes')))
      perNode.set(nodeOf(args)!, [...(perNode.get(nodeOf(args)!) ?? []), verb(args)])
    // One observation and one comparison per node, plus the read-only kubeconfig from the first control plane.
    for (const ip of IPS.slice(1)) expect(perNode.get(ip)).toEqual(['get disks', 'apply-config'])
    expect(perNode.get(IPS[0])?.sort()).toEqual(['apply-config', 'get disks', 'kubeconfig'])
    // Rendering: one gen config per node and one talosconfig, once for the whole run.
    expect(calls.filter((a) => verb(a) === 'gen config')).toHaveLength(IPS.length + 1)
    expect(calls.map(verb)).not.toContain('validate')
    expect(calls.map(verb)).not.toContain('health')
    // Per node: observe, render, compare; for the cluster: the talosconfig and the kubeconfig.
    expect(calls.length).toBeLessThanOrEqual(3 * IPS.length + 2)
    expect(lab.talos.factory.schematics.size).toBe(posts)
    expect(ctx.outputs.kubeconfigPath).toBeDefined()
  }, 60_000)

  test('a node whose config changed is still compared, applied and validated, and the join waits for health again', async () => {
    const changed = talosCluster(
      '',
      oneCpThreeWorkers.replace(
        '{ node: 3, ip: 10.10.88.75, hostname: talos-w2, has_nvme: true }',
        '{ node: 3, ip: 10.10.88.75, hostname: talos-w2, has_nvme: true, labels: { zone: c } }'
      )
    )
    const { ctx, calls } = await counted(changed)
    const install = await talosInstallPhase.run!(ctx)
    expect(install.changed).toBe(true)
    expect(install.summary).toMatch(/^talos-w2: apply/)
    const applies = calls.filter((a) => verb(a) === 'apply-config' && !a.includes('--dry-run')).map(nodeOf)
    expect(applies).toEqual(['10.10.88.75'])
    expect(calls.filter((a) => verb(a) === 'validate').map((a) => a.at(-1))).toEqual([
      expect.stringMatching(/talos-w2\.yaml$/)
    ])
    await talosJoinPhase.run!(ctx)
    expect(calls.map(verb)).toContain('health')
  }, 90_000)
})
