// A converged re-run of a 4-node Talos cluster, counted through the talosctl adapter: one call sees every
// node's applied config, nothing is rendered, compared by dry run, validated or health-checked again, the
// Image Factory is not asked; what it keeps between runs is sealed; and a node whose wanted config changed
// (a patch) or whose applied config was changed by hand still gets its apply, and only that node.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { parse, stringify } from 'yaml'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import type { Talosctl } from '../../../../src/adapters/talosctl/types.js'
import { runTalosctl } from '../../../../lab/talos/lib/index.mjs'
import { talosInstallPhase } from '../../../../src/core/kinds/talos/install-phase.js'
import { talosJoinPhase } from '../../../../src/core/kinds/talos/join-phase.js'
import { talosKind } from '../../../../src/core/kinds/talos/kind.js'
import { oneCpThreeWorkers, talosCluster } from './fixtures.js'
import { startTalosTestLab, type TalosTestLab } from './talos-lab.js'

const IPS = ['10.10.88.73', '10.10.88.74', '10.10.88.75', '10.10.88.76']
const cluster = talosCluster()
let lab: TalosTestLab

beforeAll(async () => {
  // Board 27: 9 is the stand-in test's (test/lab/talos/standin.test.ts); the two run side by side.
  lab = await startTalosTestLab({ board: 27, ips: IPS })
  await lab.powerOn()
  const first = await lab.context(cluster)
  await talosInstallPhase.run!(first)
  await talosJoinPhase.run!(first)
}, 180_000)
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

const applies = (calls: string[][]): (string | undefined)[] =>
  calls.filter((a) => verb(a) === 'apply-config' && !a.includes('--dry-run')).map(nodeOf)
const rendered = (calls: string[][]): string[] =>
  calls
    .filter((a) => verb(a) === 'gen config' && !a.includes('talosconfig'))
    .map((a) => a[a.indexOf('--output') + 1]!.split('/').pop()!)

describe('Talos converged re-run', () => {
  test('install and join make one talosctl call for all four nodes: no rendering, no dry run, no validation, no health wait, no kubeconfig fetch, no factory', async () => {
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
    // Every node's applied config in one call; the kubeconfig sealed by the first deploy (bootstrap).
    expect(calls.map((a) => [verb(a), nodeOf(a)])).toEqual([['get machineconfig', IPS.join(',')]])
    expect(lab.talos.factory.schematics.size).toBe(posts)
    expect(await readFile(ctx.outputs.kubeconfigPath!, 'utf8')).toContain('server: https://10.10.88.73:6443')
    expect((await stat(ctx.outputs.kubeconfigPath!)).mode & 0o777).toBe(0o600)
  }, 240_000)

  test('the talosconfig and kubeconfig kept between runs are sealed: state-dir holds no plaintext credential and no rendered config', async () => {
    const { ctx } = await counted()
    await talosInstallPhase.run!(ctx)
    const dir = ctx.state.dir
    const names = await readdir(dir)
    expect(names).toEqual(
      expect.arrayContaining(['talos-talosconfig.sealed', 'talos-kubeconfig.sealed', 'talos-rendered.json'])
    )
    for (const name of names) {
      const text = await readFile(join(dir, name), 'utf8')
      // Neither a PEM block (plain or base64), a machine config nor a talosconfig context sits in state-dir.
      expect(text).not.toMatch(/BEGIN|LS0tLS1CRUdJTi|machine:|contexts:|clusters:|client-key/)
      expect((await stat(join(dir, name))).mode & 0o077).toBe(0)
    }
  }, 240_000)

  test('a patch that changed for one node renders, compares and applies exactly that node; the join waits for health again', async () => {
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
    expect(rendered(calls)).toEqual(['talos-w2.yaml'])
    expect(applies(calls)).toEqual(['10.10.88.75'])
    expect(calls.filter((a) => verb(a) === 'validate').map((a) => a.at(-1))).toEqual([
      expect.stringMatching(/talos-w2\.yaml$/)
    ])
    await talosJoinPhase.run!(ctx)
    expect(calls.map(verb)).toContain('health')
    // Back to the file of the first deploy: talos-w2 again, and only it.
    const back = await counted()
    expect((await talosInstallPhase.run!(back.ctx)).summary).toMatch(/^talos-w2: apply/)
    expect(applies(back.calls)).toEqual(['10.10.88.75'])
  }, 240_000)

  test('a node whose applied config was changed by hand is seen and put back; the others are left alone', async () => {
    const first = await counted()
    await talosInstallPhase.run!(first.ctx)
    // Behind the action's back: an operator reads talos-w3's config and adds a label with talosctl.
    const ip = IPS[3]!
    const env = { env: { TPI_LAB_DIR: lab.dir }, cwd: lab.dir }
    const target = ['--talosconfig', first.ctx.outputs.talosconfigPath!, '--nodes', ip, '--endpoints', ip]
    const held = await runTalosctl(['get', 'machineconfig', '--output', 'yaml', ...target], env)
    const doc = (parse(held.stdout) as { spec: { machine: { nodeLabels?: Record<string, string> } } }).spec
    doc.machine.nodeLabels = { ...(doc.machine.nodeLabels ?? {}), 'by-hand': 'yes' }
    const file = join(lab.dir, 'by-hand.yaml')
    await writeFile(file, stringify(doc, { indent: 4 }), { mode: 0o600 })
    const byHand = await runTalosctl(['apply-config', ...target, '--file', file, '--mode', 'no-reboot'], env)
    expect(byHand).toMatchObject({ code: 0 })

    const { ctx, calls } = await counted()
    const install = await talosInstallPhase.run!(ctx)
    expect(install.changed).toBe(true)
    expect(install.summary).toMatch(/^talos-w3: apply/)
    expect(rendered(calls)).toEqual(['talos-w3.yaml'])
    expect(applies(calls)).toEqual([ip])
    const again = await counted()
    expect(await talosInstallPhase.run!(again.ctx)).toEqual({ changed: false, summary: '4 node(s) unchanged' })
    expect(again.calls.map(verb)).toEqual(['get machineconfig'])
  }, 240_000)
})
