// The image every node of a run starts from, whatever the cluster kind: a local file hashed once
// (streaming) so its digest can be recorded and checked, or what deps.downloads fetched and checked.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { PhaseError } from '../errors.js'
import type { PhaseContext } from '../phases/types.js'

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

/** A local image file (relative paths from the working directory), checked against the file's pin. */
export async function localImage(
  ctx: PhaseContext,
  path: string,
  pin: string | undefined,
  os: BaseImage['os']
): Promise<BaseImage> {
  const full = isAbsolute(path) ? path : join(ctx.settings.workingDirectory, path)
  const sha256 = await sha256File(full).catch((e: Error) => {
    throw new PhaseError(
      'flash',
      undefined,
      `cannot read image ${full}: ${e.message}`,
      'fix the image path in the cluster file and re-run'
    )
  })
  if (pin && pin.toLowerCase() !== sha256) {
    throw new PhaseError(
      'flash',
      undefined,
      `image ${full} has sha256 ${sha256}, the cluster file pins ${pin.toLowerCase()}`,
      'replace the file or update the pin, then re-run',
      { code: 'ChecksumMismatch' }
    )
  }
  return { path: full, sha256, source: path, os }
}
