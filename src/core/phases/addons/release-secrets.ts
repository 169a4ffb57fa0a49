// Every Helm release, with its user values, from one read of Helm's own storage instead of `helm list`
// plus one `helm get values` per release. Helm 3's default driver keeps each revision in a Secret
// sh.helm.release.v1.<name>.v<revision> (type helm.sh/release.v1, labelled owner=helm) whose
// data.release is base64 of gzipped release JSON: `name`, `namespace`, `version` (the revision),
// `info.status`, `chart.metadata` and `config` (what `helm get values` prints).
import { gunzipSync } from 'node:zlib'
import type { FoundRelease } from './decide.js'
import type { Values } from './values.js'

/** An item of `kubectl get … -o json`: a release Secret, or another object read alongside. */
export interface StoredObject {
  kind?: string
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> }
  type?: string
  data?: { release?: string }
  spec?: unknown
}

interface Release {
  name?: string
  namespace?: string
  version?: number
  info?: { status?: string }
  chart?: { metadata?: { name?: string; version?: string; appVersion?: string } }
  config?: Values | null
}

export const RELEASE_SECRET_TYPE = 'helm.sh/release.v1'

/** A release row as `helm list -A -o json` prints it, and the revision's user values. */
export type StoredRelease = FoundRelease & { values: Values | null }

/**
 * What `helm list --all-namespaces` would list (the latest revision of each release, when it is deployed
 * or failed), each with its values; undefined when a release Secret cannot be decoded, so the caller asks
 * helm instead of deciding from part of the releases. Other objects in the list are ignored.
 */
export function storedReleases(items: StoredObject[]): StoredRelease[] | undefined {
  const latest = new Map<string, { namespace: string; r: Release }>()
  for (const item of items) {
    if (item.type !== RELEASE_SECRET_TYPE) continue
    const r = decode(item.data?.release)
    if (!r?.name || typeof r.version !== 'number') return undefined
    const namespace = r.namespace ?? item.metadata?.namespace ?? ''
    const key = `${namespace}/${r.name}`
    if ((latest.get(key)?.r.version ?? 0) < r.version) latest.set(key, { namespace, r })
  }
  const rows: StoredRelease[] = []
  for (const { namespace, r } of latest.values()) {
    const status = r.info?.status ?? 'unknown'
    if (status !== 'deployed' && status !== 'failed') continue
    rows.push({
      name: r.name as string,
      namespace,
      revision: String(r.version),
      status,
      chart: `${r.chart?.metadata?.name ?? ''}-${r.chart?.metadata?.version ?? ''}`,
      ...(r.chart?.metadata?.appVersion ? { app_version: r.chart.metadata.appVersion } : {}),
      values: r.config ?? null
    })
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name))
}

function decode(data: string | undefined): Release | undefined {
  if (!data) return undefined
  try {
    // The Secret's data is base64 (Kubernetes) of base64 (Helm) of gzip.
    const packed = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64')
    return JSON.parse(gunzipSync(packed).toString('utf8')) as Release
  } catch {
    return undefined
  }
}
