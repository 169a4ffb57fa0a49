// Phase addons (cluster scope, both kinds): helm and kubectl on the runner, `helm upgrade --install` of the
// pinned charts (charts.ts) with values from the cluster file and the repository, skipped when the chart
// version and values hash already match. Disabled addons that are installed are reported, and uninstalled
// only with addons.prune. MetalLB gets its pool from metallb_ip_range; Longhorn is refused without iSCSI.
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { NodeSpec } from '../../config/model.js'
import type { DriftFinding } from '../../drift/types.js'
import { PhaseError } from '../../errors.js'
import type { Arch } from '../../tools/catalog.js'
import type { AddonStatus, PhaseContext, PhaseModule, PlanAction, PlanStep, StepResult } from '../types.js'
import { CHARTS, chartRef, type AddonName } from './charts.js'
import { decide, enabledAddons, type AddonAction, type AddonDecision } from './decide.js'
import { uninstallArgs, upgradeInstallArgs } from './helm-args.js'
import {
  ensureLonghornNamespace,
  ensureMetallbPool,
  metallbKinds,
  readMetallbPool,
  type FoundObjects
} from './post-install.js'
import { dpkgProbe, type PackageProbe } from './prerequisites.js'
import { Session, type KubeFactory } from './session.js'
import { wantedAddons, type WantedWithValues } from './wanted.js'
import { upgradeOrRollBack } from '../../upgrade/addons.js'

export interface AddonsPhaseOptions {
  /** Builds the helm/kubectl runner (src/adapters/kube createKube); the core never constructs adapters. */
  createKube: KubeFactory
  /** The runner's architecture (default: this process's). */
  arch?: Arch
  /** How a K3s node is asked for open-iscsi when os-bootstrap left no record (default: dpkg-query over SSH). */
  packageProbe?: PackageProbe
  /** Pause between retries while MetalLB's webhook is not answering yet (default 5 s). */
  retryDelayMs?: number
}

const PLAN_ACTION: Record<AddonAction, PlanAction> = {
  install: 'run',
  upgrade: 'change',
  remove: 'change',
  unchanged: 'skip',
  'disabled-but-installed': 'skip',
  refused: 'blocked'
}

function planStep(d: AddonDecision): PlanStep {
  return {
    phase: 'addons',
    action: PLAN_ACTION[d.action],
    reason: `${d.addon}: ${d.action} — ${d.reason}`,
    details: {
      addon: d.addon,
      chart: d.spec.chart,
      version: d.spec.version,
      namespace: d.spec.namespace,
      action: d.action,
      ...(d.found ? { installed: d.found.chart } : {})
    }
  }
}

export function createAddonsPhase(options: AddonsPhaseOptions): PhaseModule {
  const arch: Arch = options.arch ?? (process.arch === 'x64' ? 'x64' : 'arm64')
  const probe = options.packageProbe ?? dpkgProbe
  const retryDelayMs = options.retryDelayMs ?? 5_000

  async function observe(
    ctx: PhaseContext,
    prerequisites: { probe: PackageProbe; nodes?: NodeSpec[] } = { probe },
    readPool = false
  ): Promise<{
    session?: Session
    wanted: Map<AddonName, WantedWithValues>
    decisions: AddonDecision[]
    pool?: Promise<FoundObjects>
  }> {
    const wanted = await wantedAddons(ctx, prerequisites.probe, prerequisites.nodes)
    const session = await Session.open(ctx, options.createKube, arch)
    // MetalLB's pool is read with the releases, in the same kubectl call: a converged run reads once.
    const withPool = readPool && wanted.has('metallb')
    const read = session ? await session.read(withPool ? metallbKinds(ctx) : []) : undefined
    const found = read?.releases ?? []
    const pool = session && withPool ? readMetallbPool(ctx, session, read?.objects) : undefined
    return {
      ...(session ? { session } : {}),
      ...(pool ? { pool } : {}),
      wanted,
      decisions: decide(wanted, found, ctx.cluster.addons.prune)
    }
  }

  async function apply(
    ctx: PhaseContext,
    session: Session,
    d: AddonDecision,
    wanted?: WantedWithValues,
    pool?: Promise<FoundObjects>
  ): Promise<AddonStatus> {
    const row = { name: d.addon, chart: d.spec.chart, version: d.spec.version }
    const timeout = ctx.cluster.cluster_timeout
    switch (d.action) {
      case 'refused':
        ctx.reporter.warn(`addon ${d.addon} not installed: ${d.reason}`)
        return { ...row, status: 'skipped', detail: d.reason }
      case 'disabled-but-installed':
        ctx.reporter.warn(`addon ${d.addon}: ${d.reason}`)
        return { ...row, version: d.found?.chart ?? row.version, status: 'disabled-but-installed', detail: d.reason }
      case 'remove':
        await session.helm(`uninstalling ${d.spec.release}`, uninstallArgs(d.spec, timeout))
        return { ...row, status: 'removed', detail: d.reason }
      case 'unchanged':
        if (d.addon === 'metallb' && (await ensureMetallbPool(ctx, session, retryDelayMs, pool)))
          return { ...row, status: 'upgraded', detail: 'address pool applied' }
        return { ...row, status: 'unchanged', detail: d.reason }
      default: {
        if (d.addon === 'longhorn') await ensureLonghornNamespace(ctx.kind, session)
        const dir = join(ctx.settings.tempDir, 'addons')
        await mkdir(dir, { recursive: true, mode: 0o700 })
        const file = join(dir, `${d.spec.release}-values.yaml`)
        await writeFile(file, stringify(wanted!.values), { mode: 0o600 })
        ctx.reporter.info(
          `${d.action === 'install' ? 'installing' : 'upgrading'} ${chartRef(d.spec)} in ${d.spec.namespace} (${d.reason})`
        )
        const args = upgradeInstallArgs(d.spec, file, timeout, ctx.settings.mirror)
        // A failed upgrade of a running release is rolled back; a failed first install has nothing to go back to.
        if (d.action === 'install') await session.helm(`helm upgrade --install ${d.spec.release}`, args)
        else await upgradeOrRollBack((what, a) => session.helm(what, a), d.spec, args, timeout)
        if (d.addon === 'metallb') await ensureMetallbPool(ctx, session, retryDelayMs)
        // The decision's reason describes the state before ("not installed"); the row says what is now.
        return {
          ...row,
          status: d.action === 'install' ? 'installed' : 'upgraded',
          detail: d.action === 'install' ? `release ${d.spec.release} in ${d.spec.namespace}` : d.reason
        }
      }
    }
  }

  async function run(ctx: PhaseContext): Promise<StepResult> {
    const { session, wanted, decisions, pool } = await observe(ctx, { probe }, true)
    if (!session)
      throw new PhaseError(
        'addons',
        undefined,
        'no kubeconfig for the cluster (neither from this run nor in the state folder)',
        'run the install and join phases (K3s) or bootstrap (Talos) first, then re-run',
        { code: 'NoKubeconfig' }
      )
    const statuses: AddonStatus[] = []
    for (const d of decisions) {
      try {
        statuses.push(await apply(ctx, session, d, wanted.get(d.addon), pool))
      } catch (error) {
        statuses.push({
          name: d.addon,
          chart: d.spec.chart,
          version: d.spec.version,
          status: 'failed',
          detail: (error as Error).message
        })
        ctx.outputs.addons.push(...statuses)
        throw error
      }
    }
    ctx.outputs.addons.push(...statuses)
    const refused = decisions.filter((d) => d.action === 'refused')
    if (refused.length)
      throw new PhaseError(
        'addons',
        undefined,
        refused.map((d) => `${d.addon} refused: ${d.reason}`).join('; '),
        'fix the prerequisite and re-run; the other addons are done',
        { code: 'AddonRefused' }
      )
    const changed = statuses.filter((s) => ['installed', 'upgraded', 'removed'].includes(s.status))
    const summary = statuses.map((s) => `${s.name} ${s.status}`).join(', ') || 'no addons enabled or installed'
    return { changed: changed.length > 0, summary }
  }

  return {
    name: 'addons',
    scope: 'cluster',
    appliesTo: (cluster) => enabledAddons(cluster).length > 0 || cluster.addons.prune,
    async plan(ctx): Promise<PlanStep[]> {
      // Read-only: a values file that cannot be read blocks the plan; a cluster that cannot be asked
      // leaves every enabled addon as a possible install, with the reason.
      const wanted = await wantedAddons(ctx, probe).catch((error: Error) => error)
      if (wanted instanceof Error)
        return enabledAddons(ctx.cluster).map((addon) =>
          planStep({ addon, spec: CHARTS[addon], action: 'refused', reason: wanted.message })
        )
      let unreachable = 'cluster not reachable yet (no kubeconfig)'
      try {
        const session = await Session.open(ctx, options.createKube, arch)
        if (session) return decide(wanted, await session.releases(), ctx.cluster.addons.prune).map(planStep)
      } catch (error) {
        unreachable = `releases could not be read (${(error as Error).message})`
      }
      return [...wanted.values()].map((w) =>
        planStep({
          addon: w.spec.addon,
          spec: w.spec,
          action: w.refused ? 'refused' : 'install',
          reason: w.refused ?? `${unreachable}; install ${chartRef(w.spec)} in ${w.spec.namespace}`
        })
      )
    },
    run,
    async drift(ctx): Promise<DriftFinding[]> {
      let observed
      try {
        // Only the nodes that answer (the others have their row), and a node that cannot be asked (another
        // host key, a refused login) is not counted as missing iSCSI: the node modules report why.
        observed = await observe(ctx, {
          probe: (c, node, pkg) => probe(c, node, pkg).catch(() => true),
          nodes: ctx.nodes
        })
      } catch (error) {
        return [
          {
            subject: 'addons',
            field: 'addon.releases',
            wanted: 'readable',
            found: (error as Error).message,
            kind: 'unreachable',
            fixedBy: []
          }
        ]
      }
      if (!observed.session)
        return [
          {
            subject: 'addons',
            field: 'addon.releases',
            wanted: 'readable',
            found: 'no kubeconfig',
            kind: 'unreachable',
            fixedBy: []
          }
        ]
      return observed.decisions.flatMap((d) => driftOf(d, ctx.cluster.addons.prune))
    }
  }
}

function driftOf(d: AddonDecision, prune: boolean): DriftFinding[] {
  const at = { subject: d.addon, kind: 'drift' as const, path: ['addons', d.addon] }
  switch (d.action) {
    case 'install':
      return [
        {
          ...at,
          field: `addon.${d.addon}.installed`,
          wanted: chartRef(d.spec),
          found: 'not installed',
          fixedBy: ['addons']
        }
      ]
    case 'disabled-but-installed':
    case 'remove':
      return [
        {
          ...at,
          field: `addon.${d.addon}.installed`,
          wanted: 'not installed (disabled)',
          found: d.found?.chart ?? 'installed',
          fixedBy: prune ? ['addons'] : []
        }
      ]
    case 'upgrade': {
      const f = d.found!
      const out: DriftFinding[] = []
      if (f.chart !== chartRef(d.spec))
        out.push({
          ...at,
          field: `addon.${d.addon}.version`,
          wanted: chartRef(d.spec),
          found: f.chart,
          fixedBy: ['addons']
        })
      if (f.status !== 'deployed')
        out.push({ ...at, field: `addon.${d.addon}.status`, wanted: 'deployed', found: f.status, fixedBy: ['addons'] })
      if (f.valuesHash !== d.wantedHash)
        out.push({
          ...at,
          field: `addon.${d.addon}.values`,
          wanted: `sha256 ${d.wantedHash?.slice(0, 12)}`,
          found: `sha256 ${f.valuesHash?.slice(0, 12) ?? 'unknown'}`,
          fixedBy: ['addons']
        })
      return out
    }
    case 'refused':
      return [
        {
          ...at,
          field: `addon.${d.addon}.installed`,
          wanted: chartRef(d.spec),
          found: `cannot install: ${d.reason}`,
          kind: 'drift',
          fixedBy: []
        }
      ]
    default:
      return []
  }
}
