// Phase upgrade (Talos, cluster scope, before install): `plan` observes each configured node's Talos
// version (talosctl version against the node's own IP) and the control plane's Kubernetes version (its
// kubelet, through kubectl), and shows the path talosUpgradeRows decides. This build walks K3s waves
// only: a Talos deploy whose file asks for another version stops before touching any node, with the
// commands the plan lists, rather than silently leaving the nodes where they are.
import type { Arch } from '../../tools/catalog.js'
import { PhaseError } from '../../errors.js'
import { Session, type KubeFactory } from '../../phases/addons/session.js'
import { serverTag } from './answers.js'
import { serverVersionArgv } from './argv.js'
import { ensureSchematic, talosCtx } from './factory.js'
import { prepare } from './prepare.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../phases/types.js'
import { talosUpgradeRows } from './upgrade-plan.js'

async function observeRows(ctx: PhaseContext, createKube: KubeFactory, arch: Arch): Promise<PlanStep[]> {
  const cluster = talosCtx(ctx).cluster
  const p = await prepare(ctx, { readOnly: true })
  const configured = p.observed.filter((o) => o.mode === 'configured')
  if (!configured.length || !p.talosconfig) return []
  const running: Record<string, string | undefined> = {}
  await Promise.all(
    configured.map(async (o) => {
      const r = await p.talosctl.run(serverVersionArgv(o.node.ip, p.talosconfig))
      running[o.node.id] = r.code === 0 ? serverTag(r.stdout) : undefined
    })
  )
  const runningKubernetes = await kubernetesVersion(ctx, createKube, arch)
  const schematic =
    cluster.image_source === 'factory' ? (await ensureSchematic(ctx)).id : 'the schematic of your installer'
  return talosUpgradeRows({
    nodes: configured.map((o) => o.node),
    running,
    ...(runningKubernetes ? { runningKubernetes } : {}),
    wantedTalos: cluster.talos_version,
    ...(cluster.kubernetes_version ? { wantedKubernetes: cluster.kubernetes_version } : {}),
    allowDowngrade: cluster.allow_downgrade,
    schematic,
    drainTimeoutSeconds: cluster.drain_timeout
  })
}

/** The API server's version as the first control plane's kubelet reports it (undefined when unreadable). */
async function kubernetesVersion(ctx: PhaseContext, createKube: KubeFactory, arch: Arch): Promise<string | undefined> {
  const session = await Session.open(ctx, createKube, arch).catch(() => undefined)
  if (!session) return undefined
  const out = await session.kubectlRaw(['get', 'nodes', '--output', 'json']).catch(() => undefined)
  if (!out || out.code !== 0) return undefined
  try {
    const items = (
      JSON.parse(out.stdout) as {
        items: { metadata: { labels?: Record<string, string> }; status?: { nodeInfo?: { kubeletVersion?: string } } }[]
      }
    ).items
    const cp = items.find((n) => 'node-role.kubernetes.io/control-plane' in (n.metadata.labels ?? {})) ?? items[0]
    return cp?.status?.nodeInfo?.kubeletVersion
  } catch {
    return undefined
  }
}

export function createTalosUpgradePhase(options: { createKube: KubeFactory; arch?: Arch }): PhaseModule {
  const arch: Arch = options.arch ?? (process.arch === 'x64' ? 'x64' : 'arm64')
  async function run(ctx: PhaseContext): Promise<StepResult> {
    const rows = await observeRows(ctx, options.createKube, arch)
    if (!rows.length)
      return { changed: false, summary: 'every configured node runs the file’s Talos (and Kubernetes) version' }
    const blocked = rows.find((r) => r.action === 'blocked')
    if (blocked)
      throw new PhaseError(
        'upgrade',
        undefined,
        `refused: ${blocked.reason}`,
        'change the file as the plan says and re-run',
        { code: 'UpgradeRefused' }
      )
    const commands = rows.filter((r) => r.node && r.action === 'change').map((r) => `${r.node}: ${r.reason}`)
    throw new PhaseError(
      'upgrade',
      undefined,
      `the file asks for another Talos/Kubernetes version, and this build plans Talos upgrades but does not walk them yet (nothing was touched)`,
      `upgrade as planned, one node at a time — ${commands.join('; ')} — then re-run`,
      { code: 'TalosUpgradeNotWalked' }
    )
  }
  return {
    name: 'upgrade',
    scope: 'cluster',
    appliesTo: (cluster) => cluster.kind === 'talos',
    // Nodes that cannot be observed are not known to run anything yet: install's rows say why (as for K3s).
    plan: (ctx) => observeRows(ctx, options.createKube, arch).catch((): PlanStep[] => []),
    run
  }
}
