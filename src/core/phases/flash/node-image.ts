// The file actually uploaded for a node. Talos: the cached image as is (the .xz name makes the BMC
// decompress while writing, so 10x fewer bytes cross the LAN). Armbian: a per-node copy with the
// node's identity (see src/core/image/identity.ts); its fingerprint covers base image + identity, so a
// changed IP or key means a different image.
import { createHash } from 'node:crypto'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { buildNodeImage, type NodeIdentity } from '../../image/identity.js'
import type { PhaseContext } from '../types.js'
import { gatewayOf } from '../../config/net.js'
import type { BaseImage } from '../../image/base-image.js'

export interface NodeImage {
  path: string
  /** Passed to the BMC when the upload is the unmodified cached file. */
  sha256?: string
  /** Recorded in the state store: what is on the node. */
  fingerprint: string
  hostKeyFingerprint?: string
  cleanup(): Promise<void>
}

/**
 * What the node's image is: base digest + hostname and network. The authorized key is left out on
 * purpose: rotating the deploy key must not demand a reflash (it is updated over SSH instead).
 */
export function identityFingerprint(base: BaseImage, id: Omit<NodeIdentity, 'hostKey'>): string {
  const { authorizedKey: _key, ...rest } = id
  return createHash('sha256')
    .update(JSON.stringify({ base: base.sha256, ...rest }))
    .digest('hex')
}

export function nodeIdentity(ctx: PhaseContext, node: NodeSpec): Omit<NodeIdentity, 'hostKey'> {
  const key = ctx.settings.secrets.sshPrivateKey
  if (!key)
    throw new PhaseError(
      'flash',
      node.id,
      'no SSH private key to authorize on the new image',
      'set the ssh-private-key input and re-run'
    )
  const net = ctx.cluster.network
  return {
    hostname: node.hostname,
    ip: node.ip,
    prefix: net.prefix,
    gateway: gatewayOf(net, node.ip),
    dns: net.dns,
    authorizedKey: ctx.deps.keys.publicKeyLine(key)
  }
}

export async function prepareNodeImage(ctx: PhaseContext, node: NodeSpec, base: BaseImage): Promise<NodeImage> {
  if (!ctx.kind.image.perNode)
    return { path: base.path, sha256: base.sha256, fingerprint: base.sha256, cleanup: async () => {} }
  const id = nodeIdentity(ctx, node)
  let hostKey
  try {
    hostKey = ctx.deps.keys.hostKey(`root@${node.hostname}`, (n, why) =>
      ctx.reporter.debug(
        `${node.id}: generated host key refused by ssh2 (${why}); generating another (attempt ${n + 1})`
      )
    )
  } catch (error) {
    throw new PhaseError(
      'flash',
      node.id,
      (error as Error).message,
      're-run the workflow (key generation is random; nothing was flashed)',
      { cause: error }
    )
  }
  const dir = join(ctx.settings.tempDir, 'tpi-images')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const target = join(dir, `${node.id}.img`)
  await buildNodeImage(ctx.deps.exec, base.path, target, { ...id, hostKey })
  return {
    path: target,
    // The per-node file differs from every published digest; the BMC's CRC read-back checks the write.
    fingerprint: identityFingerprint(base, id),
    hostKeyFingerprint: hostKey.fingerprint,
    cleanup: () => rm(target, { force: true })
  }
}
