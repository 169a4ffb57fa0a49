import { afterEach, describe, expect, it } from '@jest/globals'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PhaseError } from '../../../../src/core/errors.js'
import { k3sCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

let h: Harness
afterEach(async () => h?.stop())

const statuses = (ctx: { outputs: { addons: { name: string; status: string }[] } }) =>
  Object.fromEntries(ctx.outputs.addons.map((a) => [a.name, a.status]))
const obj = (key: string): any => h.lab.api.state().objects[key]

describe('addons phase against the lab API: disabled addons, refusals, values changes', () => {
  it('reports a disabled addon that is still installed, and uninstalls it only with addons.prune', async () => {
    h = await startHarness()
    await h.phase.run!(await h.context(k3sCluster('  metallb: true\n  traefik: true')))
    const keep = await h.context(k3sCluster('  metallb: true\n  nginx_ingress: true'))
    await h.phase.run!(keep)
    expect(statuses(keep)).toEqual({
      metallb: 'unchanged',
      traefik: 'disabled-but-installed',
      nginx_ingress: 'installed'
    })
    expect(keep.reporter.text()).toContain(
      'warning: addon traefik: traefik-40.0.0 is installed in traefik but traefik is disabled; set addons.prune: true to uninstall it'
    )
    expect(obj('apps/deployments/traefik/traefik')).toBeDefined()
    expect(await h.phase.drift!(await h.context(k3sCluster('  metallb: true\n  nginx_ingress: true')))).toEqual([
      {
        subject: 'traefik',
        kind: 'drift',
        path: ['addons', 'traefik'],
        field: 'addon.traefik.installed',
        wanted: 'not installed (disabled)',
        found: 'traefik-40.0.0',
        fixedBy: []
      }
    ])
    const prune = await h.context(k3sCluster('  metallb: true\n  nginx_ingress: true\n  prune: true'))
    await h.phase.run!(prune)
    expect(statuses(prune)).toEqual({ metallb: 'unchanged', traefik: 'removed', nginx_ingress: 'unchanged' })
    expect(obj('apps/deployments/traefik/traefik')).toBeUndefined()
    expect(
      h.lab
        .calls('helm')
        .filter((a) => a[0] === 'uninstall')
        .map((a) => a[1])
    ).toEqual(['traefik'])
  })

  it('refuses Longhorn with the nodes that lack open-iscsi, after installing the other addons', async () => {
    const asked: string[] = []
    h = await startHarness({
      packageProbe: async (_ctx, node, pkg) => (asked.push(`${node.id}:${pkg}`), node.id === 'rk1-a')
    })
    const cluster = k3sCluster('  metallb: true\n  traefik: true\n  longhorn: true')
    const planned = await h.phase.plan(await h.context(cluster))
    expect(planned.find((s) => s.details?.addon === 'longhorn')).toMatchObject({ action: 'blocked' })
    const ctx = await h.context(cluster)
    const error = await h.phase.run!(ctx).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PhaseError)
    expect((error as PhaseError).code).toBe('AddonRefused')
    expect((error as PhaseError).message).toBe(
      'addons failed: longhorn refused: Longhorn needs iSCSI, but open-iscsi is not installed on rk1-b; run the os-bootstrap phase (it installs open-iscsi) and re-run. To resume: fix the prerequisite and re-run; the other addons are done'
    )
    expect(asked).toContain('rk1-b:open-iscsi')
    expect(statuses(ctx)).toEqual({ metallb: 'installed', traefik: 'installed', longhorn: 'skipped' })
    expect(obj('apps/daemonsets/longhorn-system/longhorn-manager')).toBeUndefined()
  })

  it('drift asks only the nodes that answer, and a node it cannot ask is not reported as lacking open-iscsi', async () => {
    const asked: string[] = []
    h = await startHarness({
      packageProbe: async (_ctx, node, pkg) => {
        asked.push(`${node.id}:${pkg}`)
        if (node.id === 'rk1-b') throw new Error('node rk1-b: SSH host key changed')
        return true
      }
    })
    const cluster = k3sCluster('  metallb: true\n  longhorn: true')
    await h.phase.run!(await h.context(cluster)).catch(() => undefined)
    asked.length = 0
    const ctx = await h.context(cluster)
    // rk1-a is left out (drift found it unreachable); rk1-b answers the banner but refuses the probe.
    const rows = await h.phase.drift!({ ...ctx, nodes: ctx.nodes.filter((n) => n.id === 'rk1-b') })
    expect(rows.filter((r) => r.subject === 'longhorn' && r.found.startsWith('cannot install'))).toEqual([])
    expect(rows.filter((r) => r.kind === 'unreachable')).toEqual([])
    expect(asked).toEqual(['rk1-b:open-iscsi'])
  })

  it('upgrades only the addon whose repository values file changed', async () => {
    h = await startHarness()
    const cluster = k3sCluster('  metallb: true\n  traefik: true\n  values: { traefik: deploy/traefik.yaml }')
    const first = await h.context(cluster)
    mkdirSync(join(first.settings.workingDirectory, 'deploy'), { recursive: true })
    const file = join(first.settings.workingDirectory, 'deploy/traefik.yaml')
    writeFileSync(file, 'deployment:\n  replicas: 1\n')
    await h.phase.run!(first)
    writeFileSync(file, 'deployment:\n  replicas: 2\nservice:\n  annotations:\n    team: web\n')
    const second = await h.context(cluster)
    const plan = await h.phase.plan(second)
    expect(plan.find((s) => s.details?.addon === 'traefik')?.reason).toMatch(
      /^traefik: upgrade — values [0-9a-f]{12} → [0-9a-f]{12}$/
    )
    expect(await h.phase.drift!(await h.context(cluster))).toEqual([
      {
        subject: 'traefik',
        kind: 'drift',
        path: ['addons', 'traefik'],
        field: 'addon.traefik.values',
        wanted: expect.stringMatching(/^sha256 [0-9a-f]{12}$/),
        found: expect.stringMatching(/^sha256 [0-9a-f]{12}$/),
        fixedBy: ['addons']
      }
    ])
    await h.phase.run!(second)
    expect(statuses(second)).toEqual({ metallb: 'unchanged', traefik: 'upgraded' })
    expect(h.helmUpgrades()).toBe(3)
    const values = await h.lab.run('helm', ['get', 'values', 'traefik', '-n', 'traefik', '-o', 'json'])
    expect(JSON.parse(values.stdout)).toEqual({
      deployment: { replicas: 2 },
      service: { annotations: { 'metallb.io/loadBalancerIPs': '10.10.88.80', team: 'web' } }
    })
    expect(obj('/secrets/traefik/sh.helm.release.v1.traefik.v2').metadata.labels.status).toBe('deployed')
  })
})
