// The Talos wing: Talos on the eMMC (Image Factory schematic, a local file or a URL), reached through the
// Talos API (talosctl); machine configs applied in maintenance mode, etcd bootstrapped once.
import type { Cluster } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { localImage, type BaseImage } from '../../image/base-image.js'
import type { PhaseContext } from '../../phases/types.js'
import { unknown } from '../../redeploy/live-member.js'
import type { PhaseName } from '../../settings.js'
import { imageByUrl } from '../../tools/catalog.js'
import type { ClusterKind } from '../types.js'
import { resolveTalosImage } from './factory.js'
import { talosInstallPhase } from './install-phase.js'
import { fetchKubeconfig, talosJoinPhase } from './join-phase.js'
import { talosLifecycle } from './lifecycle/index.js'
import { TALOS_LONGHORN_PATH } from './patches.js'
import { prepare } from './prepare.js'

type TalosCluster = Extract<Cluster, { kind: 'talos' }>
const talos = (cluster: Cluster): TalosCluster => cluster as TalosCluster

export const TALOS_API_PORT = 50000
/** The system extension that brings iSCSI (Longhorn) to Talos. */
export const ISCSI_EXTENSION = 'siderolabs/iscsi-tools'

async function resolveImage(ctx: PhaseContext): Promise<BaseImage> {
  const c = talos(ctx.cluster)
  if (c.image_source === 'local') {
    if (!c.image_path)
      throw new PhaseError(
        'flash',
        undefined,
        'image_source is local but image_path is not set',
        'set image_path and re-run'
      )
    return localImage(ctx, c.image_path, c.image_sha256, 'talos')
  }
  if (c.image_source === 'url') {
    if (!c.image_path)
      throw new PhaseError(
        'flash',
        undefined,
        'image_source is url but image_path is not set',
        'set image_path to the image URL and re-run'
      )
    const req = { ...imageByUrl(c.image_path, ctx.settings.mirror, c.image_sha256), tool: 'talos-image' }
    const got = await ctx.deps.downloads.fetch(req)
    return { path: got.path, sha256: got.sha256, source: c.image_path, os: 'talos' }
  }
  // Factory: the schematic is registered and the image hash checked against the recorded one (factory.ts).
  const img = await resolveTalosImage(ctx)
  return { path: img.path, sha256: img.sha256, source: img.source, os: 'talos' }
}

/** `talosctl kubeconfig` with a talosconfig rendered from the kept secrets bundle. */
async function readOnlyKubeconfig(ctx: PhaseContext, dir: string): Promise<string | undefined> {
  const p = await prepare(ctx, { readOnly: true })
  return p.talosconfig ? await fetchKubeconfig(ctx, p.talosctl, p.talosconfig, dir) : undefined
}

function staticReason(cluster: Cluster, node: Cluster['nodes'][number], phase: PhaseName): string | undefined {
  switch (phase) {
    case 'install':
      return `apply the ${node.role} machine config (install disk ${node.install_disk ?? '/dev/mmcblk0'})`
    case 'join':
      return node === cluster.nodes[0]
        ? 'bootstrap etcd once, then wait for talosctl health'
        : 'wait until the node is healthy'
    default:
      return undefined
  }
}

export const talosKind: ClusterKind = {
  name: 'talos',
  os: 'talos',
  image: {
    describe(cluster, schematicId) {
      const c = talos(cluster)
      if (c.image_source === 'factory')
        return `factory.talos.dev ${c.talos_version} schematic ${schematicId ?? '(computed at deploy)'}`
      return c.image_path ?? '(no image_path set)'
    },
    name(cluster) {
      const c = talos(cluster)
      if (c.image_source === 'factory') return `Talos ${c.talos_version} from the Image Factory`
      return c.image_path ?? `Talos ${c.talos_version}`
    },
    resolve: resolveImage,
    perNode: false,
    upgradedInPlace: true,
    byUrl(cluster) {
      const c = talos(cluster)
      return c.image_source === 'url' && c.image_path
        ? { path: 'image_path', pinField: 'image_sha256', url: c.image_path, pin: c.image_sha256 }
        : undefined
    }
  },
  probe: {
    port: () => TALOS_API_PORT,
    service: 'the Talos API',
    silence: 'connection refused or no answer',
    waitsFor: 'the Talos API',
    // Talos prints "entering maintenance service" (real-samples C1) without a config, and "machine is
    // running and ready" once configured; older builds said "maintenance mode".
    bootLine: /entering maintenance service|maintenance mode|machine is running and ready/,
    bootLineName: 'Talos maintenance/ready',
    async detail(deps, _cluster, ip, timeoutMs = 3000) {
      // The API speaks gRPC over TLS: "it accepts a connection" is the read-only check.
      const t = deps.net.map(ip, TALOS_API_PORT)
      return (await deps.tcp(t.host, t.port, timeoutMs)) ? `Talos API on ${ip}:${TALOS_API_PORT}` : undefined
    },
    membership: async () => unknown('the Talos cluster is not asked for its members')
  },
  // Talos runs no sshd; the toolkit's defaults are never used to log in to a Talos node.
  sshLogin: () => ({ port: 22, user: 'root' }),
  readOnlyKubeconfig,
  get install() {
    return talosInstallPhase
  },
  get join() {
    return talosJoinPhase
  },
  extraPhases: () => ({ afterBoot: [], afterAddons: [] }),
  staticReason,
  longhorn: {
    dataPath: () => TALOS_LONGHORN_PATH,
    privilegedNamespace: true,
    iscsiFromImage(cluster) {
      const c = talos(cluster)
      if (c.image_source !== 'factory') return {} // a custom image is the operator's to check
      if (c.image_factory.extensions.includes(ISCSI_EXTENSION)) return {}
      return {
        refusal: `Longhorn needs iSCSI, but the Talos schematic has no ${ISCSI_EXTENSION} extension; add it to image_factory.extensions (this changes the schematic, so the nodes are upgraded to the new image)`
      }
    }
  },
  lifecycle: talosLifecycle
}
