// Helm values per addon: what the cluster file implies (LoadBalancer IP, Longhorn replicas and data path),
// overlaid with the repository's own values file (addons.values[name]); the user's file wins. The values
// hash is what idempotence compares against `helm get values`.
import { createHash } from 'node:crypto'
import type { Cluster } from '../../config/model.js'
import { kindOf } from '../../kinds/index.js'
import type { AddonName } from './charts.js'

export type Values = Record<string, unknown>

/** MetalLB's per-Service address request (the Service loadBalancerIP field is deprecated since 1.24). */
export const METALLB_IP_ANNOTATION = 'metallb.io/loadBalancerIPs'

/** Where Longhorn keeps replicas is the cluster kind's to say (Talos: a user volume, its root is read-only). */
export function longhornDataPath(cluster: Cluster): string {
  return kindOf(cluster).longhorn.dataPath(cluster)
}

/** Values the cluster file implies for one addon (exact, tested). */
export function baseValues(addon: AddonName, cluster: Cluster): Values {
  const ip = cluster.ingress_ip
  switch (addon) {
    case 'traefik':
      return ip ? { service: { annotations: { [METALLB_IP_ANNOTATION]: ip } } } : {}
    case 'nginx_ingress':
      return ip ? { controller: { service: { annotations: { [METALLB_IP_ANNOTATION]: ip } } } } : {}
    case 'longhorn':
      return {
        defaultSettings: { defaultDataPath: longhornDataPath(cluster) },
        persistence: { defaultClassReplicaCount: cluster.longhorn_replicas }
      }
    default:
      return {}
  }
}

const isObject = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Deep merge like helm's values layering: maps merge, everything else (lists too) is replaced. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base }
  for (const [k, v] of Object.entries(over))
    out[k] = isObject(v) && isObject(out[k]) ? mergeValues(out[k] as Values, v) : v
  return out
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])])
    )
  return v
}

/** sha256 of the values as canonical JSON (key order does not matter); `null` (helm: no values) = {}. */
export function valuesHash(values: Values | null | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(values ?? {})))
    .digest('hex')
}
