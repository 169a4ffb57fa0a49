// A K3s node's one observation per run: a single SSH exec running every read-only script the phases
// decide from (os-bootstrap's checks, the OS release, k3s facts and config, the NPU stack and rkllama's
// answer; on the first server also the token and the API's nodes and kube-system pods), each as it ran
// in its own exec before (src/core/remote/bundle.ts). Shared by os-bootstrap, install, join, npu, addons'
// iSCSI check, plan and drift through the run's observation map; a phase that changes a node invalidates it.
import type { RemoteShell } from '../../../adapters/ssh/types.js'
import type { NodeSpec } from '../../config/model.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../../phases/types.js'
import { bundleScript, parseBundle, type Section } from '../../remote/bundle.js'
import { changedInRun, changesSoFar, invalidate, observed } from '../../remote/observations.js'
import { RESUME, runChecked, stderrTail, withPool } from '../../remote/shells.js'
import { K3S_CONFIG_PATH, K3S_KUBECONFIG, topology, unitName, wantsNpu, type K3sCluster } from './config.js'
import { kubeconfigSecrets } from './kubeconfig.js'
import type { ShellPool } from '../../remote/shells.js'
import { bootstrapCheckScript } from './os-bootstrap/check-script.js'
import { osObserveScript } from './os-bootstrap/drift.js'
import { observeScript, readTokenScript } from './remote-scripts.js'
import { DEFAULT_NPU_PATHS, npuObserveScript, type NpuPaths } from './npu/scripts.js'
import { rkllamaProbeCommand, rkllamaUrl } from './npu/rkllama.js'

/** Where the NPU facts are read and where rkllama answers (the npu phase's options). */
export interface NpuProbe {
  paths: NpuPaths
  port: number
}

export const DEFAULT_NPU_PROBE: NpuProbe = { paths: DEFAULT_NPU_PATHS, port: 8080 }

export interface K3sObservation {
  node: NodeSpec
  /** changesSoFar() when it was taken: cluster-wide sections are trusted only while no node changed since. */
  at: number
  sections: Record<string, Section>
}

export const NODES_COMMAND = 'k3s kubectl get nodes -o json'
export const PODS_COMMAND = 'k3s kubectl get pods -n kube-system -o json'

function sections(ctx: PhaseContext, node: NodeSpec, npu: NpuProbe): Record<string, string> {
  const cluster = ctx.cluster as K3sCluster
  // Drift compares no bootstrap step (os-bootstrap's drift reads the OS release); only Longhorn's iSCSI
  // check reads the packages from this section. Without it a drift costs the node ~25 fewer processes.
  const drift = ctx.settings.command === 'drift'
  const out: Record<string, string> = {
    ...(!drift || cluster.longhorn ? { bootstrap: bootstrapCheckScript(cluster, node) } : {}),
    os: osObserveScript(),
    k3s: observeScript(unitName(node)),
    config: `cat ${K3S_CONFIG_PATH} 2>/dev/null || true`
  }
  if (wantsNpu(cluster)) out.npu = npuObserveScript(npu.paths)
  if (cluster.npu?.deploy_rkllama) out.rkllama = rkllamaProbeCommand(rkllamaUrl(ctx, node, npu.port))
  if (node.id === topology(cluster).first.id) {
    out.token = readTokenScript()
    out.kubeconfig = `cat ${K3S_KUBECONFIG}`
    // Bounded like their own execs were (20 s): an API that hangs costs those reads, not the observation.
    out.nodes = `timeout 20 ${NODES_COMMAND}`
    // Only a run that waits for the cluster reads the core pods (waitForCluster); drift and plan do not.
    if (!drift && ctx.settings.command !== 'plan') out.pods = `timeout 20 ${PODS_COMMAND}`
  }
  return out
}

async function take(
  ctx: PhaseContext,
  node: NodeSpec,
  phase: string,
  npu: NpuProbe,
  shell: RemoteShell
): Promise<K3sObservation> {
  const at = changesSoFar(ctx.outputs)
  const started = Date.now()
  const { stdout } = await runChecked(
    shell,
    phase,
    node,
    'observing the node',
    bundleScript(sections(ctx, node, npu)),
    {
      timeoutMs: 60_000
    }
  )
  let parsed: Record<string, Section>
  try {
    parsed = parseBundle(stdout)
  } catch (error) {
    throw new PhaseError(phase, node.id, `the node's observation is not JSON (${(error as Error).message})`, RESUME, {
      code: 'RemoteStepFailed'
    })
  }
  ctx.reporter.debug(
    `${node.id}: observed in ${Date.now() - started} ms (${Object.entries(parsed)
      .map(([name, section]) => `${name} ${section.ms} ms`)
      .join(', ')})`
  )
  // Secrets in the observation are masked before anything could print them.
  const token = parsed.token?.code === 0 ? parsed.token.stdout.trim() : ''
  if (token) ctx.reporter.secret(token)
  if (parsed.kubeconfig?.code === 0)
    for (const secret of kubeconfigSecrets(parsed.kubeconfig.stdout)) ctx.reporter.secret(secret)
  return { node, at, sections: parsed }
}

/**
 * The node's observation of this run, taken now through `shell` (or a connection of its own) unless a phase
 * already took it and nothing changed the node since.
 */
export function observeK3s(
  ctx: PhaseContext,
  node: NodeSpec,
  options: { phase: string; shell?: () => Promise<RemoteShell>; npu?: NpuProbe }
): Promise<K3sObservation> {
  const npu = options.npu ?? DEFAULT_NPU_PROBE
  const key = `k3s ${JSON.stringify(npu)}`
  return observed(ctx.outputs, node.id, key, async () => {
    if (options.shell) return take(ctx, node, options.phase, npu, await options.shell())
    return withPool(ctx, options.phase, async (pool) => take(ctx, node, options.phase, npu, await pool.shell(node)))
  })
}

/** A section as its own exec's result; fails as runChecked did when its script exited non-zero. */
export function checkedSection(seen: K3sObservation, name: string, phase: string, what: string): Section {
  const s = seen.sections[name]
  if (!s)
    throw new PhaseError(phase, seen.node.id, `${what}: not part of the node's observation`, RESUME, {
      code: 'RemoteStepFailed'
    })
  if (s.code !== 0)
    throw new PhaseError(phase, seen.node.id, `${what} exited with ${s.code}:${stderrTail(s.stderr)}`, RESUME, {
      code: 'RemoteStepFailed'
    })
  return s
}

/** A cluster-wide section of the first server, while no node of this run changed since it was read. */
export function freshClusterSection(ctx: PhaseContext, seen: K3sObservation, name: string): Section | undefined {
  return seen.at === changesSoFar(ctx.outputs) ? seen.sections[name] : undefined
}

/** The phase is about to change the node: what this run observed there is stale from now on. */
export function changing(ctx: PhaseContext, node: NodeSpec): void {
  invalidate(ctx.outputs, node.id)
}

/**
 * The first server's k3s.yaml (its secrets masked): from its observation, unless this run changed that
 * server; then read as it is now.
 */
export async function firstServerKubeconfig(ctx: PhaseContext, pool: ShellPool, phase: string): Promise<string> {
  const first = topology(ctx.cluster).first
  if (!changedInRun(ctx.outputs, first.id)) {
    const seen = await observeK3s(ctx, first, { phase, shell: () => pool.shell(first) })
    if (seen.sections.kubeconfig?.code === 0 && seen.sections.kubeconfig.stdout) return seen.sections.kubeconfig.stdout
  }
  const raw = (await (await pool.shell(first)).get(K3S_KUBECONFIG)).toString('utf8')
  for (const secret of kubeconfigSecrets(raw)) ctx.reporter.secret(secret)
  return raw
}
