// The one entry point every front calls. It loads and validates the cluster file, then plans, deploys or
// checks drift by ordering the phase modules. It prints nothing itself: all output goes through the
// reporter, and the caller maps the result to outputs, a summary and an exit code.
import { isAbsolute, join } from 'node:path'
import { withPinnedDigests } from './tools/pins.js'
import { nodeLimit, nodeReporter, runAcrossNodes, sharedFetches } from './node-steps.js'
import { loadClusterFile, type LoadResult } from './config/load.js'
import type { Cluster, NodeSpec } from './config/model.js'
import type { Deps } from './deps.js'
import type { DriftFinding } from './drift/types.js'
import { ConfigError, PhaseError, type ConfigIssue } from './errors.js'
import { kindOf } from './kinds/index.js'
import { phasesFor, staticPlan } from './plan/static-plan.js'
import {
  emptyOutputs,
  type PhaseContext,
  type PhaseModule,
  type PlanStep,
  type RunOutputs,
  type StepResult,
  type StepStage
} from './phases/types.js'
import type { Reporter } from './reporter.js'
import type { PhaseName, RunSettings } from './settings.js'
import { StateStore } from './state/store.js'
import { isLifecycle, runLifecycle } from './lifecycle/index.js'
import { invalidate, invalidateAll } from './remote/observations.js'
import { recordPlacement } from './lifecycle/remove/placement.js'
import { removalPlan, scaleDown } from './lifecycle/remove/scale-down.js'

export interface RunResult {
  status: 'ok' | 'invalid' | 'failed' | 'drift' | 'error'
  issues: ConfigIssue[]
  load?: LoadResult
  cluster?: Cluster
  plan?: PlanStep[]
  findings?: DriftFinding[]
  outputs: RunOutputs
  error?: Error
  /** A deploy's steps on one clock, for the timeline: what ran where, when, and how it ended. */
  steps?: StepSpan[]
}

/** One step of a deploy: a phase on one node, or a cluster-scoped phase (no node). */
export interface StepSpan {
  phase: PhaseName
  node?: string
  /** Wall clock, epoch milliseconds. */
  start: number
  end: number
  outcome: 'changed' | 'unchanged' | 'failed'
  /** The step's own parts (flash: upload, read-back), when it reports them. */
  stages?: StepStage[]
}

/** Where timed() writes: recorded at the step boundaries only, so phase internals stay untouched. */
interface StepLog {
  spans: StepSpan[]
}

/** Hooks the deploy and drift paths use; the real ones are wired in src/compose/engine.ts, tests replace them. */
export interface Engine {
  modules: PhaseModule[]
  /** Extra validation that needs settings (redeploy controls, artifact settings). */
  checkSettings?(cluster: Cluster, settings: RunSettings): ConfigIssue[]
  /** Runs node-scoped steps: flash serialized per board, later steps of a node as soon as it is ready. */
  runNodeSteps?(nodes: NodeSpec[], steps: { phase: PhaseName; run: (node: NodeSpec) => Promise<void> }[]): Promise<void>
  /** Board locks around a deploy. */
  lock?(ctx: PhaseContext): Promise<() => Promise<void>>
  drift?(ctx: PhaseContext, modules: PhaseModule[]): Promise<DriftFinding[]>
  /** Encrypt and upload credentials after a deploy. */
  publish?(ctx: PhaseContext): Promise<void>
}

export function configFilePath(settings: RunSettings): string {
  return isAbsolute(settings.configPath) ? settings.configPath : join(settings.workingDirectory, settings.configPath)
}

/** Nodes selected by the `nodes` setting (validated earlier). */
export function selectNodes(cluster: Cluster, settings: RunSettings): NodeSpec[] {
  if (!settings.nodes?.length) return cluster.nodes
  const wanted = new Set(settings.nodes)
  return cluster.nodes.filter((n) => wanted.has(n.id))
}

export function selectPhases(cluster: Cluster, settings: RunSettings): PhaseName[] {
  const all = phasesFor(cluster)
  return settings.phases?.length ? all.filter((p) => settings.phases!.includes(p)) : all
}

async function load(settings: RunSettings): Promise<LoadResult> {
  return loadClusterFile(configFilePath(settings), {
    displayPath: settings.configPath,
    workingDirectory: settings.workingDirectory
  })
}

/** Serial fallback when no pipelining scheduler is wired: each step for every node in order. */
async function serialNodeSteps(
  nodes: NodeSpec[],
  steps: { phase: PhaseName; run: (node: NodeSpec) => Promise<void> }[]
): Promise<void> {
  for (const step of steps) for (const node of nodes) await step.run(node)
}

export async function buildPlan(ctx: PhaseContext, modules: PhaseModule[], phases: PhaseName[]): Promise<PlanStep[]> {
  const steps: PlanStep[] = []
  for (const phase of phases) {
    const module = modules.find((m) => m.name === phase && m.appliesTo(ctx.cluster))
    if (module) steps.push(...(await module.plan(ctx)))
    else steps.push(...staticPlan(ctx.cluster, ctx.nodes, [phase]))
  }
  return steps
}

export async function execute(
  settings: RunSettings,
  makeDeps: (cluster: Cluster) => Promise<Deps>,
  reporter: Reporter,
  engine: Engine
): Promise<RunResult> {
  const outputs = emptyOutputs()
  const loaded = await load(settings)
  const issues = [...loaded.issues]
  const cluster = loaded.cluster
  if (!cluster || issues.some((i) => i.severity === 'error'))
    return { status: 'invalid', issues, load: loaded, outputs }
  // validate too: the recipients given (age-parsed) and the other run settings are part of the check.
  issues.push(...(engine.checkSettings?.(cluster, settings) ?? []))
  if (issues.some((i) => i.severity === 'error')) return { status: 'invalid', issues, load: loaded, cluster, outputs }
  outputs.apiEndpoint = cluster.apiEndpoint
  if (settings.command === 'validate') return { status: 'ok', issues, load: loaded, cluster, outputs }

  const made = await makeDeps(cluster)
  const deps = { ...made, downloads: sharedFetches(withPinnedDigests(made.downloads, cluster.digests)) }
  const state = await StateStore.open(settings.stateDir, cluster.name)
  const ctx: PhaseContext = {
    cluster,
    kind: kindOf(cluster),
    settings,
    deps,
    reporter,
    state,
    nodes: selectNodes(cluster, settings),
    outputs
  }
  const phases = selectPhases(cluster, settings)
  const base = { issues, load: loaded, cluster, outputs }

  if (settings.command === 'plan')
    return { status: 'ok', ...base, plan: [...(await buildPlan(ctx, engine.modules, phases)), ...removalPlan(ctx)] }

  if (settings.command === 'drift') {
    if (!engine.drift) throw new Error('drift is not available in this build')
    try {
      const findings = await engine.drift(ctx, engine.modules)
      const status = findings.some((f) => f.kind === 'unreachable') ? 'error' : findings.length ? 'drift' : 'ok'
      return { status, ...base, findings }
    } catch (error) {
      return { status: 'error', ...base, findings: [], error: error as Error }
    }
  }

  const release = engine.lock ? await engine.lock(ctx) : async () => {}
  const steps: StepLog = { spans: [] }
  try {
    // A run that waited for the lock reads what the run before it recorded (host keys, flash records).
    await state.reload()
    if (isLifecycle(settings.command)) {
      await runLifecycle(ctx, settings.command, { publish: engine.publish?.bind(engine) })
      return { status: 'ok', ...base }
    }
    await scaleDown(ctx)
    await deploy(ctx, engine, phases, steps)
    await recordPlacement(state, cluster)
    await engine.publish?.(ctx)
    return { status: 'ok', ...base, steps: steps.spans }
  } catch (error) {
    if (error instanceof ConfigError) return { status: 'invalid', ...base, issues: [...issues, ...error.issues] }
    return { status: 'failed', ...base, error: error as Error, steps: steps.spans }
  } finally {
    await release()
  }
}

async function deploy(ctx: PhaseContext, engine: Engine, phases: PhaseName[], steps: StepLog): Promise<void> {
  const modules = phases
    .map((phase) => engine.modules.find((m) => m.name === phase && m.appliesTo(ctx.cluster)))
    .filter((m): m is PhaseModule => m !== undefined)
  const missing = phases.filter((p) => !modules.some((m) => m.name === p))
  if (missing.length) ctx.reporter.warn(`phases not available in this build, skipped: ${missing.join(', ')}`)

  // Leading node-scoped phases (flash, boot, os-bootstrap) run per node and may overlap across nodes;
  // the first cluster-scoped phase starts once every node is through them.
  let i = 0
  const nodeSteps: { phase: PhaseName; run: (node: NodeSpec) => Promise<void> }[] = []
  for (; i < modules.length && modules[i].scope === 'node'; i++) {
    const module = modules[i]
    nodeSteps.push({
      phase: module.name,
      run: (node) => timed(ctx, steps, module, () => module.runNode!(ctx, node), node)
    })
  }
  if (nodeSteps.length) await (engine.runNodeSteps ?? serialNodeSteps)(ctx.nodes, nodeSteps)

  for (; i < modules.length; i++) {
    const module = modules[i]
    if (module.scope === 'cluster') {
      await ctx.reporter.group(`${module.name}`, () => timed(ctx, steps, module, () => module.run!(ctx)))
    } else {
      await ctx.reporter.group(`${module.name}`, () => acrossNodes(ctx, steps, module))
    }
  }
}

/**
 * A node-scoped phase after a cluster-scoped one: on up to nodeLimit() nodes at once, each node's lines
 * prefixed with its id. The first failure (in time) is the run's error; the others are reported, and the
 * nodes not started are named so the operator knows the re-run will do them.
 */
async function acrossNodes(ctx: PhaseContext, steps: StepLog, module: PhaseModule): Promise<void> {
  const outcome = await runAcrossNodes(ctx.nodes, nodeLimit(module, ctx.settings), (node) =>
    timed(ctx, steps, module, () => module.runNode!({ ...ctx, reporter: nodeReporter(ctx.reporter, node) }, node), node)
  )
  const [first, ...others] = outcome.failed
  if (!first) return
  for (const other of others) ctx.reporter.error((other.error as Error).message ?? String(other.error))
  if (outcome.skipped.length)
    ctx.reporter.warn(
      `${module.name}: not started on ${outcome.skipped.map((n) => n.id).join(', ')} after ${first.node.id} failed; a re-run does them`
    )
  throw first.error
}

async function timed(
  ctx: PhaseContext,
  steps: StepLog,
  module: PhaseModule,
  fn: () => Promise<StepResult>,
  node?: NodeSpec
): Promise<void> {
  const started = Date.now()
  const span: StepSpan = {
    phase: module.name,
    ...(node ? { node: node.id } : {}),
    start: started,
    end: 0,
    outcome: 'failed'
  }
  try {
    const result = await fn()
    // What this run observed before a step changed something is not trusted after it.
    if (result.changed && node) invalidate(ctx.outputs, node.id)
    else if (result.changed) invalidateAll(ctx.outputs)
    span.outcome = result.changed ? 'changed' : 'unchanged'
    if (result.stages?.length) span.stages = result.stages
    ctx.reporter.info(
      `${node ? `${node.id}: ` : ''}${module.name}: ${result.changed ? 'changed' : 'unchanged'} — ${result.summary}`
    )
  } catch (error) {
    if (error instanceof PhaseError || error instanceof ConfigError) throw error
    const seen = error instanceof Error ? error.message : String(error)
    throw new PhaseError(
      module.name,
      node?.id,
      seen,
      're-run the same command; finished nodes and phases are skipped',
      {
        cause: error
      }
    )
  } finally {
    ctx.outputs.timings[module.name] = (ctx.outputs.timings[module.name] ?? 0) + (Date.now() - started) / 1000
    span.end = Date.now()
    steps.spans.push(span)
  }
}
