// Phase upgrade (Talos, cluster scope, before install): `plan` observes each configured node's Talos
// version (talosctl version against the node's own IP) and the cluster's Kubernetes version (the lowest
// kubelet, through kubectl), and shows the path talosUpgradeRows decides; `deploy` walks it. Talos goes
// through the gated wave (control planes one at a time, then workers; each `talosctl upgrade --wait`
// with the talosctl of the version the node runs; an A/B fallback stops the wave and is never retried
// for that target), Kubernetes through `talosctl upgrade-k8s --from --to` once every node is Ready and
// etcd is healthy (a re-run resumes it). The order of the two is the path's (Talos first, unless the
// new Talos cannot run today's Kubernetes).
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import type { NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import { Session, type KubeFactory } from '../../phases/addons/session.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../phases/types.js'
import { talosctl as talosctlArtifact, type Arch } from '../../tools/catalog.js'
import { DRAIN_FACTS_ARGS, drainBlockers, drainFactsOf, nodeOrder } from '../../upgrade/order.js'
import { talosPath, type TalosPath } from '../../upgrade/path.js'
import { compareVersions, parseVersion } from '../../upgrade/versions.js'
import { phaseWave, POLL_MS } from '../../upgrade/phase-wave.js'
import { UpgradeStopped, type NodeTiming } from '../../upgrade/wave.js'
import { lowestKubelet } from './answers.js'
import { ensureSchematic, localSchematic, talosCtx } from './factory.js'
import { prepare, type Prepared } from './prepare.js'
import { installerImage } from './schematic.js'
import { runnerArch } from './tool.js'
import { talosDriver } from './upgrade-driver.js'
import { upgradeK8sArgv } from './upgrade-argv.js'
import { talosUpgradeRows } from './upgrade-plan.js'

const PHASE = 'upgrade'

interface Observed {
  p: Prepared
  /** Nodes that did not answer at all, with what talosctl said: an upgrade does not start without them. */
  lost: string[]
  nodes: NodeSpec[]
  running: Record<string, string | undefined>
  runningKubernetes?: string
  schematic: string
  rows: PlanStep[]
  /** kubectl against the cluster (stdout; throws on failure), when its API could be reached. */
  kubectl?: (args: string[]) => Promise<string>
}

async function observe(
  ctx: PhaseContext,
  createKube: KubeFactory,
  arch: Arch,
  forPlan = false
): Promise<Observed | undefined> {
  const cluster = talosCtx(ctx).cluster
  const p = await prepare(ctx, { readOnly: true })
  const configured = p.observed.filter((o) => o.mode === 'configured')
  if (!configured.length || !p.talosconfig) return undefined
  // One `talosctl version` over every configured node (prepare.ts), shared with drift.
  const versions = await p.versions()
  const running: Record<string, string | undefined> = {}
  for (const o of configured) running[o.node.id] = versions[o.node.id]
  const session = await Session.open(ctx, createKube, arch).catch(() => undefined)
  const kubectl = session
    ? async (args: string[]): Promise<string> => {
        const r = await session.kubectlRaw(args)
        if (r.code !== 0) throw new Error(`kubectl ${args[0]}: ${lastLine(r.stderr || r.stdout) || `exit ${r.code}`}`)
        return r.stdout
      }
    : undefined
  // The configs the nodes hold name their kubelet (observe.ts); the API is asked only when one does not.
  const runningKubernetes =
    lowestKubelet(configured.map((o) => o.applied)) ?? (kubectl ? await kubernetesVersion(kubectl) : undefined)
  const schematic = cluster.image_source === 'factory' ? (await ensureSchematic(ctx)).id : localSchematic(ctx).id
  const nodes = configured.map((o) => o.node)
  // What could block each node's drain (Talos drains inside talosctl upgrade): one read, for the plan.
  const facts = kubectl && forPlan ? await kubectl(DRAIN_FACTS_ARGS).then(drainFactsOf, () => undefined) : undefined
  const blockers = facts
    ? Object.fromEntries(nodes.map((n) => [n.id, drainBlockers(n.hostname, facts.pods, facts.pdbs)]))
    : undefined
  const rows = talosUpgradeRows({
    ...(blockers ? { blockers } : {}),
    nodes,
    running,
    ...(runningKubernetes ? { runningKubernetes } : {}),
    wantedTalos: cluster.talos_version,
    ...(cluster.kubernetes_version ? { wantedKubernetes: cluster.kubernetes_version } : {}),
    allowDowngrade: cluster.allow_downgrade,
    schematic,
    drainTimeoutSeconds: cluster.drain_timeout,
    apiEndpoint: cluster.apiEndpoint
  })
  const lost = p.observed.filter((x) => x.mode === 'unreachable').map((x) => `${x.node.id} (${x.detail})`)
  return {
    p,
    lost,
    nodes,
    running,
    ...(runningKubernetes ? { runningKubernetes } : {}),
    schematic,
    rows,
    ...(kubectl ? { kubectl } : {})
  }
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1)?.slice(0, 300) ?? ''

/**
 * The cluster's Kubernetes version: the lowest kubelet any node reports (undefined when unreadable). The
 * lowest, so an upgrade-k8s cut off after the control planes resumes for the workers.
 */
async function kubernetesVersion(kubectl: (args: string[]) => Promise<string>): Promise<string | undefined> {
  const out = await kubectl(['get', 'nodes', '--output', 'json']).catch(() => undefined)
  if (!out) return undefined
  try {
    const items = (JSON.parse(out) as { items: { status?: { nodeInfo?: { kubeletVersion?: string } } }[] }).items
    const versions = items
      .map((n) => n.status?.nodeInfo?.kubeletVersion)
      .filter((v): v is string => !!v && !!parseVersion(v))
    return versions.sort((a, b) => compareVersions(parseVersion(a)!, parseVersion(b)!))[0]
  } catch {
    return undefined
  }
}

/** The first Talos hop starts where the oldest node is; `running` keeps nodes a wave already moved on. */
function pathOf(ctx: PhaseContext, o: Observed): TalosPath {
  const cluster = talosCtx(ctx).cluster
  const present = Object.values(o.running).filter((v): v is string => !!v && !!parseVersion(v))
  const oldest = present.sort((a, b) => compareVersions(parseVersion(a)!, parseVersion(b)!))[0] ?? cluster.talos_version
  return talosPath({
    runningTalos: oldest,
    wantedTalos: cluster.talos_version,
    runningKubernetes: o.runningKubernetes ?? 'v0.0.0',
    ...(cluster.kubernetes_version ? { wantedKubernetes: cluster.kubernetes_version } : {}),
    allowDowngrade: cluster.allow_downgrade
  })
}

export function createTalosUpgradePhase(options: { createKube: KubeFactory; arch?: Arch }): PhaseModule {
  const arch: Arch = options.arch ?? (process.arch === 'x64' ? 'x64' : 'arm64')

  async function run(ctx: PhaseContext): Promise<StepResult> {
    const cluster = talosCtx(ctx).cluster
    const o = await observe(ctx, options.createKube, arch)
    if (!o?.rows.length)
      return { changed: false, summary: 'every configured node runs the file’s Talos (and Kubernetes) version' }
    const blocked = o.rows.find((r) => r.action === 'blocked')
    if (blocked)
      throw new PhaseError(
        PHASE,
        undefined,
        `refused: ${blocked.reason}`,
        'change the file as the plan says and re-run',
        {
          code: 'UpgradeRefused'
        }
      )
    if (o.lost.length)
      throw new UpgradeStopped(
        undefined,
        'before: every node Ready',
        `not reachable: ${o.lost.join(', ')}; no node was touched`,
        []
      )
    const unread = o.nodes.filter((n) => !o.running[n.id]).map((n) => n.id)
    if (unread.length)
      throw new UpgradeStopped(
        undefined,
        'before: every node Ready',
        `the Talos version of ${unread.join(', ')} could not be read; no node was touched`,
        []
      )

    const path = pathOf(ctx, o)
    const tools = new Map<string, Promise<Talosctl>>()
    const talosctlFor = (version: string): Promise<Talosctl> => {
      let t = tools.get(version)
      if (!t) {
        t = ctx.deps.downloads
          .fetch(talosctlArtifact(version, runnerArch(), ctx.settings.mirror))
          .then((got) =>
            ctx.deps.talosctl({ binary: got.path, cwd: ctx.settings.workingDirectory, timeoutMs: 120_000 })
          )
        tools.set(version, t)
      }
      return t
    }
    const timeoutSeconds = cluster.cluster_timeout
    const driver = talosDriver({
      nodes: o.nodes,
      talosconfig: o.p.talosconfig,
      talosctlFor,
      reader: o.p.talosctl,
      image: (version) => installerImage(o.schematic, version),
      timeoutSeconds,
      ...(o.kubectl ? { kubectl: o.kubectl } : {}),
      sleep: ctx.deps.sleep,
      pollMs: POLL_MS
    })
    const timings: NodeTiming[] = []
    ctx.outputs.values.upgrade = timings
    const done: string[] = []

    for (const what of path.order) {
      if (what === 'talos') {
        const order = nodeOrder(o.nodes, o.running, cluster.talos_version)
        const result = await phaseWave(ctx, { order, hops: path.talos.hops, driver, abFallback: true, timings })
        const moved = [...new Set(result.filter((t) => t.outcome === 'upgraded').map((t) => t.node))]
        done.push(
          `Talos ${path.talos.from} → ${path.talos.to} on ${moved.length} node(s)${moved.length ? `: ${moved.join(', ')}` : ''}`
        )
        continue
      }
      // Kubernetes: every node Ready and etcd healthy first, then upgrade-k8s from the first control plane.
      const cp = o.nodes.find((n) => n.role === 'controlplane')!
      for (const hop of path.kubernetes.hops) {
        const seen = await Promise.all(
          o.nodes.map((n) =>
            driver.observe({ node: n.id, role: n.role, ip: n.ip, from: '', to: '', action: 'upgrade', reason: '' })
          )
        )
        const notReady = o.nodes.filter((_, i) => !seen[i]!.ready).map((n) => n.id)
        if (notReady.length)
          throw new UpgradeStopped(
            undefined,
            'before upgrade-k8s: every node Ready',
            `${notReady.join(', ')} not Ready; Kubernetes not touched`,
            timings
          )
        const etcd = await driver.etcd?.()
        if (etcd && !etcd.ok)
          throw new UpgradeStopped(
            undefined,
            'before upgrade-k8s: etcd healthy',
            `${etcd.seen}; Kubernetes not touched`,
            timings
          )
        ctx.reporter.info(`Kubernetes: ${hop.from} → ${hop.to} (talosctl upgrade-k8s against ${cp.id})`)
        const start = Date.now()
        const talosctl = await talosctlFor(cluster.talos_version)
        const r = await talosctl.run(
          upgradeK8sArgv({ ip: cp.ip, talosconfig: o.p.talosconfig, from: hop.from, to: hop.to }),
          {
            timeoutMs: timeoutSeconds * 1000 + 60_000
          }
        )
        if (r.code !== 0)
          throw new UpgradeStopped(
            cp.id,
            'upgrade-k8s',
            `talosctl upgrade-k8s --to ${hop.to}: ${(r.stderr || r.stdout).trim().split('\n').at(-1) ?? `exit ${r.code}`}`,
            timings,
            're-run the same command: upgrade-k8s resumes, nodes already at the new Kubernetes are left as they are'
          )
        timings.push({
          node: 'kubernetes',
          from: hop.from,
          to: hop.to,
          steps: [{ step: 'upgrade', ms: Date.now() - start }],
          outcome: 'upgraded'
        })
        done.push(`Kubernetes ${hop.from} → ${hop.to}`)
      }
    }
    return { changed: true, summary: done.join('; ') }
  }

  return {
    name: PHASE,
    scope: 'cluster',
    appliesTo: (cluster) => cluster.kind === 'talos',
    // Nodes in maintenance mode are install's; a node that does not answer at all holds the upgrade back.
    plan: async (ctx) => {
      const o = await observe(ctx, options.createKube, arch, true).catch(() => undefined)
      if (!o?.rows.length) return []
      if (!o.lost.length || o.rows.some((r) => r.action === 'blocked')) return o.rows
      return [
        {
          phase: PHASE,
          action: 'blocked',
          reason: `the upgrade waits until every node can be observed: not reachable: ${o.lost.join(', ')}`
        },
        ...o.rows
      ]
    },
    run
  }
}
