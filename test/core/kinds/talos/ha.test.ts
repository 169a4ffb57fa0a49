// Three control planes and a worker: a fresh HA deploy, then patch changes that reach only the nodes they
// target, applied without a reboot when Talos can take them live and with one only where needed.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { talosInstallPhase } from '../../../../src/core/kinds/talos/install-phase.js'
import { talosJoinPhase } from '../../../../src/core/kinds/talos/join-phase.js'
import { talosCluster } from './fixtures.js'
import { startTalosTestLab, type TalosTestLab } from './talos-lab.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'
import type { LocalExec } from '../../../../src/core/deps.js'

const IPS = ['10.10.88.73', '10.10.88.74', '10.10.88.75', '10.10.88.76']
const nodes = `control_plane:
  - { node: 1, ip: 10.10.88.73, hostname: talos-cp1 }
  - { node: 2, ip: 10.10.88.74, hostname: talos-cp2, patches: [patches/cp2.yaml] }
  - { node: 3, ip: 10.10.88.75, hostname: talos-cp3 }
workers:
  - { node: 4, ip: 10.10.88.76, hostname: talos-w1 }`
const cluster = talosCluster('patches: { worker: [patches/workers.yaml] }', nodes)
let lab: TalosTestLab

const boots = (): number[] => lab.uart.slice(1).map((u) => u.split('machine is running and ready').length - 1)

beforeAll(async () => {
  lab = await startTalosTestLab({ board: 6, ips: IPS })
  await mkdir(join(lab.dir, 'patches'))
  await writeFile(join(lab.dir, 'patches/workers.yaml'), 'machine:\n  sysctls:\n    vm.max_map_count: "262144"\n')
  await writeFile(join(lab.dir, 'patches/cp2.yaml'), '- op: add\n  path: /machine/nodeLabels/rack\n  value: r2\n')
  await lab.powerOn()
}, 30_000)
afterAll(() => lab.stop())

describe('Talos HA deploy with patch targeting', () => {
  test('three control planes: installed, bootstrapped once on the first, all healthy', async () => {
    const ctx = await lab.context(cluster)
    expect((await talosInstallPhase.run!(ctx)).summary).toBe(
      'talos-cp1: install; talos-cp2: install; talos-cp3: install; talos-w1: install'
    )
    const join = await talosJoinPhase.run!(ctx)
    expect(join.summary).toBe('bootstrapped, healthy: 4 node(s); kubeconfig fetched')
    expect(lab.uart[1]).toContain('bootstrap request received')
    expect(lab.uart[2]).not.toContain('bootstrap request received')
    expect(boots()).toEqual([1, 1, 1, 1])
  }, 40_000)

  test('a changed role patch reaches only the workers, live', async () => {
    await writeFile(join(lab.dir, 'patches/workers.yaml'), 'machine:\n  sysctls:\n    vm.max_map_count: "524288"\n')
    const ctx = await lab.context(cluster)
    const r = await talosInstallPhase.run!(ctx)
    expect(r).toEqual({ changed: true, summary: 'talos-w1: apply (no reboot)' })
    expect(ctx.reporter.text()).toContain('talos-w1: apply (no reboot) — config differs; applied without a reboot')
    expect(boots()).toEqual([1, 1, 1, 1])
  }, 30_000)

  test('a node patch that needs a reboot: drift and plan say so first, then only that node reboots', async () => {
    await writeFile(join(lab.dir, 'patches/cp2.yaml'), 'machine:\n  env:\n    HTTPS_PROXY: http://10.10.88.1:3128\n')
    const drift = await talosInstallPhase.drift!(await lab.context(cluster))
    expect(drift).toEqual([
      {
        subject: 'talos-cp2',
        field: 'talos.machineconfig',
        wanted: 'as rendered from the cluster file',
        found: expect.stringMatching(/^differs \(\d+ changed line\(s\); applying needs a reboot\)$/),
        kind: 'drift',
        fixedBy: ['install'],
        path: ['control_plane', 1]
      }
    ])
    const planned = await talosInstallPhase.plan(await lab.context(cluster))
    expect(planned.filter((s) => s.node).map((s) => [s.node, s.action, s.details?.reboot])).toEqual([
      ['talos-cp1', 'skip', 'no'],
      ['talos-cp2', 'change', 'yes'],
      ['talos-cp3', 'skip', 'no'],
      ['talos-w1', 'skip', 'no']
    ])
    const ctx = await lab.context(cluster)
    expect(await talosInstallPhase.run!(ctx)).toEqual({ changed: true, summary: 'talos-cp2: apply (reboot)' })
    expect(boots()).toEqual([1, 2, 1, 1])
    // Back up and healthy after its reboot.
    expect((await talosJoinPhase.run!(await lab.context(cluster))).changed).toBe(false)
  }, 40_000)

  test('a differing node whose dry run talosctl refuses is "could not check", with talosctl\'s own reason', async () => {
    // Its label changed in the file, so what it holds differs and only its dry run can say how.
    const relabelled = talosCluster(
      'patches: { worker: [patches/workers.yaml] }',
      nodes.replace('hostname: talos-w1 }', 'hostname: talos-w1, labels: { zone: z } }')
    )
    const ctx = await lab.context(relabelled)
    const real = ctx.deps.exec
    const exec: LocalExec = (file, args, options) =>
      args.includes('--dry-run') && args.includes('10.10.88.76')
        ? Promise.resolve({
            stdout: '',
            stderr: 'applying config\nrpc error: code = Unavailable desc = connection refused\n',
            code: 1
          })
        : real(file, args, options)
    ctx.deps = { ...ctx.deps, ...plainAdapters(exec), exec }
    expect(await talosInstallPhase.drift!(ctx)).toEqual([
      {
        subject: 'talos-w1',
        field: 'talos.machineconfig',
        wanted: 'compared with the cluster file',
        found: 'dry run failed (exit 1: rpc error: code = Unavailable desc = connection refused)',
        kind: 'unreachable',
        fixedBy: [],
        path: ['workers', 0]
      }
    ])
  }, 30_000)

  test('nodes running another Talos than talos_version: one version row each, on the talos_version line, fixed by no deploy phase', async () => {
    const newer = talosCluster('talos_version: v1.9.1\npatches: { worker: [patches/workers.yaml] }', nodes)
    const rows = (await talosInstallPhase.drift!(await lab.context(newer))).filter((r) => r.field === 'talos.version')
    expect(rows).toEqual(
      ['talos-cp1', 'talos-cp2', 'talos-cp3', 'talos-w1'].map((subject) => ({
        subject,
        field: 'talos.version',
        wanted: 'v1.9.1',
        found:
          'v1.9.0 (upgrade v1.9.0 → v1.9.1 in place with talosctl upgrade, one node at a time as plan lists, or redeploy with reflash: true)',
        kind: 'drift',
        fixedBy: [],
        path: ['talos_version']
      }))
    )
  }, 30_000)
})
