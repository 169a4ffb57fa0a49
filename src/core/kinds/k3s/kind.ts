// The K3s wing: Armbian on the eMMC, reached over SSH; k3s installed air-gapped; os-bootstrap before
// install and the Rockchip NPU stack after the addons.
import type { Cluster, NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { localImage, type BaseImage } from '../../image/base-image.js'
import type { PhaseContext } from '../../phases/types.js'
import { member, notMember, unknown, type Membership } from '../../redeploy/live-member.js'
import { withPool } from '../../remote/shells.js'
import type { PhaseName } from '../../settings.js'
import { imageByUrl } from '../../tools/catalog.js'
import type { ClusterKind } from '../types.js'
import { topology, wantsNpu, type K3sCluster } from './config.js'
import { k3sInstallPhase } from './install-phase.js'
import { k3sJoinPhase } from './join-phase.js'
import { rewriteKubeconfig, writeKubeconfig } from './kubeconfig.js'
import { firstServerKubeconfig, observeK3s } from './observation.js'
import { installedPackages } from './os-bootstrap/check-script.js'
import { ISCSI_PACKAGE } from '../../phases/addons/prerequisites.js'
import { k3sLifecycle } from './lifecycle/index.js'
import { checkRkllamaLock } from './npu/lock.js'
import { perRun } from '../../phases/per-run.js'

const k3s = (cluster: Cluster): K3sCluster => cluster as K3sCluster

async function resolveImage(ctx: PhaseContext): Promise<BaseImage> {
  const img = k3s(ctx.cluster).armbian_image
  if (img.path) return localImage(ctx, img.path, img.sha256, 'armbian')
  if (!img.url)
    throw new PhaseError(
      'flash',
      undefined,
      'armbian_image has neither path nor url',
      'set armbian_image.path or .url and re-run'
    )
  const got = await ctx.deps.downloads.fetch(imageByUrl(img.url, ctx.settings.mirror, img.sha256))
  return { path: got.path, sha256: got.sha256, source: img.url, os: 'armbian' }
}

type NodeList = { server: string; names: Set<string> } | { why: string }
const nodeLists = perRun<NodeList>()

/** `k3s kubectl get nodes` on the first server of the file that answers (once per run). */
async function k3sNodeList(ctx: PhaseContext): Promise<NodeList> {
  if (!ctx.settings.secrets.sshPrivateKey) return { why: 'no SSH private key to ask the cluster' }
  const servers = topology(ctx.cluster).servers
  const answering = (
    await Promise.all(
      servers.map(async (s) =>
        (await k3sKind.probe.detail(ctx.deps, ctx.cluster, s.ip).catch(() => undefined)) !== undefined ? s : undefined
      )
    )
  ).filter((s): s is NodeSpec => s !== undefined)
  if (!answering.length) return { why: `no control plane of the file answers (${servers.map((s) => s.id).join(', ')})` }
  const seen: string[] = []
  for (const server of answering) {
    try {
      const out = await withPool(ctx, 'flash', async (pool) =>
        (await pool.shell(server)).exec('k3s kubectl get nodes -o json', { timeoutMs: 20_000 })
      )
      if (out.code !== 0) {
        seen.push(`${server.id}: k3s kubectl exited ${out.code}`)
        continue
      }
      const items = (JSON.parse(out.stdout) as { items?: { metadata?: { name?: string } }[] }).items ?? []
      return { server: server.id, names: new Set(items.map((i) => i.metadata?.name ?? '')) }
    } catch (error) {
      seen.push(`${server.id}: ${(error as Error).message.split('\n')[0]}`)
    }
  }
  return { why: `no control plane of the file lists its nodes (${seen.join('; ')})` }
}

async function membership(ctx: PhaseContext, node: NodeSpec): Promise<Membership> {
  const list = await nodeLists(ctx.outputs, () => k3sNodeList(ctx), 'k3s-nodes')
  if ('why' in list) return unknown(list.why)
  return list.names.has(node.hostname)
    ? member(`the k3s API on ${list.server} lists Node "${node.hostname}"`)
    : notMember(`the k3s API on ${list.server} answers and lists no Node "${node.hostname}"`)
}

/** The first server's k3s.yaml over SSH, its server address rewritten to the API endpoint. */
async function readOnlyKubeconfig(ctx: PhaseContext, dir: string): Promise<string> {
  const raw = await withPool(ctx, 'addons', (pool) => firstServerKubeconfig(ctx, pool, 'addons'))
  const path = await writeKubeconfig(dir, rewriteKubeconfig(raw, ctx.cluster.apiEndpoint))
  ctx.outputs.kubeconfigPath = path
  return path
}

function staticReason(cluster: Cluster, node: NodeSpec, phase: PhaseName): string | undefined {
  const c = k3s(cluster)
  switch (phase) {
    case 'os-bootstrap':
      return `packages, kernel modules, sysctl, swap off${node.has_nvme ? `, NVMe ${node.nvme_device} on ${node.nvme_mount}` : ''}`
    case 'install':
      return node.role === 'controlplane'
        ? `install k3s ${c.k3s_version} as server (air-gapped)`
        : `install k3s ${c.k3s_version} as agent (air-gapped)`
    case 'join':
      return node.role === 'controlplane'
        ? 'wait until Ready as control plane'
        : 'join the cluster and wait until Ready'
    case 'npu':
      return 'check the RKNPU driver, install the NPU runtimes' + (cluster.npu?.deploy_rkllama ? ' and rkllama' : '')
    default:
      return undefined
  }
}

export const k3sKind: ClusterKind = {
  name: 'k3s',
  os: 'armbian',
  image: {
    describe: (cluster) => k3s(cluster).armbian_image.path ?? k3s(cluster).armbian_image.url ?? '(no image set)',
    name: (cluster) => k3s(cluster).armbian_image.path ?? k3s(cluster).armbian_image.url ?? 'the Armbian image',
    resolve: resolveImage,
    perNode: true,
    byUrl(cluster) {
      const img = k3s(cluster).armbian_image
      return img && !img.path && img.url
        ? { path: 'armbian_image.url', pinField: 'armbian_image.sha256', url: img.url, pin: img.sha256 }
        : undefined
    }
  },
  probe: {
    port: (cluster) => k3s(cluster).ssh.port,
    service: 'SSH',
    silence: 'no SSH banner',
    waitsFor: 'login: and SSH',
    bootLine: /login:/,
    bootLineName: '"login:"',
    async detail(deps, cluster, ip, timeoutMs = 3000) {
      const port = k3s(cluster).ssh.port
      const t = deps.net.map(ip, port)
      const banner = await deps.ssh.probe(t.host, t.port, timeoutMs)
      return banner === undefined ? undefined : `SSH banner "${banner.trim()}" on ${ip}:${port}`
    },
    membership
  },
  sshLogin: (cluster) => ({ port: k3s(cluster).ssh.port, user: k3s(cluster).ssh.user }),
  readOnlyKubeconfig,
  get install() {
    return k3sInstallPhase
  },
  get join() {
    return k3sJoinPhase
  },
  checkSettings: (cluster, settings) => checkRkllamaLock(k3s(cluster), settings),
  extraPhases: (cluster) => ({ afterBoot: ['os-bootstrap'], afterAddons: wantsNpu(cluster) ? ['npu'] : [] }),
  staticReason,
  longhorn: {
    dataPath: (cluster) => k3s(cluster).longhorn_path,
    privilegedNamespace: false,
    iscsiFromImage: () => 'ask-nodes',
    iscsiObserved: async (ctx, node) => {
      const seen = await observeK3s(ctx, node, { phase: 'addons' })
      const check = seen.sections.bootstrap
      return check?.code === 0 ? installedPackages(check.stdout).includes(ISCSI_PACKAGE) : undefined
    }
  },
  lifecycle: k3sLifecycle
}
