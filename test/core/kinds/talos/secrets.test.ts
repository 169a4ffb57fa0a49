// The secrets bundle is generated once and then always taken from the talos-secrets input (no copy is kept
// on the runner); an existing cluster without it stops instead of growing a second PKI. Plan never writes one.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { access, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { TALOSCTL_STANDIN } from '../../../../lab/talos/binary.js'
import { talosInstallPhase } from '../../../../src/core/kinds/talos/install-phase.js'
import { talosJoinPhase } from '../../../../src/core/kinds/talos/join-phase.js'
import { talosCluster } from './fixtures.js'
import { startTalosTestLab, type TalosTestLab } from './talos-lab.js'

const run = promisify(execFile)
const cluster = talosCluster(
  '',
  `control_plane: { node: 1, ip: 10.10.88.73, hostname: talos-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: talos-w1 }`
)
let lab: TalosTestLab
let bundle: string

async function newBundle(name: string): Promise<string> {
  const path = join(lab.dir, name)
  await run(process.execPath, [TALOSCTL_STANDIN, 'gen', 'secrets', '--output-file', path])
  return readFile(path, 'utf8')
}

beforeAll(async () => {
  lab = await startTalosTestLab({ board: 5, ips: ['10.10.88.73', '10.10.88.74'] })
  await lab.powerOn()
  bundle = await newBundle('given.yaml')
}, 30_000)
afterAll(() => lab.stop())

describe('Talos secrets bundle', () => {
  test('plan on a fresh cluster is read-only: it shows the installs and writes no bundle', async () => {
    const ctx = await lab.context(cluster)
    const steps = await talosInstallPhase.plan(ctx)
    expect(steps.filter((s) => s.node).map((s) => [s.node, s.action])).toEqual([
      ['talos-cp', 'run'],
      ['talos-w1', 'run']
    ])
    expect(steps[0]?.details?.schematic).toBe('df156b82096feda49406ac03aa44e0ace524b7efe4e1f0e144a1e1ae3930f1c0')
    expect(ctx.outputs.talosSecretsPath).toBeUndefined()
    await expect(access(join(ctx.state.dir, 'talos-secrets.yaml'))).rejects.toThrow()
    expect(lab.mirror.requests.some((r) => r.startsWith('POST'))).toBe(false)
  }, 20_000)

  test('a bundle given as input is used as is (nothing generated) and masked', async () => {
    const ctx = await lab.context(cluster, { talosSecrets: bundle })
    await talosInstallPhase.run!(ctx)
    await talosJoinPhase.run!(ctx)
    expect(ctx.outputs.talosSecretsPath).toBeUndefined()
    const token = (parse(bundle) as { trustdinfo: { token: string } }).trustdinfo.token
    expect(ctx.reporter.text()).not.toContain(token)
  }, 30_000)

  test('an existing cluster without the bundle stops with TalosSecretsMissing', async () => {
    const ctx = await lab.context(cluster, { stateDir: join(lab.dir, 'other-runner'), talosSecrets: '' })
    await expect(talosInstallPhase.run!(ctx)).rejects.toMatchObject({
      code: 'TalosSecretsMissing',
      message: expect.stringContaining('pass the bundle from the first deploy')
    })
    expect(ctx.outputs.talosSecretsPath).toBeUndefined()
  }, 20_000)

  test('a bundle left in state-dir by an earlier version is never read (another job could have planted it), only named', async () => {
    const ctx = await lab.context(cluster, { stateDir: join(lab.dir, 'legacy'), talosSecrets: '' })
    await writeFile(join(ctx.state.dir, 'talos-secrets.yaml'), bundle, { mode: 0o600 })
    await expect(talosInstallPhase.run!(ctx)).rejects.toMatchObject({ code: 'TalosSecretsMissing' })
    expect(ctx.reporter.text()).toContain(
      `state-dir holds a plaintext Talos secrets bundle left by an earlier version (${join(ctx.state.dir, 'talos-secrets.yaml')}); it is not read`
    )
  }, 20_000)

  test('a different bundle is refused by the configured nodes and named as the cause', async () => {
    const ctx = await lab.context(cluster, {
      stateDir: join(lab.dir, 'wrong'),
      talosSecrets: await newBundle('wrong.yaml')
    })
    await expect(talosInstallPhase.run!(ctx)).rejects.toMatchObject({
      code: 'TalosPkiMismatch',
      message: expect.stringContaining('not the one this node was configured with')
    })
  }, 20_000)

  test('a runner without state bootstraps again harmlessly: AlreadyExists counts as done', async () => {
    const ctx = await lab.context(cluster, { stateDir: join(lab.dir, 'fresh'), talosSecrets: bundle })
    const r = await talosJoinPhase.run!(ctx)
    expect(r.changed).toBe(false)
    expect(ctx.reporter.text()).toContain('etcd already bootstrapped on talos-cp')
  }, 20_000)

  test('health that does not pass within bootstrap_timeout names the failing check and node', async () => {
    const notReady = join(lab.nodes[1]!.rootDir, 'talos', 'not-ready')
    await writeFile(notReady, '')
    try {
      const slow = talosCluster(
        'bootstrap_timeout: 1',
        `control_plane: { node: 1, ip: 10.10.88.73, hostname: talos-cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: talos-w1 }`
      )
      const ctx = await lab.context(slow, { talosSecrets: bundle })
      await expect(talosJoinPhase.run!(ctx)).rejects.toMatchObject({
        code: 'TalosUnhealthy',
        message: expect.stringContaining(
          'cluster not healthy within bootstrap_timeout 1 s: waiting for all k8s nodes to report ready: some nodes are not ready: [talos-w1]'
        )
      })
    } finally {
      await rm(notReady)
    }
  }, 20_000)
})
