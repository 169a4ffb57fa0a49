import { afterEach, describe, expect, it } from '@jest/globals'
import { join } from 'node:path'
import { READY_AT, updateState } from '../../../../lab/kube/index.mjs'
import { k3sCluster, talosCluster } from './fixtures.js'
import { startHarness, type Harness } from './harness.js'

const ALL = '  metallb: true\n  traefik: true\n  longhorn: true\n  prometheus: true\n  portainer_agent: true'
const ISCSI = ['open-iscsi', 'nfs-common', 'curl']

let h: Harness
afterEach(async () => h?.stop())

const statuses = (ctx: { outputs: { addons: { name: string; status: string }[] } }) =>
  Object.fromEntries(ctx.outputs.addons.map((a) => [a.name, a.status]))
const obj = (key: string): any => h.lab.api.state().objects[key]

describe('addons phase against the lab API: install, rerun, Talos, plan', () => {
  it('installs every enabled addon, gives MetalLB its pool after the webhook answers, and a rerun changes nothing', async () => {
    // MetalLB's webhook stays unready until the phase pauses to retry; then the test lets it answer.
    let pauses = 0
    const webhookUp = (): void => {
      pauses++
      updateState(join(h.lab.labDir, 'kube'), (s) => {
        const ep = s.objects['/endpoints/metallb-system/metallb-webhook-service']
        if (ep) delete ep.metadata.annotations?.[READY_AT]
      })
    }
    h = await startHarness({}, { TPI_LAB_METALLB_WEBHOOK_MS: '600000' }, webhookUp)
    const cluster = k3sCluster(ALL)
    const plan = await h.phase.plan(await h.context(cluster, { packages: ISCSI }))
    expect(plan.map((s) => [s.details?.addon, s.action, s.details?.action])).toEqual([
      ['metallb', 'run', 'install'],
      ['traefik', 'run', 'install'],
      ['longhorn', 'run', 'install'],
      ['prometheus', 'run', 'install'],
      ['portainer_agent', 'run', 'install']
    ])
    const ctx = await h.context(cluster, { packages: ISCSI })
    const first = await h.phase.run!(ctx)
    expect(first.changed).toBe(true)
    expect(statuses(ctx)).toEqual({
      metallb: 'installed',
      traefik: 'installed',
      longhorn: 'installed',
      prometheus: 'installed',
      portainer_agent: 'installed'
    })
    expect(h.helmUpgrades()).toBe(5)
    expect(pauses).toBe(1)
    expect(h.lab.calls('kubectl').filter((a) => a[0] === 'apply').length).toBe(2) // refused by the webhook once, then applied
    expect(obj('metallb.io/ipaddresspools/metallb-system/turingpi-pool').spec).toEqual({
      addresses: ['10.10.88.80-10.10.88.89']
    })
    expect(obj('metallb.io/l2advertisements/metallb-system/turingpi-l2').spec).toEqual({
      ipAddressPools: ['turingpi-pool']
    })
    expect(obj('/services/traefik/traefik').metadata.annotations['metallb.io/loadBalancerIPs']).toBe('10.10.88.80')
    expect(obj('storage.k8s.io/storageclasses//longhorn').parameters.numberOfReplicas).toBe('2')
    expect(obj('/configmaps/longhorn-system/longhorn-default-setting').data['default-setting.yaml']).toBe(
      'default-data-path: /var/lib/longhorn\n'
    )

    const again = await h.context(cluster, { packages: ISCSI })
    const before = { kubectl: h.lab.calls('kubectl').length, helm: h.lab.calls('helm').length }
    const second = await h.phase.run!(again)
    expect(second.changed).toBe(false)
    // The rerun reads once: Helm's release Secrets and MetalLB's pool in one kubectl call, no helm at all.
    expect(h.lab.calls('kubectl').slice(before.kubectl)).toEqual([
      [
        'get',
        'secrets,ipaddresspools.metallb.io,l2advertisements.metallb.io',
        '--all-namespaces',
        '--selector',
        'owner in (helm,turingpi-cluster)',
        '--output',
        'json',
        '--kubeconfig',
        h.lab.kubeconfig
      ]
    ])
    expect(h.lab.calls('helm').length).toBe(before.helm)
    expect(statuses(again)).toEqual({
      metallb: 'unchanged',
      traefik: 'unchanged',
      longhorn: 'unchanged',
      prometheus: 'unchanged',
      portainer_agent: 'unchanged'
    })
    expect(h.helmUpgrades()).toBe(5)
    expect(obj('/secrets/traefik/sh.helm.release.v1.traefik.v1').metadata.labels.status).toBe('deployed')
    expect(await h.phase.drift!(await h.context(cluster, { packages: ISCSI }))).toEqual([])
  })

  it('a pool applied by an earlier version (no owner label) is labelled once, then read with the releases', async () => {
    h = await startHarness()
    const cluster = k3sCluster('  metallb: true')
    await h.phase.run!(await h.context(cluster))
    const pool = 'metallb.io/ipaddresspools/metallb-system/turingpi-pool'
    const l2 = 'metallb.io/l2advertisements/metallb-system/turingpi-l2'
    updateState(join(h.lab.labDir, 'kube'), (s) => {
      for (const key of [pool, l2]) delete s.objects[key].metadata.labels
    })
    const relabel = await h.context(cluster)
    expect((await h.phase.run!(relabel)).changed).toBe(true)
    expect(relabel.outputs.addons).toEqual([
      expect.objectContaining({ name: 'metallb', status: 'upgraded', detail: 'address pool applied' })
    ])
    expect(obj(pool).metadata.labels).toEqual({ owner: 'turingpi-cluster' })
    expect(obj(l2).metadata.labels).toEqual({ owner: 'turingpi-cluster' })
    const before = h.lab.calls('kubectl').length
    const again = await h.context(cluster)
    expect((await h.phase.run!(again)).changed).toBe(false)
    expect(h.lab.calls('kubectl').length - before).toBe(1)
  })

  it('on Talos refuses Longhorn without iscsi-tools, and with it labels the namespace privileged and stores data under /var/mnt', async () => {
    h = await startHarness()
    const without = await h.context(talosCluster([]))
    await expect(h.phase.run!(without)).rejects.toThrow('the Talos schematic has no siderolabs/iscsi-tools extension')
    const ctx = await h.context(talosCluster(['siderolabs/iscsi-tools']))
    await h.phase.run!(ctx)
    expect(statuses(ctx)).toEqual({ longhorn: 'installed' })
    expect(obj('/namespaces//longhorn-system').metadata.labels).toMatchObject({
      'pod-security.kubernetes.io/enforce': 'privileged'
    })
    expect(obj('/configmaps/longhorn-system/longhorn-default-setting').data['default-setting.yaml']).toBe(
      'default-data-path: /var/mnt/longhorn\n'
    )
  })

  it('plans installs without a kubeconfig and refuses to run without one', async () => {
    h = await startHarness()
    const ctx = await h.context(k3sCluster(), { kubeconfig: false })
    expect(await h.phase.plan(ctx)).toEqual([
      {
        phase: 'addons',
        action: 'run',
        reason:
          'metallb: install — cluster not reachable yet (no kubeconfig); install metallb-0.16.1 in metallb-system',
        details: {
          addon: 'metallb',
          chart: 'metallb',
          version: '0.16.1',
          namespace: 'metallb-system',
          action: 'install'
        }
      },
      {
        phase: 'addons',
        action: 'run',
        reason: 'traefik: install — cluster not reachable yet (no kubeconfig); install traefik-40.0.0 in traefik',
        details: { addon: 'traefik', chart: 'traefik', version: '40.0.0', namespace: 'traefik', action: 'install' }
      }
    ])
    await expect(h.phase.run!(ctx)).rejects.toMatchObject({ code: 'NoKubeconfig' })
    expect(h.downloads.requests).toEqual([])
  })

  it('blocks the plan and fails the run when a values file is missing, naming the file', async () => {
    h = await startHarness()
    const ctx = await h.context(k3sCluster('  metallb: true\n  values: { metallb: deploy/none.yaml }'))
    const why = `addons failed: values file deploy/none.yaml of addon metallb cannot be read (ENOENT), expected a YAML file relative to ${ctx.settings.workingDirectory}. To resume: fix addons.values in the cluster file and re-run`
    expect(await h.phase.plan(ctx)).toEqual([
      expect.objectContaining({ action: 'blocked', reason: `metallb: refused — ${why}` })
    ])
    await expect(h.phase.run!(ctx)).rejects.toMatchObject({ code: 'AddonValuesInvalid', message: why })
  })
})
