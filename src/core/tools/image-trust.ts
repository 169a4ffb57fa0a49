// Before any side effect: an image fetched by URL needs something that vouches for its bytes, a
// `sha256:` in the cluster file or an entry of the digest catalog. Without one the flash phase would
// refuse the download anyway (src/adapters/downloads/file-cache.ts); saying so up front keeps a deploy
// from logging in to a BMC, or a plan from promising a flash, that cannot happen.
import type { DigestCatalog } from '../../adapters/downloads/types.js'
import type { Cluster } from '../config/model.js'
import { kindOf } from '../kinds/index.js'
import type { ConfigIssue } from '../errors.js'
import type { RunSettings } from '../settings.js'
import { CATALOG } from './digests.js'

export function checkImageDigests(
  cluster: Cluster,
  settings: Pick<RunSettings, 'command' | 'phases' | 'digestCatalog'>
): ConfigIssue[] {
  if (settings.command !== 'deploy' && settings.command !== 'plan') return []
  if (settings.phases?.length && !settings.phases.includes('flash')) return []
  const catalog: DigestCatalog = settings.digestCatalog ?? CATALOG
  const vouched = (url: string, pin?: string): boolean => !!pin || !!catalog[url]?.sha256
  const issue = (path: string, field: string, url: string): ConfigIssue => ({
    code: 'ImageUnverified',
    path,
    message: `${path}: ${url} is downloaded by URL, but nothing vouches for its bytes: set ${field} to the image's sha256 (its publisher's checksum, e.g. the .sha256 file beside it)`,
    // A plan only warns: it shows what a deploy would do, and this is what the deploy would refuse.
    severity: settings.command === 'deploy' ? 'error' : 'warning'
  })
  const img = kindOf(cluster).image.byUrl(cluster)
  return img && !vouched(img.url, img.pin) ? [issue(img.path, img.pinField, img.url)] : []
}
