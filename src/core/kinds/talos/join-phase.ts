// Phase join (Talos, cluster scope): bootstrap etcd once on the first control plane, wait for
// `talosctl health` within bootstrap_timeout (naming what is unhealthy on failure), then fetch the
// kubeconfig into state-dir (0600). Nothing here prints a credential.
import { credentialsDir } from '../../state/credentials.js'
import { chmod, copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { maskCredential } from '../../crypto/mask.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext, PhaseModule, PlanStep, RunOutputs, StepResult } from '../../phases/types.js'
import { changesSoFar } from '../../remote/observations.js'
import { bootstrapDone, bootstrapRetryable, unhealthyFrom } from './answers.js'
import { bootstrapArgv, healthArgv, kubeconfigArgv } from './argv.js'
import { existingTalosconfig, writeTalosconfig } from './configs.js'
import { convergedSinceInstall } from './converge.js'
import { talosCtx } from './factory.js'
import { seal, unseal } from './sealed.js'
import { secretsBundle, storedBundle } from './secrets.js'
import { ensureTalosctl } from './tool.js'

const RESUME = 're-run the workflow; a bootstrapped cluster is not bootstrapped again'
/** The admin kubeconfig's client certificate is valid for a year; a week of reuse leaves a wide margin. */
const KUBECONFIG_REUSE_MS = 7 * 24 * 3600 * 1000
const tail = (text: string): string => text.trim().split('\n').slice(-3).join(' | ').slice(0, 400)

async function talosconfigFor(ctx: PhaseContext, talosctl: Talosctl): Promise<string> {
  const kept = await existingTalosconfig(ctx)
  if (kept) return kept
  // Join run on its own (phases: join) on a runner without state: the bundle makes a new one.
  const bundle = await secretsBundle(ctx, talosctl, true)
  return writeTalosconfig(ctx, talosctl, bundle.path)
}

/** Bootstraps etcd on the first control plane; AlreadyExists counts as done. Returns whether it ran now. */
export async function bootstrapOnce(ctx: PhaseContext, talosctl: Talosctl, talosconfig: string): Promise<boolean> {
  const c = talosCtx(ctx).cluster
  const first = c.nodes[0]
  const record = ctx.state.cluster()
  if (record.talosBootstrapped === first.ip) return false
  const end = Date.now() + c.bootstrap_timeout * 1000
  for (;;) {
    const r = await talosctl.run(bootstrapArgv(first.ip, talosconfig), { timeoutMs: 60_000 })
    const text = `${r.stdout}\n${r.stderr}`
    if (r.code === 0 || bootstrapDone(text)) {
      record.talosBootstrapped = first.ip
      await ctx.state.save()
      return r.code === 0
    }
    if (!bootstrapRetryable(text) || Date.now() >= end) {
      throw new PhaseError(
        'join',
        first.id,
        `talosctl bootstrap on ${first.ip} failed (exit ${r.code}): ${tail(text)}`,
        RESUME,
        { code: 'TalosBootstrap' }
      )
    }
    await ctx.deps.sleep(5000)
  }
}

export async function waitHealthy(ctx: PhaseContext, talosctl: Talosctl, talosconfig: string): Promise<void> {
  const c = talosCtx(ctx).cluster
  const cps = c.nodes.filter((n) => n.role === 'controlplane').map((n) => n.ip)
  const workers = c.nodes.filter((n) => n.role === 'worker').map((n) => n.ip)
  const argv = healthArgv({
    talosconfig,
    ip: cps[0] as string,
    controlPlanes: cps,
    workers,
    timeoutSeconds: c.bootstrap_timeout
  })
  const r = await talosctl.run(argv, { timeoutMs: (c.bootstrap_timeout + 60) * 1000 })
  const text = `${r.stdout}\n${r.stderr}`
  for (const line of text.split('\n')) if (/: OK$/.test(line)) ctx.reporter.debug(line)
  if (r.code !== 0) {
    throw new PhaseError(
      'join',
      undefined,
      `cluster not healthy within bootstrap_timeout ${c.bootstrap_timeout} s: ${unhealthyFrom(text)}`,
      `raise bootstrap_timeout if the nodes are slow, check the named check, then ${RESUME}`,
      { code: 'TalosUnhealthy' }
    )
  }
}

// The kubeconfig this run already fetched (the kube access of lifecycle checks fetches one read-only) and
// the run's change count then: while nothing changed, the same talosctl call would return the same file.
const fetched = new WeakMap<RunOutputs, { path: string; at: number }>()

async function keptKubeconfig(ctx: PhaseContext, path: string): Promise<boolean> {
  const kept = fetched.get(ctx.outputs)
  if (!kept || kept.at !== changesSoFar(ctx.outputs) || kept.path === path) return false
  try {
    await copyFile(kept.path, path)
    return true
  } catch {
    return false // removed since: fetch it again
  }
}

/** Into the run's credentials folder, or into `dir` (read-only runs); both under the temp dir the post step cleans. */
export async function fetchKubeconfig(
  ctx: PhaseContext,
  talosctl: Talosctl,
  talosconfig: string,
  dir?: string
): Promise<string> {
  const c = talosCtx(ctx).cluster
  const path = join(dir ?? (await credentialsDir(ctx.settings)), 'kubeconfig')
  const first = c.nodes[0]
  // Sealed under the secrets bundle between runs (sealed.ts), like the talosconfig: taken again only while
  // this run changed nothing, so a run that installs, bootstraps or applies fetches a fresh one.
  // The bundle of the input, or the one this run generated (first deploy): the next run has it as input.
  const bundle = (await storedBundle(ctx))?.path ?? ctx.outputs.talosSecretsPath
  const sealedBy = bundle ? await readFile(bundle).catch(() => undefined) : undefined
  const inputs = JSON.stringify({ talosctl: talosctl.binary ?? '', endpoint: c.apiEndpoint, node: first.ip })
  const unchanged = changesSoFar(ctx.outputs) === 0
  const kept =
    sealedBy && unchanged ? await unseal(ctx, 'kubeconfig', sealedBy, inputs, KUBECONFIG_REUSE_MS) : undefined
  if (kept !== undefined) {
    maskCredential(ctx.reporter, 'kubeconfig', kept)
    await writeFile(path, kept, { mode: 0o600 })
  }
  const r =
    kept !== undefined || (await keptKubeconfig(ctx, path))
      ? { code: 0, stdout: '', stderr: '' }
      : await talosctl.run(kubeconfigArgv(first.ip, talosconfig, path))
  if (r.code !== 0)
    throw new PhaseError(
      'join',
      first.id,
      `talosctl kubeconfig failed (exit ${r.code}): ${tail(`${r.stdout}\n${r.stderr}`)}`,
      RESUME,
      { code: 'TalosKubeconfig' }
    )
  await chmod(path, 0o600)
  const text = await readFile(path, 'utf8')
  maskCredential(ctx.reporter, 'kubeconfig', text)
  if (sealedBy && kept === undefined) await seal(ctx, 'kubeconfig', sealedBy, inputs, text).catch(() => undefined)
  fetched.set(ctx.outputs, { path, at: changesSoFar(ctx.outputs) })
  ctx.outputs.kubeconfigPath = path
  ctx.outputs.apiEndpoint = c.apiEndpoint
  return path
}

async function run(ctx: PhaseContext): Promise<StepResult> {
  const c = talosCtx(ctx).cluster
  const talosctl = await ensureTalosctl(ctx)
  const talosconfig = await talosconfigFor(ctx, talosctl)
  const bootstrapped = await bootstrapOnce(ctx, talosctl, talosconfig)
  ctx.reporter.info(
    bootstrapped ? `bootstrapped etcd on ${c.nodes[0].id}` : `etcd already bootstrapped on ${c.nodes[0].id}`
  )
  // A converged run (install found every node unchanged, nothing changed since) has nothing to wait for.
  const converged = !bootstrapped && convergedSinceInstall(ctx.outputs)
  if (converged) ctx.reporter.info('every node unchanged since the install comparison: no health wait')
  else await waitHealthy(ctx, talosctl, talosconfig)
  await fetchKubeconfig(ctx, talosctl, talosconfig)
  for (const n of c.nodes)
    ctx.outputs.nodeStatus[n.id] = { node: n.id, role: n.role, ip: n.ip, ready: true, version: c.talos_version }
  return {
    changed: bootstrapped,
    summary: converged
      ? `unchanged: ${c.nodes.length} node(s) configured as wanted; kubeconfig fetched`
      : `${bootstrapped ? 'bootstrapped, ' : ''}healthy: ${c.nodes.length} node(s); kubeconfig fetched`
  }
}

async function plan(ctx: PhaseContext): Promise<PlanStep[]> {
  const c = talosCtx(ctx).cluster
  const done = ctx.state.cluster().talosBootstrapped === c.nodes[0].ip
  return [
    {
      phase: 'join',
      node: c.nodes[0].id,
      action: done ? 'skip' : 'run',
      reason: done
        ? 'etcd bootstrapped by an earlier run'
        : 'bootstrap etcd (an existing cluster answers AlreadyExists)'
    },
    {
      phase: 'join',
      action: 'run',
      reason: `wait for talosctl health (up to ${c.bootstrap_timeout} s), fetch the kubeconfig`
    }
  ]
}

export const talosJoinPhase: PhaseModule = {
  name: 'join',
  scope: 'cluster',
  appliesTo: (cluster) => cluster.kind === 'talos',
  plan,
  run
}
