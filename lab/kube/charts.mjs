// The lab's Helm repositories: which charts exist at which versions, and the objects each chart creates.
// Published versions are the ones pinned in src/core/phases/addons/charts.ts (read from that file, so the
// action's one table stays the only place a version is written), plus any listed in
// TPI_LAB_HELM_EXTRA_VERSIONS ("metallb=0.15.3,traefik=39.0.0") for upgrade tests. Objects are the
// workloads, services, CRDs and webhooks that matter to the action, not a chart's full output.
import { readFileSync } from 'node:fs'
import { READY_AT } from './objects.mjs'

const TABLE = new URL('../../src/core/phases/addons/charts.ts', import.meta.url)

/** chart name → { repo, versions[] } */
export function labRepos() {
  const text = readFileSync(TABLE, 'utf8')
  const repos = {}
  for (const m of text.matchAll(/repo:\s*'([^']+)',\s*chart:\s*'([^']+)',\s*version:\s*'([^']+)'/g))
    repos[m[2]] = { repo: m[1], versions: [m[3]] }
  for (const item of (process.env.TPI_LAB_HELM_EXTRA_VERSIONS ?? '').split(',').filter(Boolean)) {
    const [chart, version] = item.split('=')
    repos[chart]?.versions.push(version)
  }
  return repos
}

/** Lab faults: workloads ready this long after (un)install; MetalLB's webhook that much later again. */
function readyAt(extraMs = 0) {
  const ms = Number(process.env.TPI_LAB_KUBE_READY_MS ?? 0) + extraMs
  return ms > 0 ? { [READY_AT]: new Date(Date.now() + ms).toISOString() } : {}
}

const meta = (name, namespace, release, extra = {}) => ({
  name,
  namespace,
  labels: { 'app.kubernetes.io/instance': release, 'app.kubernetes.io/managed-by': 'Helm' },
  annotations: { 'meta.helm.sh/release-name': release, 'meta.helm.sh/release-namespace': namespace, ...extra }
})

function deployment(name, ns, release, replicas = 1) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(name, ns, release, readyAt()),
    spec: { replicas, selector: { matchLabels: { app: name } } }
  }
}
function daemonset(name, ns, release) {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: meta(name, ns, release, readyAt()),
    spec: { selector: { matchLabels: { app: name } } }
  }
}
function service(name, ns, release, spec = {}, annotations = {}) {
  const m = meta(name, ns, release)
  m.annotations = { ...m.annotations, ...annotations }
  const ip = annotations['metallb.io/loadBalancerIPs']
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: m,
    spec: { type: 'ClusterIP', ...spec },
    ...(ip && spec.type === 'LoadBalancer' ? { status: { loadBalancer: { ingress: [{ ip, ipMode: 'VIP' }] } } } : {})
  }
}
function pod(workload, ns, release) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: meta(`${workload}-7d9c5b6f4-lab01`, ns, release),
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }
  }
}
function crd(plural, group, kind, release, ns) {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: meta(`${plural}.${group}`, undefined, release, { 'meta.helm.sh/release-namespace': ns }),
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural, kind },
      versions: [{ name: 'v1beta1', served: true, storage: true }]
    }
  }
}
const get = (obj, path) => path.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), obj)

const CATALOG = {
  metallb: (r, ns) => [
    crd('ipaddresspools', 'metallb.io', 'IPAddressPool', r, ns),
    crd('l2advertisements', 'metallb.io', 'L2Advertisement', r, ns),
    deployment(`${r}-controller`, ns, r),
    daemonset(`${r}-speaker`, ns, r),
    service('metallb-webhook-service', ns, r, { ports: [{ port: 443, targetPort: 9443 }] }),
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: meta('metallb-webhook-service', ns, r, readyAt(Number(process.env.TPI_LAB_METALLB_WEBHOOK_MS ?? 0))),
      subsets: [{ addresses: [{ ip: '10.42.0.15' }], ports: [{ port: 9443 }] }]
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: meta('metallb-webhook-configuration', undefined, r),
      webhooks: ['ipaddresspool', 'l2advertisement'].map((k) => ({
        name: `${k}validationwebhook.metallb.io`,
        clientConfig: {
          service: { namespace: ns, name: 'metallb-webhook-service', path: `/validate-metallb-io-v1beta1-${k}` }
        },
        rules: [
          {
            apiGroups: ['metallb.io'],
            apiVersions: ['v1beta1'],
            operations: ['CREATE', 'UPDATE'],
            resources: [`${k}s`]
          }
        ]
      }))
    },
    pod(`${r}-controller`, ns, r),
    pod(`${r}-speaker`, ns, r)
  ],
  traefik: (r, ns, v) => [
    deployment(r, ns, r),
    service(
      r,
      ns,
      r,
      {
        type: 'LoadBalancer',
        ports: [
          { name: 'web', port: 80 },
          { name: 'websecure', port: 443 }
        ]
      },
      get(v, 'service.annotations') ?? {}
    ),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: meta('traefik', undefined, r),
      spec: { controller: 'traefik.io/ingress-controller' }
    },
    pod(r, ns, r)
  ],
  'ingress-nginx': (r, ns, v) => [
    deployment(`${r}-controller`, ns, r),
    service(
      `${r}-controller`,
      ns,
      r,
      {
        type: 'LoadBalancer',
        ports: [
          { name: 'http', port: 80 },
          { name: 'https', port: 443 }
        ]
      },
      get(v, 'controller.service.annotations') ?? {}
    ),
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: meta('nginx', undefined, r),
      spec: { controller: 'k8s.io/ingress-nginx' }
    },
    pod(`${r}-controller`, ns, r)
  ],
  longhorn: (r, ns, v) => [
    daemonset('longhorn-manager', ns, r),
    deployment('longhorn-driver-deployer', ns, r),
    deployment('longhorn-ui', ns, r, 2),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('longhorn-default-setting', ns, r),
      data: {
        'default-setting.yaml': `default-data-path: ${get(v, 'defaultSettings.defaultDataPath') ?? '/var/lib/longhorn/'}\n`
      }
    },
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: meta('longhorn', undefined, r),
      provisioner: 'driver.longhorn.io',
      parameters: {
        numberOfReplicas: String(get(v, 'persistence.defaultClassReplicaCount') ?? 3),
        dataLocality: 'disabled'
      }
    },
    pod('longhorn-manager', ns, r),
    pod('longhorn-ui', ns, r)
  ],
  'kube-prometheus-stack': (r, ns) => [
    deployment(`${r}-operator`, ns, r),
    deployment(`${r}-grafana`, ns, r),
    deployment(`${r}-kube-state-metrics`, ns, r),
    daemonset(`${r}-prometheus-node-exporter`, ns, r),
    pod(`${r}-operator`, ns, r),
    pod(`${r}-grafana`, ns, r)
  ],
  'portainer-agent': (r, ns) => [
    deployment(r, ns, r),
    service(r, ns, r, { type: 'NodePort', ports: [{ port: 9001, nodePort: 30778 }] }),
    pod(r, ns, r)
  ]
}

/** The objects a chart creates for a release, or undefined for a chart the lab does not know. */
export function renderChart(chart, release, namespace, values) {
  const make = CATALOG[chart]
  return make ? make(release, namespace, values ?? {}) : undefined
}
