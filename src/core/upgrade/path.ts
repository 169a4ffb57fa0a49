// The version path of an upgrade, decided before anything is touched: pure, so `plan` shows exactly what
// `deploy` will walk. A path the rules forbid is refused with the rule, the reason and the path to take
// instead; nothing here observes or changes a node.
import {
  K3S_LATEST_PATCH,
  TALOS_KUBERNETES,
  TALOS_LATEST_PATCH,
  compareVersions,
  minorDistance,
  minorOf,
  parseVersion,
  talosSupportsKubernetes,
  type Version
} from './versions.js'

export type Product = 'k3s' | 'talos' | 'kubernetes'

/** Why a path is refused, and what to do instead. */
export interface Refusal {
  rule: 'version-format' | 'downgrade' | 'skipped-minor' | 'talos-kubernetes' | 'not-in-catalog'
  reason: string
  instead: string
}

/** One hop of a path; a Talos hop is run with talosctl at `from` (the version the cluster runs then). */
export interface Hop {
  from: string
  to: string
}

export interface VersionPath {
  product: Product
  from: string
  to: string
  direction: 'none' | 'up' | 'down'
  hops: Hop[]
  refusal?: Refusal
}

const FIELD: Record<Product, string> = { k3s: 'k3s_version', talos: 'talos_version', kubernetes: 'kubernetes_version' }
const LATEST: Record<Product, Record<string, string> | undefined> = {
  k3s: K3S_LATEST_PATCH,
  talos: TALOS_LATEST_PATCH,
  kubernetes: undefined
}
const NAME: Record<Product, string> = { k3s: 'K3s', talos: 'Talos', kubernetes: 'Kubernetes' }

function hopsThrough(from: string, stones: string[], to: string): Hop[] {
  const versions = [from, ...stones, to]
  return versions.slice(1).map((v, i) => ({ from: versions[i], to: v }))
}

/** The latest patch of a minor, when the catalog knows it and it lies strictly between from and to. */
function stone(product: Product, minor: string, from: Version, to: Version): Version | undefined {
  const text = LATEST[product]?.[minor]
  const v = text ? parseVersion(text) : undefined
  return v && compareVersions(v, from) > 0 && compareVersions(v, to) < 0 ? v : undefined
}

/**
 * The path from the running version to the file's. Upgrades go one minor at a time, each through the
 * latest patch of the minor it leaves (the catalog's stepping stone); a target that skips a minor is
 * refused with the stepping stones to set one after another. Downgrades need allow_downgrade and are
 * never more than one minor.
 */
export function versionPath(
  product: Product,
  fromText: string,
  toText: string,
  options: { allowDowngrade: boolean }
): VersionPath {
  const base = { product, from: fromText, to: toText }
  const field = FIELD[product]
  const from = parseVersion(fromText)
  const to = parseVersion(toText)
  if (!from || !to) {
    const bad = !from ? fromText : toText
    return {
      ...base,
      direction: 'none',
      hops: [],
      refusal: {
        rule: 'version-format',
        reason: `"${bad}" is not a version like v1.2.3`,
        instead: `set ${field} to a release version`
      }
    }
  }
  const order = compareVersions(from, to)
  if (order === 0) return { ...base, direction: 'none', hops: [] }
  const distance = minorDistance(from, to)

  if (order > 0) {
    if (!options.allowDowngrade)
      return {
        ...base,
        direction: 'down',
        hops: [],
        refusal: {
          rule: 'downgrade',
          reason: `${NAME[product]} ${fromText} runs and the file asks for the older ${toText}`,
          instead: `keep ${field}: ${fromText}, or set allow_downgrade: true if you mean it (data written by the newer version may not be readable)`
        }
      }
    if (-distance > 1)
      return {
        ...base,
        direction: 'down',
        hops: [],
        refusal: {
          rule: 'skipped-minor',
          reason: `a downgrade from ${fromText} to ${toText} skips ${-distance - 1} minor(s)`,
          instead: `downgrade one minor at a time: first to a ${from.major}.${from.minor - 1} release`
        }
      }
    return { ...base, direction: 'down', hops: [{ from: fromText, to: toText }] }
  }

  if (distance > 1) {
    const path: string[] = []
    const stoneOf = (minor: string): string =>
      LATEST[product]?.[minor] ?? `the latest ${minor} patch (not in this catalog)`
    const own = stone(product, minorOf(from), from, to)
    if (own) path.push(own.text)
    for (let m = from.minor + 1; m < to.minor; m++) path.push(stoneOf(`${from.major}.${m}`))
    path.push(toText)
    const skipped = Array.from({ length: distance - 1 }, (_, i) => `${from.major}.${from.minor + 1 + i}`)
    return {
      ...base,
      direction: 'up',
      hops: [],
      refusal: {
        rule: 'skipped-minor',
        reason: `${NAME[product]} ${fromText} → ${toText} skips minor ${skipped.join(', ')}; ${NAME[product]} upgrades one minor at a time`,
        instead: `set ${field} to each of ${path.join(' → ')} in turn, deploying after each`
      }
    }
  }
  const own = distance === 1 ? stone(product, minorOf(from), from, to) : undefined
  return { ...base, direction: 'up', hops: hopsThrough(fromText, own ? [own.text] : [], toText) }
}

export interface TalosPlanInput {
  runningTalos: string
  wantedTalos: string
  runningKubernetes: string
  /** The file's kubernetes_version; undefined keeps the running one. */
  wantedKubernetes?: string
  allowDowngrade: boolean
}

export interface TalosPath {
  talos: VersionPath
  kubernetes: VersionPath
  /** Which goes first: Talos (the usual) or Kubernetes (when the new Talos cannot run today's Kubernetes). */
  order: ('talos' | 'kubernetes')[]
  refusal?: Refusal
}

const supportText = (talos: string): string => {
  const v = parseVersion(talos)
  const r = v ? TALOS_KUBERNETES[minorOf(v)] : undefined
  return r
    ? `Talos ${talos} runs Kubernetes ${r.oldest}–${r.newest}`
    : `Talos ${talos} is not in this catalog's support matrix`
}

/**
 * Talos and Kubernetes together: every Talos hop must run the Kubernetes present at that moment, and the
 * Kubernetes target must run on the Talos present when upgrade-k8s runs. Talos goes first unless its new
 * minor cannot run today's Kubernetes while the old Talos can run the new one.
 */
export function talosPath(input: TalosPlanInput): TalosPath {
  const talos = versionPath('talos', input.runningTalos, input.wantedTalos, input)
  const kubernetes = versionPath(
    'kubernetes',
    input.runningKubernetes,
    input.wantedKubernetes ?? input.runningKubernetes,
    input
  )
  const refusal = talos.refusal ?? kubernetes.refusal
  if (refusal) return { talos, kubernetes, order: [], refusal }

  const runs = (talosText: string, k8sText: string): boolean | undefined => {
    const t = parseVersion(talosText)
    const k = parseVersion(k8sText)
    return t && k ? talosSupportsKubernetes(t, k) : undefined
  }
  const talosVersions = talos.hops.map((h) => h.to)
  const k8sVersions = kubernetes.hops.map((h) => h.to)
  const fits = (talosList: string[], k8s: string): string | undefined => talosList.find((t) => runs(t, k8s) !== true)
  const talosFirst =
    fits(talosVersions, input.runningKubernetes) ??
    fits([input.wantedTalos], k8sVersions.at(-1) ?? input.runningKubernetes)
  if (!talosFirst) return { talos, kubernetes, order: order(talos, kubernetes, 'talos') }
  const k8sFirst =
    fits([input.runningTalos], k8sVersions.at(-1) ?? input.runningKubernetes) ??
    fits(talosVersions, k8sVersions.at(-1) ?? input.runningKubernetes)
  if (!k8sFirst && k8sVersions.length) return { talos, kubernetes, order: order(talos, kubernetes, 'kubernetes') }

  const wantedK8s = input.wantedKubernetes ?? input.runningKubernetes
  const known = runs(talosFirst, input.runningKubernetes) !== undefined
  return {
    talos,
    kubernetes,
    order: [],
    refusal: {
      rule: known ? 'talos-kubernetes' : 'not-in-catalog',
      reason: `${supportText(talosFirst)}; the cluster runs Kubernetes ${input.runningKubernetes}${wantedK8s !== input.runningKubernetes ? ` and the file asks for ${wantedK8s}` : ''}`,
      instead: known
        ? `choose a kubernetes_version that ${talosFirst} supports and upgrade Kubernetes and Talos in separate deploys, one minor at a time`
        : `pick a Talos release from the catalog (${Object.values(TALOS_LATEST_PATCH).join(', ')})`
    }
  }
}

function order(talos: VersionPath, kubernetes: VersionPath, first: 'talos' | 'kubernetes'): ('talos' | 'kubernetes')[] {
  const all = first === 'talos' ? (['talos', 'kubernetes'] as const) : (['kubernetes', 'talos'] as const)
  return all.filter((p) => (p === 'talos' ? talos.hops.length : kubernetes.hops.length) > 0)
}
