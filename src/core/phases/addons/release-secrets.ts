// The user values of every Helm release from one read of Helm's own storage (Helm 3's default driver: a
// Secret sh.helm.release.v1.<name>.v<revision> per revision, data.release = base64 of gzipped release
// JSON whose `config` is what `helm get values` prints), instead of one `helm get values` per release.
import { gunzipSync } from 'node:zlib'
import type { Values } from './values.js'

interface SecretList {
  items?: { metadata?: { name?: string; namespace?: string }; type?: string; data?: { release?: string } }[]
}

/** `<namespace>/<secret name>` → the release's user values (null when it has none). */
export function releaseValues(secretsJson: string): Map<string, Values | null> {
  const out = new Map<string, Values | null>()
  for (const item of (JSON.parse(secretsJson) as SecretList).items ?? []) {
    const data = item.data?.release
    if (item.type !== 'helm.sh/release.v1' || !data || !item.metadata?.name) continue
    try {
      // The Secret's data is base64 (Kubernetes) of base64 (Helm) of gzip.
      const packed = Buffer.from(Buffer.from(data, 'base64').toString('utf8'), 'base64')
      const release = JSON.parse(gunzipSync(packed).toString('utf8')) as { config?: Values | null }
      out.set(`${item.metadata.namespace ?? ''}/${item.metadata.name}`, release.config ?? null)
    } catch {
      // Not a release we can read: its values are asked from helm instead.
    }
  }
  return out
}

/** The name Helm gives a release revision's Secret. */
export const releaseSecretName = (name: string, revision: string): string => `sh.helm.release.v1.${name}.v${revision}`
