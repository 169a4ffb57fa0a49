// Steps around a chart that Helm alone does not do: MetalLB's address pool and L2 advertisement (applied
// once the controller, which serves MetalLB's admission webhook, is available) and, on Talos, Longhorn's
// namespace with the privileged Pod Security label. Both compare before applying, so a converged rerun
// writes nothing.
import type { ClusterKind } from '../../kinds/types.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../types.js'
import { CHARTS } from './charts.js'
import { applyArgs, getJsonArgs, waitAvailableArgs } from './helm-args.js'
import { LONGHORN_PSA_LABEL, metallbManifests, privilegedNamespace, toYaml, type Manifest } from './manifests.js'
import { RESUME, stderrTail, type Session } from './session.js'

const METALLB_CONTROLLER = 'metallb-controller'
const plural = (kind: string): string => `${kind.toLowerCase()}s`

async function current(session: Session, m: Manifest): Promise<Record<string, any> | undefined> {
  const out = await session.kubectlRaw(getJsonArgs(plural(m.kind), m.metadata.name, m.metadata.namespace))
  if (out.code !== 0) return undefined
  return JSON.parse(out.stdout) as Record<string, any>
}

/**
 * The objects as the cluster has them, from one list of their kinds in the namespace; none when the list
 * fails (MetalLB's CRDs not there yet), as a missing object.
 */
async function currentAll(session: Session, wanted: Manifest[], namespace: string): Promise<FoundObjects> {
  const kinds = [...new Set(wanted.map((m) => `${plural(m.kind)}.${m.apiVersion.split('/')[0]}`))]
  const out = await session.kubectlRaw(['get', kinds.join(','), '--namespace', namespace, '--output', 'json'])
  if (out.code !== 0) return wanted.map(() => undefined)
  const items = ((JSON.parse(out.stdout) as { items?: Record<string, any>[] }).items ?? []) as Record<string, any>[]
  return wanted.map((m) => items.find((o) => o.kind === m.kind && o.metadata?.name === m.metadata.name))
}

export type FoundObjects = (Record<string, any> | undefined)[]

/**
 * MetalLB's pool and advertisement as the cluster has them now, read while the releases are listed; only
 * for a release found unchanged (after an install or upgrade they are read again).
 */
export function readMetallbPool(ctx: PhaseContext, session: Session): Promise<FoundObjects> | undefined {
  const range = ctx.cluster.metallb_ip_range
  if (!range) return undefined
  const read = currentAll(session, metallbManifests(range, CHARTS.metallb.namespace), CHARTS.metallb.namespace)
  read.catch(() => undefined) // awaited (and its failure seen) only when used
  return read
}

/** Applies the pool and advertisement when they differ; returns whether anything was written. */
export async function ensureMetallbPool(
  ctx: PhaseContext,
  session: Session,
  retryDelayMs: number,
  alreadyRead?: Promise<FoundObjects>
): Promise<boolean> {
  const range = ctx.cluster.metallb_ip_range
  if (!range) {
    ctx.reporter.warn(
      'MetalLB is installed without an address pool: metallb_ip_range is not set, so no LoadBalancer gets an address'
    )
    return false
  }
  const wanted = metallbManifests(range, CHARTS.metallb.namespace)
  const found = await (alreadyRead ?? currentAll(session, wanted, CHARTS.metallb.namespace))
  if (wanted.every((m, i) => JSON.stringify(found[i]?.spec) === JSON.stringify(m.spec))) return false
  const timeout = ctx.cluster.cluster_timeout
  await session.kubectl(
    'waiting for the MetalLB controller',
    waitAvailableArgs(CHARTS.metallb.namespace, METALLB_CONTROLLER, timeout)
  )
  // The webhook answers a little after the controller reports Available; "failed calling webhook" is
  // retried in a bounded poll, anything else fails at once.
  const deadline = Date.now() + timeout * 1000
  for (;;) {
    const out = await session.kubectlRaw(applyArgs(), toYaml(wanted))
    if (out.code === 0) return true
    const webhook = /failed calling webhook/.test(out.stderr)
    if (!webhook || Date.now() >= deadline)
      throw new PhaseError(
        'addons',
        undefined,
        `applying the MetalLB address pool ${range}: kubectl exited with ${out.code}:${stderrTail(out.stderr)}`,
        RESUME,
        { code: webhook ? 'MetallbWebhookNotReady' : 'AddonCommandFailed' }
      )
    await ctx.deps.sleep(retryDelayMs)
  }
}

/** Where Pod Security enforces baseline (Talos), Longhorn's manager needs its namespace privileged. */
export async function ensureLonghornNamespace(kind: ClusterKind, session: Session): Promise<boolean> {
  if (!kind.longhorn.privilegedNamespace) return false
  const ns = privilegedNamespace(CHARTS.longhorn.namespace)
  const found = await current(session, ns)
  if (found?.metadata?.labels?.[LONGHORN_PSA_LABEL] === 'privileged') return false
  await session.kubectl(
    `creating namespace ${ns.metadata.name} with ${LONGHORN_PSA_LABEL}=privileged`,
    applyArgs(),
    toYaml([ns])
  )
  return true
}
