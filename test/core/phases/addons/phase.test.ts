import { afterEach, describe, expect, it } from '@jest/globals'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PhaseError } from '../../../../src/core/errors.js'
import { k3sCluster, talosCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

const ALL = '  metallb: true\n  traefik: true\n  longhorn: true\n  prometheus: true\n  portainer_agent: true'
const ISCSI = ['open-iscsi', 'nfs-common', 'curl']

let h: Harness
afterEach(async () => h?.stop())

const statuses = (ctx: { outputs: { addons: { name: string; status: string }[] } }) => Object.fromEntries(ctx.outputs.addons.map((a) => [a.name, a.status]))
const obj = (key: string): any => h.lab.api.state().objects[key]

describe('addons phase against the lab API', () => {
  it('installs every enabled addon, gives MetalLB its pool after the webhook answers, and a rerun changes nothing', async () => {
    h = await startHarness({}, { TPI_LAB_METALLB_WEBHOOK_MS: '1500' })
    const cluster = k3sCluster(ALL)
    const plan = await h.phase.plan(await h.context(cluster, { packages: ISCSI }))
    expect(plan.map((s) => [s.details?.addon, s.action, s.details?.action])).toEqual([
      ['metallb', 'run', 'install'], ['traefik', 'run', 'install'], ['longhorn', 'run', 'install'], ['prometheus', 'run', 'install'], ['portainer_agent', 'run', 'install']
    ])
    const ctx = await h.context(cluster, { packages: ISCSI })
    const first = await h.phase.run!(ctx)
    expect(first.changed).toBe(true)
    expect(statuses(ctx)).toEqual({ metallb: 'installed', traefik: 'installed', longhorn: 'installed', prometheus: 'installed', portainer_agent: 'installed' })
    expect(h.helmUpgrades()).toBe(5)
    expect(h.lab.calls('kubectl').filter((a) => a[0] === 'apply').length).toBeGreaterThan(1) // the webhook refused the first apply
    expect(obj('metallb.io/ipaddresspools/metallb-system/turingpi-pool').spec).toEqual({ addresses: ['10.10.88.80-10.10.88.89'] })
    expect(obj('metallb.io/l2advertisements/metallb-system/turingpi-l2').spec).toEqual({ ipAddressPools: ['turingpi-pool'] })
    expect(obj('/services/traefik/traefik').metadata.annotations['metallb.io/loadBalancerIPs']).toBe('10.10.88.80')
    expect(obj('storage.k8s.io/storageclasses//longhorn').parameters.numberOfReplicas).toBe('2')
    expect(obj('/configmaps/longhorn-system/longhorn-default-setting').data['default-setting.yaml']).toBe('default-data-path: /var/lib/longhorn\n')

    const again = await h.context(cluster, { packages: ISCSI })
    const second = await h.phase.run!(again)
    expect(second.changed).toBe(false)
    expect(statuses(again)).toEqual({ metallb: 'unchanged', traefik: 'unchanged', longhorn: 'unchanged', prometheus: 'unchanged', portainer_agent: 'unchanged' })
    expect(h.helmUpgrades()).toBe(5)
    expect(obj('/secrets/traefik/sh.helm.release.v1.traefik.v1').metadata.labels.status).toBe('deployed')
    expect(await h.phase.drift!(await h.context(cluster, { packages: ISCSI }))).toEqual([])
  })

  it('reports a disabled addon that is still installed, and uninstalls it only with addons.prune', async () => {
    h = await startHarness()
    await h.phase.run!(await h.context(k3sCluster('  metallb: true\n  traefik: true')))
    const keep = await h.context(k3sCluster('  metallb: true\n  nginx_ingress: true'))
    await h.phase.run!(keep)
    expect(statuses(keep)).toEqual({ metallb: 'unchanged', traefik: 'disabled-but-installed', nginx_ingress: 'installed' })
    expect(keep.reporter.text()).toContain('warning: addon traefik: traefik-40.0.0 is installed in traefik but traefik is disabled; set addons.prune: true to uninstall it')
    expect(obj('apps/deployments/traefik/traefik')).toBeDefined()
    expect(await h.phase.drift!(await h.context(k3sCluster('  metallb: true\n  nginx_ingress: true')))).toEqual([
      { subject: 'traefik', kind: 'drift', path: ['addons', 'traefik'], field: 'addon.traefik.installed', wanted: 'not installed (disabled)', found: 'traefik-40.0.0', fixedBy: [] }
    ])
    const prune = await h.context(k3sCluster('  metallb: true\n  nginx_ingress: true\n  prune: true'))
    expect((await h.phase.plan(prune)).find((s) => s.details?.addon === 'traefik')).toMatchObject({ action: 'change', details: { action: 'remove' } })
    await h.phase.run!(prune)
    expect(statuses(prune)).toEqual({ metallb: 'unchanged', traefik: 'removed', nginx_ingress: 'unchanged' })
    expect(obj('apps/deployments/traefik/traefik')).toBeUndefined()
    expect(h.lab.calls('helm').filter((a) => a[0] === 'uninstall').map((a) => a[1])).toEqual(['traefik'])
  })

  it('refuses Longhorn with the nodes that lack open-iscsi, after installing the other addons', async () => {
    const asked: string[] = []
    h = await startHarness({ packageProbe: async (_ctx, node, pkg) => (asked.push(`${node.id}:${pkg}`), node.id === 'rk1-a') })
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
    expect(plan.find((s) => s.details?.addon === 'traefik')?.reason).toMatch(/^traefik: upgrade — values [0-9a-f]{12} → [0-9a-f]{12}$/)
    await h.phase.run!(second)
    expect(statuses(second)).toEqual({ metallb: 'unchanged', traefik: 'upgraded' })
    expect(h.helmUpgrades()).toBe(3)
    const values = await h.lab.run('helm', ['get', 'values', 'traefik', '-n', 'traefik', '-o', 'json'])
    expect(JSON.parse(values.stdout)).toEqual({ deployment: { replicas: 2 }, service: { annotations: { 'metallb.io/loadBalancerIPs': '10.10.88.80', team: 'web' } } })
    expect(obj('/secrets/traefik/sh.helm.release.v1.traefik.v2').metadata.labels.status).toBe('deployed')
  })

  it('on Talos refuses Longhorn without iscsi-tools, and with it labels the namespace privileged and stores data under /var/mnt', async () => {
    h = await startHarness()
    const without = await h.context(talosCluster([]))
    await expect(h.phase.run!(without)).rejects.toThrow('the Talos schematic has no siderolabs/iscsi-tools extension')
    const ctx = await h.context(talosCluster(['siderolabs/iscsi-tools']))
    await h.phase.run!(ctx)
    expect(statuses(ctx)).toEqual({ longhorn: 'installed' })
    expect(obj('/namespaces//longhorn-system').metadata.labels).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged' })
    expect(obj('/configmaps/longhorn-system/longhorn-default-setting').data['default-setting.yaml']).toBe('default-data-path: /var/mnt/longhorn\n')
  })

  it('plans installs without a kubeconfig and refuses to run without one', async () => {
    h = await startHarness()
    const ctx = await h.context(k3sCluster(), { kubeconfig: false })
    expect(await h.phase.plan(ctx)).toEqual([
      { phase: 'addons', action: 'run', reason: 'metallb: install — cluster not reachable yet (no kubeconfig); install metallb-0.16.1 in metallb-system', details: { addon: 'metallb', chart: 'metallb', version: '0.16.1', namespace: 'metallb-system', action: 'install' } },
      { phase: 'addons', action: 'run', reason: 'traefik: install — cluster not reachable yet (no kubeconfig); install traefik-40.0.0 in traefik', details: { addon: 'traefik', chart: 'traefik', version: '40.0.0', namespace: 'traefik', action: 'install' } }
    ])
    await expect(h.phase.run!(ctx)).rejects.toMatchObject({ code: 'NoKubeconfig' })
    expect(h.downloads.requests).toEqual([])
  })

  it('blocks the plan and fails the run when a values file is missing, naming the file', async () => {
    h = await startHarness()
    const ctx = await h.context(k3sCluster('  metallb: true\n  values: { metallb: deploy/none.yaml }'))
    const why = `addons failed: values file deploy/none.yaml of addon metallb cannot be read (ENOENT), expected a YAML file relative to ${ctx.settings.workingDirectory}. To resume: fix addons.values in the cluster file and re-run`
    expect(await h.phase.plan(ctx)).toEqual([expect.objectContaining({ action: 'blocked', reason: `metallb: refused — ${why}` })])
    await expect(h.phase.run!(ctx)).rejects.toMatchObject({ code: 'AddonValuesInvalid', message: why })
  })
})
