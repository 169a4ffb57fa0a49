// Loading pipeline: read → parse YAML (positions kept) → schema (types, defaults) → normalise →
// cross-field checks. Every stage adds issues with file:line:col; all of them come back at once, and a
// Cluster only when there is no error.
import { readFile } from 'node:fs/promises'
import { LineCounter, parseDocument } from 'yaml'
import type { ConfigIssue } from '../errors.js'
import type { SourceRef } from '../reporter.js'
import { runChecks } from './checks.js'
import { clusterSchema, type Cluster } from './model.js'
import { formatIPv4, parseIPv4 } from './net.js'
import { normalize } from './normalize.js'
import { Locator, pathText, type YamlPath } from './positions.js'
import { schemaIssues } from './schema-issues.js'

export interface LoadResult {
  cluster?: Cluster
  issues: ConfigIssue[]
  /** Where a field stands in the file, for annotations (drift findings, phase errors). */
  locate(path: YamlPath): SourceRef | undefined
}

/** First usable host of the node network, the usual gateway when none is given. */
function defaultGateway(cluster: Cluster): string | undefined {
  const ip = parseIPv4(cluster.nodes[0]?.ip ?? '')
  if (ip === undefined) return undefined
  const size = 2 ** (32 - cluster.network.prefix)
  return formatIPv4(Math.floor(ip / size) * size + 1)
}

function withoutKeys(data: unknown, unknown: { path: PropertyKey[]; keys?: string[] }[]): unknown {
  const copy = structuredClone(data) as Record<PropertyKey, unknown>
  for (const issue of unknown) {
    let target: unknown = copy
    for (const p of issue.path) target = (target as Record<PropertyKey, unknown>)?.[p]
    for (const key of issue.keys ?? []) if (target && typeof target === 'object') delete (target as Record<string, unknown>)[key]
  }
  return copy
}

export function parseCluster(text: string, file: string): LoadResult {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const locator = new Locator(doc, lines, file)
  const locate = (path: YamlPath): SourceRef | undefined => locator.locate(path)
  const issues: ConfigIssue[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0])
    return { code: 'YamlSyntax', path: '(file)', message: e.message.split('\n')[0], severity: 'error', where: { file, line: pos.line, column: pos.col } }
  })
  if (issues.length) return { issues, locate }

  const data: unknown = doc.toJS()
  if (!data || typeof data !== 'object' || Array.isArray(data))
    return { issues: [{ code: 'NotAMapping', path: '(file)', message: 'the cluster file must be a YAML mapping starting with kind: k3s or kind: talos', severity: 'error', where: { file, line: 1, column: 1 } }], locate }

  let parsed = clusterSchema.safeParse(data)
  if (!parsed.success) {
    issues.push(...schemaIssues(parsed.error.issues, data, locator))
    // Unknown keys alone do not stop the cross-field checks: drop them and look at the rest, so a
    // person sees every problem in one run.
    if (!parsed.error.issues.every((i) => i.code === 'unrecognized_keys')) return { issues, locate }
    parsed = clusterSchema.safeParse(withoutKeys(data, parsed.error.issues))
    if (!parsed.success) return { issues, locate }
  }

  const { cluster, issues: normal } = normalize(parsed.data)
  cluster.network.gateway ??= defaultGateway(cluster)
  for (const f of [...normal, ...runChecks(cluster)])
    issues.push({ code: f.code, path: pathText(f.at), message: f.message, severity: f.severity ?? 'error', where: locator.locate(f.at) })
  return { cluster: issues.some((i) => i.severity === 'error') ? undefined : cluster, issues, locate }
}

export async function loadClusterFile(path: string, options: { displayPath?: string } = {}): Promise<LoadResult> {
  const file = options.displayPath ?? path
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    return { issues: [{ code: 'FileUnreadable', path: '(file)', message: `cannot read the cluster file ${file}: ${reason}`, severity: 'error' }], locate: () => undefined }
  }
  return parseCluster(text, file)
}
