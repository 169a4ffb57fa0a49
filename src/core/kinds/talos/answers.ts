// Reading talosctl's answers: the text is the interface (the CLI has no machine-readable apply result),
// so each reader names the exact phrases it relies on (real-samples C6, C7; dry-run summary of apply-config).
import { parse, parseAllDocuments } from 'yaml'

export type NodeMode = 'maintenance' | 'configured' | 'unreachable'

/**
 * `get disks --insecure`: a table means the maintenance service answered. A configured node's apid asks
 * for a client certificate, which an insecure client does not have: that TLS refusal means "configured".
 * Anything else (refused, timed out, no route) means nothing answered.
 */
export function modeFromDisks(result: { code: number; stdout: string; stderr: string }): NodeMode {
  if (result.code === 0) return 'maintenance'
  const text = `${result.stderr}\n${result.stdout}`
  if (/certificate required|Unauthenticated|PermissionDenied|tls: .*(certificate|unknown authority)/i.test(text))
    return 'configured'
  return 'unreachable'
}

export interface DryRunAnswer {
  changed: boolean
  reboot: boolean
  /** The "Config diff:" part, for debug output (may contain secrets: mask before printing). */
  diff: string
}

/** `apply-config --dry-run`: "Dry run summary:\n<mode details> (skipped in dry-run).\n\nConfig diff:\n\n<diff>". */
export function parseDryRun(text: string): DryRunAnswer {
  const at = text.indexOf('Config diff:')
  const diff = at >= 0 ? text.slice(at + 'Config diff:'.length).trim() : ''
  const changed = at >= 0 ? diff !== '' && !/^No changes\.?$/m.test(diff) : true
  return { changed, reboot: /with a reboot/.test(text) && !/without a reboot/.test(text), diff }
}

/** `version` (real-samples C8): the Tag of the first node in the Server part; undefined without one. */
export function serverTag(stdout: string): string | undefined {
  const server = stdout.split(/^Server:\s*$/m)[1]
  return server?.match(/^\s*Tag:\s*(\S+)/m)?.[1]
}

/**
 * The schematic id a node runs, from `get extensions`: an Image Factory image carries a virtual extension
 * named "schematic" whose version is the id. null: no such row (not a factory image); undefined: no table.
 */
export function schematicOf(stdout: string): string | null | undefined {
  const lines = stdout.trim().split('\n')
  if (!/^NODE\s+NAMESPACE\s+TYPE\s+ID\s+VERSION\s+NAME\s+VERSION$/.test(lines[0]?.trim() ?? '')) return undefined
  const row = lines
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .find((cells) => cells.at(-2) === 'schematic')
  return row?.at(-1) ?? null
}

/** A second bootstrap answers AlreadyExists (etcd data directory is not empty): the work is done. */
export const bootstrapDone = (text: string): boolean => /code = AlreadyExists/.test(text)

/** apid is not up yet, or etcd cannot take the bootstrap yet: try again within the timeout. */
export const bootstrapRetryable = (text: string): boolean =>
  /code = (Unavailable|FailedPrecondition|DeadlineExceeded)|connection refused/.test(text)

/** `get machinestatus -o json`: the stage and readiness of a configured node. */
export function parseMachineStatus(stdout: string): { stage: string; ready: boolean; unmet: string[] } | undefined {
  try {
    const first = stdout.trim().split(/\n(?=\{)/)[0] ?? ''
    const r = JSON.parse(first) as {
      spec?: { stage?: string; status?: { ready?: boolean; unmetConditions?: { name: string; reason: string }[] } }
    }
    const status = r.spec?.status
    return {
      stage: r.spec?.stage ?? 'unknown',
      ready: status?.ready === true,
      unmet: (status?.unmetConditions ?? []).map((c) => `${c.name}: ${c.reason}`)
    }
  } catch {
    return undefined
  }
}

/** The failing check of `talosctl health` (non-TTY lines "waiting for X: ..."), for the error message. */
export function unhealthyFrom(output: string): string {
  const lines = output
    .replace(/\r/g, '')
    .split('\n')
    .filter((l) => l.trim())
  const waits = lines.filter((l) => l.startsWith('waiting for '))
  const last = waits.at(-1)
  if (!last) return lines.at(-1) ?? 'no output from talosctl health'
  if (last.endsWith(': OK')) return lines.at(-1) ?? last
  return last
}

/**
 * A node's applied machine config as `get machineconfig -o yaml` shows it. talosctl up to 1.11 prints the
 * spec as a mapping made from the config's first (v1alpha1) document only; later ones print the whole
 * config as a string. complete: every document is there.
 */
export interface AppliedConfig {
  docs: unknown[]
  complete: boolean
}

/** `get machineconfig -o yaml` over several nodes: one `---`-separated document per node that answered. */
export function parseMachineConfigs(stdout: string): Map<string, AppliedConfig> {
  const out = new Map<string, AppliedConfig>()
  for (const part of stdout.split(/^---\s*$/m)) {
    if (!part.trim()) continue
    let doc: { node?: unknown; spec?: unknown } | undefined
    try {
      doc = parse(part) as { node?: unknown; spec?: unknown } | undefined
    } catch {
      continue // an unreadable document proves nothing about its node: that node is looked at the old way
    }
    if (!doc || typeof doc.node !== 'string' || doc.spec === undefined || doc.spec === null) continue
    if (typeof doc.spec === 'string') out.set(doc.node, { docs: configDocs(doc.spec), complete: true })
    else out.set(doc.node, { docs: [doc.spec], complete: false })
  }
  return out
}

/** The documents of a machine config text (empty ones dropped). */
export function configDocs(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as unknown)
    .filter((d) => d !== null && d !== undefined)
}

const sorted = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sorted)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sorted((v as Record<string, unknown>)[k])])
        )
      : v

/** Documents in a form where formatting, comments and key order do not count. */
export const canonicalDocs = (docs: unknown[]): string => JSON.stringify(docs.map(sorted))

/**
 * Whether the node holds exactly the wanted config: true / false, or undefined when its answer cannot
 * tell (a 1.9 talosctl shows only the first document, and the wanted config has more).
 */
export function sameConfig(applied: AppliedConfig, wanted: unknown[]): boolean | undefined {
  if (applied.complete) return canonicalDocs(applied.docs) === canonicalDocs(wanted)
  if (wanted.length !== 1) return undefined
  return canonicalDocs(applied.docs) === canonicalDocs(wanted)
}

/** `version` over several nodes (real-samples C8): each Server block's NODE and Tag. */
export function serverTags(stdout: string): Record<string, string> {
  const server = stdout.split(/^Server:\s*$/m)[1] ?? ''
  const out: Record<string, string> = {}
  let node: string | undefined
  for (const line of server.split('\n')) {
    const m = /^\s*(NODE|Tag):\s*(\S+)/.exec(line)
    if (m?.[1] === 'NODE') node = m[2]
    else if (m?.[1] === 'Tag' && node) {
      out[node] = m[2] as string
      node = undefined
    }
  }
  return out
}

/**
 * The cluster's Kubernetes version from the nodes' applied configs: the lowest kubelet image tag
 * (Talos runs the kubelet its config names; upgrade-k8s moves that image). Undefined unless every
 * given config names one.
 */
export function lowestKubelet(applied: (AppliedConfig | undefined)[]): string | undefined {
  const tags: [number, number, number, string][] = []
  for (const config of applied) {
    const main = config?.docs[0] as { machine?: { kubelet?: { image?: unknown } } } | undefined
    const m = /:v(\d+)\.(\d+)\.(\d+)$/.exec(String(main?.machine?.kubelet?.image ?? ''))
    if (!m) return undefined
    tags.push([Number(m[1]), Number(m[2]), Number(m[3]), `v${m[1]}.${m[2]}.${m[3]}`])
  }
  tags.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2])
  return tags[0]?.[3]
}
