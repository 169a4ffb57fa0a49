// What to do with each addon, from what the cluster file wants and what `helm list` / `helm get values`
// found. Pure, so the plan, the deploy and the tests share one decision table.
import type { Cluster } from '../../config/model.js'
import { ADDON_NAMES, CHARTS, chartRef, type AddonName, type ChartSpec } from './charts.js'

export type AddonAction = 'install' | 'upgrade' | 'unchanged' | 'remove' | 'disabled-but-installed' | 'refused'

/** One row of `helm list -A -o json`, plus the hash of `helm get values` when it was read. */
export interface FoundRelease {
  name: string
  namespace: string
  revision: string
  status: string
  chart: string
  app_version?: string
  valuesHash?: string
}

export interface WantedAddon {
  spec: ChartSpec
  hash: string
  /** Why it cannot be installed (a missing node prerequisite), if so. */
  refused?: string
}

export interface AddonDecision {
  addon: AddonName
  spec: ChartSpec
  action: AddonAction
  reason: string
  found?: FoundRelease
  /** Hash of the wanted values (enabled addons). */
  wantedHash?: string
}

export function enabledAddons(cluster: Cluster): AddonName[] {
  const a = cluster.addons
  const on: Record<AddonName, boolean> = {
    metallb: a.metallb,
    traefik: a.traefik,
    nginx_ingress: a.nginx_ingress,
    longhorn: cluster.longhorn,
    prometheus: a.prometheus,
    portainer_agent: a.portainer_agent
  }
  return ADDON_NAMES.filter((n) => on[n])
}

const short = (hash?: string): string => (hash ? hash.slice(0, 12) : 'unknown')

export function decide(wanted: Map<AddonName, WantedAddon>, found: FoundRelease[], prune: boolean): AddonDecision[] {
  const out: AddonDecision[] = []
  for (const addon of ADDON_NAMES) {
    const spec = CHARTS[addon]
    const release = found.find((r) => r.name === spec.release && r.namespace === spec.namespace)
    const want = wanted.get(addon)
    const base = { addon, spec, ...(release ? { found: release } : {}), ...(want ? { wantedHash: want.hash } : {}) }
    if (!want) {
      if (!release) continue
      out.push(
        prune
          ? {
              ...base,
              action: 'remove',
              reason: `${release.chart} is installed but ${addon} is disabled; addons.prune is true, so it is uninstalled`
            }
          : {
              ...base,
              action: 'disabled-but-installed',
              reason: `${release.chart} is installed in ${spec.namespace} but ${addon} is disabled; set addons.prune: true to uninstall it`
            }
      )
      continue
    }
    if (want.refused) {
      out.push({ ...base, action: 'refused', reason: want.refused })
      continue
    }
    if (!release) {
      out.push({ ...base, action: 'install', reason: `not installed; install ${chartRef(spec)} in ${spec.namespace}` })
      continue
    }
    const changes: string[] = []
    if (release.chart !== chartRef(spec)) changes.push(`chart ${release.chart} → ${chartRef(spec)}`)
    if (release.status !== 'deployed') changes.push(`release status is ${release.status}`)
    if (release.valuesHash !== want.hash) changes.push(`values ${short(release.valuesHash)} → ${short(want.hash)}`)
    out.push(
      changes.length
        ? { ...base, action: 'upgrade', reason: changes.join('; ') }
        : {
            ...base,
            action: 'unchanged',
            reason: `${chartRef(spec)} deployed (revision ${release.revision}) with the wanted values ${short(want.hash)}`
          }
    )
  }
  return out
}
