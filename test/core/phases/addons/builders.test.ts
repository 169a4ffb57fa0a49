import { describe, expect, it } from '@jest/globals'
import { CHARTS } from '../../../../src/core/phases/addons/charts.js'
import { decide, type FoundRelease, type WantedAddon } from '../../../../src/core/phases/addons/decide.js'
import {
  applyArgs,
  getValuesArgs,
  listArgs,
  releaseSecretsArgs,
  repoUrl,
  uninstallArgs,
  upgradeInstallArgs,
  waitAvailableArgs
} from '../../../../src/core/phases/addons/helm-args.js'
import { metallbManifests, privilegedNamespace, toYaml } from '../../../../src/core/phases/addons/manifests.js'
import { baseValues, mergeValues, valuesHash } from '../../../../src/core/phases/addons/values.js'
import { k3sCluster, talosCluster } from './fixtures.js'

describe('helm and kubectl argv', () => {
  it('builds upgrade --install with the pinned chart, values file, wait and timeout', () => {
    expect(upgradeInstallArgs(CHARTS.metallb, '/tmp/v/metallb-values.yaml', 600)).toEqual([
      'upgrade',
      '--install',
      'metallb',
      'metallb',
      '--repo',
      'https://metallb.github.io/metallb',
      '--version',
      '0.16.1',
      '--namespace',
      'metallb-system',
      '--create-namespace',
      '--values',
      '/tmp/v/metallb-values.yaml',
      '--wait',
      '--timeout',
      '600s'
    ])
  })

  it('rewrites the chart repository under the mirror as <mirror>/<host><path>', () => {
    expect(repoUrl(CHARTS.portainer_agent, 'http://127.0.0.1:9000/')).toBe(
      'http://127.0.0.1:9000/portainer.github.io/k8s'
    )
    expect(upgradeInstallArgs(CHARTS.prometheus, 'v.yaml', 60, 'https://mirror.lan')[5]).toBe(
      'https://mirror.lan/prometheus-community.github.io/helm-charts'
    )
  })

  it('builds list, get values, uninstall, wait and server-side apply exactly', () => {
    expect(listArgs()).toEqual(['list', '--all-namespaces', '--output', 'json'])
    expect(releaseSecretsArgs()).toEqual([
      'get',
      'secrets',
      '--all-namespaces',
      '--selector',
      'owner=helm',
      '--output',
      'json'
    ])
    // Objects this action applies are labelled owner=turingpi-cluster: read with the releases in one call.
    expect(releaseSecretsArgs(['ipaddresspools.metallb.io'])).toEqual([
      'get',
      'secrets,ipaddresspools.metallb.io',
      '--all-namespaces',
      '--selector',
      'owner in (helm,turingpi-cluster)',
      '--output',
      'json'
    ])
    expect(getValuesArgs(CHARTS.traefik)).toEqual([
      'get',
      'values',
      'traefik',
      '--namespace',
      'traefik',
      '--output',
      'json'
    ])
    expect(uninstallArgs(CHARTS.nginx_ingress, 300)).toEqual([
      'uninstall',
      'ingress-nginx',
      '--namespace',
      'ingress-nginx',
      '--wait',
      '--timeout',
      '300s'
    ])
    expect(waitAvailableArgs('metallb-system', 'metallb-controller', 120)).toEqual([
      'wait',
      '--namespace',
      'metallb-system',
      '--for=condition=Available',
      'deployment/metallb-controller',
      '--timeout=120s'
    ])
    expect(applyArgs()).toEqual([
      'apply',
      '--server-side',
      '--field-manager=turingpi-cluster',
      '--force-conflicts',
      '-f',
      '-'
    ])
  })
})

describe('manifests', () => {
  it('turns metallb_ip_range into an IPAddressPool and an L2Advertisement of that pool', () => {
    expect(toYaml(metallbManifests('10.10.88.80 - 10.10.88.89'))).toBe(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: turingpi-pool
  namespace: metallb-system
  labels:
    owner: turingpi-cluster
spec:
  addresses:
    - 10.10.88.80-10.10.88.89
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: turingpi-l2
  namespace: metallb-system
  labels:
    owner: turingpi-cluster
spec:
  ipAddressPools:
    - turingpi-pool
`)
  })

  it('labels the Longhorn namespace privileged for Pod Security admission', () => {
    expect(privilegedNamespace('longhorn-system')).toEqual({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'longhorn-system', labels: { 'pod-security.kubernetes.io/enforce': 'privileged' } }
    })
  })
})

describe('values', () => {
  it('gives traefik and ingress-nginx the ingress_ip through MetalLB and Longhorn its replicas and data path', () => {
    const k3s = k3sCluster('  metallb: true\n  traefik: true\n  longhorn: true', 'longhorn_path: /mnt/nvme/longhorn')
    const nginx = k3sCluster('  nginx_ingress: true')
    expect(baseValues('traefik', k3s)).toEqual({
      service: { annotations: { 'metallb.io/loadBalancerIPs': '10.10.88.80' } }
    })
    expect(baseValues('nginx_ingress', nginx)).toEqual({
      controller: { service: { annotations: { 'metallb.io/loadBalancerIPs': '10.10.88.80' } } }
    })
    expect(baseValues('longhorn', k3s)).toEqual({
      defaultSettings: { defaultDataPath: '/mnt/nvme/longhorn' },
      persistence: { defaultClassReplicaCount: 2 }
    })
    expect(baseValues('longhorn', talosCluster(['siderolabs/iscsi-tools']))).toEqual({
      defaultSettings: { defaultDataPath: '/var/mnt/longhorn' },
      persistence: { defaultClassReplicaCount: 1 }
    })
    expect(baseValues('metallb', k3s)).toEqual({})
  })

  it('lets the repository values file win key by key, replacing lists', () => {
    expect(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, e: 2 })).toEqual({
      a: { b: 1, c: [3] },
      d: 1,
      e: 2
    })
  })

  it('hashes values independent of key order, and null (no values) like {}', () => {
    expect(valuesHash({ a: 1, b: { c: 2, d: 3 } })).toBe(valuesHash({ b: { d: 3, c: 2 }, a: 1 }))
    expect(valuesHash(null)).toBe(valuesHash({}))
    expect(valuesHash({ a: 1 })).not.toBe(valuesHash({ a: 2 }))
  })
})

describe('decide', () => {
  const want = (hash: string, refused?: string): WantedAddon => ({
    spec: CHARTS.metallb,
    hash,
    ...(refused ? { refused } : {})
  })
  const found = (over: Partial<FoundRelease> = {}): FoundRelease => ({
    name: 'metallb',
    namespace: 'metallb-system',
    revision: '1',
    status: 'deployed',
    chart: 'metallb-0.16.1',
    valuesHash: 'h1',
    ...over
  })

  it('installs what is missing, keeps what matches, upgrades on chart, status or values', () => {
    expect(decide(new Map([['metallb', want('h1')]]), [], false)[0]).toMatchObject({
      action: 'install',
      reason: 'not installed; install metallb-0.16.1 in metallb-system'
    })
    expect(decide(new Map([['metallb', want('h1')]]), [found()], false)[0]).toMatchObject({
      action: 'unchanged',
      reason: 'metallb-0.16.1 deployed (revision 1) with the wanted values h1'
    })
    expect(
      decide(new Map([['metallb', want('h2')]]), [found({ chart: 'metallb-0.15.3', status: 'failed' })], false)[0]
    ).toMatchObject({
      action: 'upgrade',
      reason: 'chart metallb-0.15.3 → metallb-0.16.1; release status is failed; values h1 → h2'
    })
  })

  it('reports a disabled addon that is installed, and removes it only with prune', () => {
    expect(decide(new Map(), [found()], false)).toEqual([
      expect.objectContaining({
        action: 'disabled-but-installed',
        reason:
          'metallb-0.16.1 is installed in metallb-system but metallb is disabled; set addons.prune: true to uninstall it'
      })
    ])
    expect(decide(new Map(), [found()], true)).toEqual([expect.objectContaining({ action: 'remove' })])
    expect(decide(new Map(), [found({ namespace: 'elsewhere' })], true)).toEqual([])
  })

  it('carries a refusal instead of installing', () => {
    expect(decide(new Map([['metallb', want('h1', 'no iSCSI')]]), [], false)[0]).toMatchObject({
      action: 'refused',
      reason: 'no iSCSI'
    })
  })
})
