// Which image a node gets: the Armbian image (path or URL) or the Talos image (factory by schematic id
// and version, a local path, or a URL), fetched once per run through deps.downloads and shared by all
// nodes. A local file is hashed once (streaming) so its digest can be recorded and checked.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import type { Cluster } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { imageByUrl } from '../../tools/catalog.js'
import { resolveTalosImage } from '../../kinds/talos/factory.js'
import { perRun } from '../per-run.js'
import type { PhaseContext } from '../types.js'

export interface BaseImage {
  path: string
  sha256: string
  /** For messages and the plan: where it came from. */
  source: string
  os: 'armbian' | 'talos'
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** What the plan shows without downloading anything. */
export function describeImage(cluster: Cluster, schematicId?: string): string {
  if (cluster.kind === 'k3s') return cluster.armbian_image.path ?? cluster.armbian_image.url ?? '(no image set)'
  if (cluster.image_source === 'factory') return `factory.talos.dev ${cluster.talos_version} schematic ${schematicId ?? '(computed at deploy)'}`
  return cluster.image_path ?? '(no image_path set)'
}

const memo = perRun<BaseImage>()

export function resolveBaseImage(ctx: PhaseContext): Promise<BaseImage> {
  return memo(ctx.outputs, () => resolve(ctx))
}

async function local(ctx: PhaseContext, path: string, pin: string | undefined, os: BaseImage['os']): Promise<BaseImage> {
  const full = isAbsolute(path) ? path : join(ctx.settings.workingDirectory, path)
  const sha256 = await sha256File(full).catch((e: Error) => {
    throw new PhaseError('flash', undefined, `cannot read image ${full}: ${e.message}`, 'fix the image path in the cluster file and re-run')
  })
  if (pin && pin.toLowerCase() !== sha256) {
    throw new PhaseError('flash', undefined, `image ${full} has sha256 ${sha256}, the cluster file pins ${pin.toLowerCase()}`, 'replace the file or update the pin, then re-run', { code: 'ChecksumMismatch' })
  }
  return { path: full, sha256, source: path, os }
}

async function resolve(ctx: PhaseContext): Promise<BaseImage> {
  const c = ctx.cluster
  const mirror = ctx.settings.mirror
  if (c.kind === 'k3s') {
    const img = c.armbian_image
    if (img.path) return local(ctx, img.path, img.sha256, 'armbian')
    if (!img.url) throw new PhaseError('flash', undefined, 'armbian_image has neither path nor url', 'set armbian_image.path or .url and re-run')
    const got = await ctx.deps.downloads.fetch(imageByUrl(img.url, mirror, img.sha256))
    return { path: got.path, sha256: got.sha256, source: img.url, os: 'armbian' }
  }
  if (c.image_source === 'local') {
    if (!c.image_path) throw new PhaseError('flash', undefined, 'image_source is local but image_path is not set', 'set image_path and re-run')
    return local(ctx, c.image_path, c.image_sha256, 'talos')
  }
  if (c.image_source === 'url') {
    if (!c.image_path) throw new PhaseError('flash', undefined, 'image_source is url but image_path is not set', 'set image_path to the image URL and re-run')
    const req = { ...imageByUrl(c.image_path, mirror, c.image_sha256), tool: 'talos-image' }
    const got = await ctx.deps.downloads.fetch(req)
    return { path: got.path, sha256: got.sha256, source: c.image_path, os: 'talos' }
  }
  // Factory: the schematic is registered and the image hash checked against the recorded one (talos/factory.ts).
  const img = await resolveTalosImage(ctx)
  return { path: img.path, sha256: img.sha256, source: img.source, os: 'talos' }
}
