// Which resources the emulated API serves: built-in kinds by group and plural, plus every
// CustomResourceDefinition stored in the state (so metallb.io/v1beta1 IPAddressPool exists only after the
// MetalLB chart created its CRDs, like on a real cluster).

/** group ('' = core), version, plural, kind, namespaced */
export const BUILTIN = [
  ['', 'v1', 'nodes', 'Node', false],
  ['', 'v1', 'namespaces', 'Namespace', false],
  ['', 'v1', 'pods', 'Pod', true],
  ['', 'v1', 'secrets', 'Secret', true],
  ['', 'v1', 'configmaps', 'ConfigMap', true],
  ['', 'v1', 'services', 'Service', true],
  ['', 'v1', 'endpoints', 'Endpoints', true],
  ['', 'v1', 'serviceaccounts', 'ServiceAccount', true],
  ['', 'v1', 'persistentvolumeclaims', 'PersistentVolumeClaim', true],
  ['apps', 'v1', 'deployments', 'Deployment', true],
  ['apps', 'v1', 'daemonsets', 'DaemonSet', true],
  ['apps', 'v1', 'statefulsets', 'StatefulSet', true],
  ['rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false],
  ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
  ['rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true],
  ['rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true],
  ['policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
  ['networking.k8s.io', 'v1', 'ingressclasses', 'IngressClass', false],
  ['networking.k8s.io', 'v1', 'ingresses', 'Ingress', true],
  ['storage.k8s.io', 'v1', 'storageclasses', 'StorageClass', false],
  ['apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false],
  ['admissionregistration.k8s.io', 'v1', 'validatingwebhookconfigurations', 'ValidatingWebhookConfiguration', false]
].map(([group, version, plural, kind, namespaced]) => ({ group, version, plural, kind, namespaced }))

function crdResources(state) {
  const out = []
  for (const [key, crd] of Object.entries(state.objects)) {
    if (!key.startsWith('apiextensions.k8s.io/customresourcedefinitions/')) continue
    const spec = crd.spec ?? {}
    for (const v of spec.versions ?? []) {
      if (v.served === false) continue
      out.push({
        group: spec.group,
        version: v.name,
        plural: spec.names?.plural,
        kind: spec.names?.kind,
        namespaced: spec.scope !== 'Cluster'
      })
    }
  }
  return out
}

export function allResources(state) {
  return [...BUILTIN, ...crdResources(state)]
}

/** The resource served at group/version/plural, or undefined (404 like the real server). */
export function byPlural(state, group, version, plural) {
  return allResources(state).find((r) => r.group === group && r.version === version && r.plural === plural)
}

/** The resource of an apiVersion + kind (what a manifest names), or undefined ("no matches for kind"). */
export function byKind(state, apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion]
  return allResources(state).find((r) => r.group === group && r.version === version && r.kind === kind)
}

export function apiVersionOf(resource) {
  return resource.group ? `${resource.group}/${resource.version}` : resource.version
}

/** Storage key: group/plural/namespace/name (versions share storage, as in etcd). */
export function objectKey(resource, namespace, name) {
  return `${resource.group}/${resource.plural}/${resource.namespaced ? namespace : ''}/${name}`
}

/** "deployments.apps" / "nodes": how kubectl and API errors name a resource. */
export function qualified(resource) {
  return resource.group ? `${resource.plural}.${resource.group}` : resource.plural
}

/** Wire path of a collection or object. */
export function resourcePath(resource, namespace, name) {
  const base = resource.group ? `/apis/${resource.group}/${resource.version}` : `/api/${resource.version}`
  const ns = resource.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : ''
  return `${base}${ns}/${resource.plural}${name ? `/${encodeURIComponent(name)}` : ''}`
}
