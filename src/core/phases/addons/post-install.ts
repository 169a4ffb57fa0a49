// Steps around a chart that Helm alone does not do: MetalLB's address pool and L2 advertisement (applied
// once the controller, which serves MetalLB's admission webhook, is available) and, on Talos, Longhorn's
// namespace with the privileged Pod Security label. Both compare before applying, so a converged rerun
// writes nothing.
import type { ClusterKind } from '../../kinds/types.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../types.js'
import { CHARTS } from './charts.js'
import { applyArgs, getJsonArgs, waitAvailableArgs } from './helm-args.js'
import {
  LONGHORN_PSA_LABEL,
  OWNER,
  OWNER_LABEL,
  metallbManifests,
  privilegedNamespace,
  toYaml,
  type Manifest
} from './manifests.js'
import { RESUME, stderrTail, type Session } from './session.js'

const METALLB_CONTROLLER = 'metallb-controller'
const plural = (kind: string): string => `${kind.toLowerCase()}s`

async function current(session: Session, m: Manifest): Promise<Record<string, any> | undefined> {
  const out = await session.kubectlRaw(getJsonArgs(plural(m.kind), m.metadata.name, m.metadata.namespace))
  if (out.code !== 0) return undefined
  return JSON.parse(out.stdout) as Record<string, any>
}

const kindsOf = (wanted: Manifest[]): string[] => [
  ...new Set(wanted.map((m) => `${plural(m.kind)}.${m.apiVersion.split('/')[0]}`))
]

/** Each wanted object as found in a list of objects (undefined: not there). */
const match = (wanted: Manifest[], items: Record<string, any>[]): FoundObjects =>
  wanted.map((m) =>
    items.find(
      (o) => o.kind === m.kind && o.metadata?.name === m.metadata.name && o.metadata?.namespace === m.metadata.namespace
    )
  )

/**
 * The objects as the cluster has them, from one list of their kinds in the namespace; none when the list
 * fails (MetalLB's CRDs not there yet), as a missing object.
 */
async function currentAll(session: Session, wanted: Manifest[], namespace: string): Promise<FoundObjects> {
  const out = await session.kubectlRaw(['get', kindsOf(wanted).join(','), '--namespace', namespace, '--output', 'json'])
  if (out.code !== 0) return wanted.map(() => undefined)
  return match(
    wanted,
    ((JSON.parse(out.stdout) as { items?: Record<string, any>[] }).items ?? []) as Record<string, any>[]
  )
}

export type FoundObjects = (Record<string, any> | undefined)[]

const metallbWanted = (ctx: PhaseContext): Manifest[] | undefined =>
  ctx.cluster.metallb_ip_range ? metallbManifests(ctx.cluster.metallb_ip_range, CHARTS.metallb.namespace) : undefined

/** The kinds of MetalLB's pool and advertisement, to be read with the releases (none without a range). */
export const metallbKinds = (ctx: PhaseContext): string[] => kindsOf(metallbWanted(ctx) ?? [])

/**
 * MetalLB's pool and advertisement as the cluster has them now: from the objects read with the releases,
 * else from a read of their own. Used only for a release found unchanged (after an install or upgrade they
 * are read again).
 */
export function readMetallbPool(
  ctx: PhaseContext,
  session: Session,
  readWithReleases?: Record<string, any>[]
): Promise<FoundObjects> | undefined {
  const wanted = metallbWanted(ctx)
  if (!wanted) return undefined
  if (readWithReleases) return Promise.resolve(match(wanted, readWithReleases))
  const read = currentAll(session, wanted, CHARTS.metallb.namespace)
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
  // Equal spec, and our owner label (it lets the next run read them with the releases).
  const same = (m: Manifest, o: Record<string, any> | undefined): boolean =>
    JSON.stringify(o?.spec) === JSON.stringify(m.spec) && o?.metadata?.labels?.[OWNER_LABEL] === OWNER
  if (wanted.every((m, i) => same(m, found[i]))) return false
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
