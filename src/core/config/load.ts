// Loading pipeline: read → parse YAML (positions kept) → schema (types, defaults) → normalise →
// cross-field checks. Every stage adds issues with file:line:col; all of them come back at once, and a
// Cluster only when there is no error.
import { open } from 'node:fs/promises'
import { isAlias, LineCounter, parseDocument, visit, type Document } from 'yaml'
import type { ConfigIssue } from '../errors.js'
import type { SourceRef } from '../reporter.js'
import { runChecks } from './checks.js'
import { checkFiles } from './files.js'
import { clusterSchema, type Cluster } from './model.js'
import { defaultGateway } from './net.js'
import { normalize } from './normalize.js'
import { Locator, pathText, type YamlPath } from './positions.js'
import { schemaIssues } from './schema-issues.js'

export interface LoadResult {
  cluster?: Cluster
  issues: ConfigIssue[]
  /** Where a field stands in the file, for annotations (drift findings, phase errors). */
  locate(path: YamlPath): SourceRef | undefined
}

function withoutKeys(data: unknown, unknown: { path: PropertyKey[]; keys?: string[] }[]): unknown {
  const copy = structuredClone(data) as Record<PropertyKey, unknown>
  for (const issue of unknown) {
    let target: unknown = copy
    for (const p of issue.path) target = (target as Record<PropertyKey, unknown>)?.[p]
    for (const key of issue.keys ?? [])
      if (target && typeof target === 'object') delete (target as Record<string, unknown>)[key]
  }
  return copy
}

/** A cluster file is a few KiB; anything near this is a mistake or an attack (memory, CPU). */
export const MAX_FILE_BYTES = 1 << 20
/** Alias expansions allowed when the document is turned into data (a "billion laughs" guard). */
export const MAX_ALIAS_COUNT = 100

/** The first alias in the document, where an alias bomb is shown. */
function firstAlias(doc: Document): number | undefined {
  let at: number | undefined
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) at = node.range[0]
      return visit.BREAK
    }
  })
  return at
}

/** Flow collections ([…], {…}) nested deeper than any cluster file needs. */
export const MAX_FLOW_DEPTH = 32

/** Offset where flow nesting passes MAX_FLOW_DEPTH (quotes and comments skipped), or -1. Linear. */
function tooDeepAt(text: string): number {
  let depth = 0
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]
    if (ch === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      const end = text.indexOf('\n', i)
      if (end < 0) break
      i = end
    } else if (ch === '"' || ch === "'") {
      for (i++; i < text.length && text[i] !== ch; i++) if (ch === '"' && text[i] === '\\') i++
    } else if (ch === '[' || ch === '{') {
      if (++depth > MAX_FLOW_DEPTH) return i
    } else if ((ch === ']' || ch === '}') && depth > 0) depth--
  }
  return -1
}

/** The normalised cluster even when it has errors, for checks that add to them (files on disk). */
const normalised = new WeakMap<LoadResult, Cluster>()

export function parseCluster(text: string, file: string): LoadResult {
  const lines = new LineCounter()
  const deep = tooDeepAt(text)
  if (deep >= 0) {
    const before = text.slice(0, deep)
    const where = { file, line: before.split('\n').length, column: deep - before.lastIndexOf('\n') }
    return {
      issues: [
        {
          code: 'TooDeep',
          path: '(file)',
          message: `[…] and {…} are nested more than ${MAX_FLOW_DEPTH} deep here; a cluster file needs a few levels`,
          severity: 'error',
          where
        }
      ],
      locate: () => undefined
    }
  }
  let doc: Document
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  } catch (error) {
    // Nesting deep enough to exhaust the parser's stack, and the like.
    return {
      issues: [
        {
          code: 'YamlSyntax',
          path: '(file)',
          message: `the file cannot be parsed as YAML: ${(error as Error).message.split('\n')[0]}`,
          severity: 'error',
          where: { file, line: 1, column: 1 }
        }
      ],
      locate: () => undefined
    }
  }
  const locator = new Locator(doc, lines, file)
  const locate = (path: YamlPath): SourceRef | undefined => locator.locate(path)
  const issues: ConfigIssue[] = doc.errors.map((e) => {
    const pos = lines.linePos(e.pos[0])
    return {
      code: 'YamlSyntax',
      path: '(file)',
      message: e.message.split('\n')[0],
      severity: 'error',
      where: { file, line: pos.line, column: pos.col }
    }
  })
  if (issues.length) return { issues, locate }

  let data: unknown
  try {
    data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT })
  } catch (error) {
    const offset = firstAlias(doc)
    const pos = offset === undefined ? { line: 1, col: 1 } : lines.linePos(offset)
    const bomb = /alias/i.test((error as Error).message)
    return {
      issues: [
        {
          code: bomb ? 'TooManyAliases' : 'YamlSyntax',
          path: '(file)',
          message: bomb
            ? `the aliases (*name) of this file expand to more than ${MAX_ALIAS_COUNT} copies, which is refused (it looks like an alias bomb); the first alias is here`
            : `the file cannot be read as data: ${(error as Error).message.split('\n')[0]}`,
          severity: 'error',
          where: { file, line: pos.line, column: pos.col }
        }
      ],
      locate
    }
  }
  if (!data || typeof data !== 'object' || Array.isArray(data))
    return {
      issues: [
        {
          code: 'NotAMapping',
          path: '(file)',
          message: 'the cluster file must be a YAML mapping starting with kind: k3s or kind: talos',
          severity: 'error',
          where: { file, line: 1, column: 1 }
        }
      ],
      locate
    }

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
  cluster.network.gateway ??= defaultGateway(cluster.nodes[0]?.ip ?? '', cluster.network.prefix)
  for (const f of [...normal, ...runChecks(cluster)])
    issues.push({
      code: f.code,
      path: pathText(f.at),
      message: f.message,
      severity: f.severity ?? 'error',
      where: locator.locate(f.at)
    })
  const result: LoadResult = {
    cluster: issues.some((i) => i.severity === 'error') ? undefined : cluster,
    issues,
    locate
  }
  normalised.set(result, cluster)
  return result
}

/** Byte offset of the first invalid UTF-8 sequence, or -1. */
export function invalidUtf8At(bytes: Uint8Array): number {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return -1
  } catch {
    // Find where: walk the sequences (RFC 3629: no overlongs, no surrogates, at most U+10FFFF).
  }
  for (let i = 0; i < bytes.length;) {
    const b = bytes[i]!
    const n = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0
    if (!n || i + n > bytes.length) return i
    for (let k = 1; k < n; k++) if ((bytes[i + k]! & 0xc0) !== 0x80) return i
    const b1 = bytes[i + 1]!
    if (
      (b === 0xe0 && b1 < 0xa0) ||
      (b === 0xed && b1 > 0x9f) ||
      (b === 0xf0 && b1 < 0x90) ||
      (b === 0xf4 && b1 > 0x8f)
    )
      return i
    i += n
  }
  return -1
}

/** 1-based line and column (in bytes) of a byte offset. */
function lineOf(bytes: Uint8Array, offset: number): { line: number; column: number } {
  let line = 1
  let start = 0
  for (let i = 0; i < offset; i++) {
    if (bytes[i] !== 0x0a) continue
    line++
    start = i + 1
  }
  return { line, column: offset - start + 1 }
}

export async function loadClusterFile(
  path: string,
  options: { displayPath?: string; workingDirectory?: string } = {}
): Promise<LoadResult> {
  const file = options.displayPath ?? path
  const none = (): undefined => undefined
  let bytes: Buffer
  let size: number
  try {
    const handle = await open(path, 'r')
    try {
      size = (await handle.stat()).size
      // Never read more than the cap (+1 to know it was crossed): a 50 MB file costs nothing.
      bytes = Buffer.alloc(Math.min(size, MAX_FILE_BYTES + 1))
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, 0)
      bytes = bytes.subarray(0, bytesRead)
    } finally {
      await handle.close()
    }
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message
    return {
      issues: [
        {
          code: 'FileUnreadable',
          path: '(file)',
          message: `cannot read the cluster file ${file}: ${reason}`,
          severity: 'error'
        }
      ],
      locate: none
    }
  }
  if (bytes.length > MAX_FILE_BYTES) {
    const where = lineOf(bytes, MAX_FILE_BYTES)
    return {
      issues: [
        {
          code: 'FileTooLarge',
          path: '(file)',
          message: `the cluster file is ${size} bytes; at most ${MAX_FILE_BYTES} bytes (1 MiB) are accepted, and this line crosses that limit`,
          severity: 'error',
          where: { file, ...where }
        }
      ],
      locate: none
    }
  }
  const bad = invalidUtf8At(bytes)
  if (bad >= 0) {
    const where = lineOf(bytes, bad)
    return {
      issues: [
        {
          code: 'InvalidUtf8',
          path: '(file)',
          message: `byte 0x${bytes[bad]!.toString(16).padStart(2, '0')} at offset ${bad} is not valid UTF-8: the cluster file must be UTF-8 text`,
          severity: 'error',
          where: { file, ...where }
        }
      ],
      locate: none
    }
  }
  const result = parseCluster(bytes.toString('utf8'), file)
  const cluster = normalised.get(result)
  if (!cluster || options.workingDirectory === undefined) return result
  // Also when other fields are wrong: every problem of the file in one run.
  const found = await checkFiles(cluster, options.workingDirectory)
  if (!found.length) return result
  const issues = [
    ...result.issues,
    ...found.map((f): ConfigIssue => ({
      code: f.code,
      path: pathText(f.at),
      message: f.message,
      severity: f.severity ?? 'error',
      where: result.locate(f.at)
    }))
  ]
  return { ...result, issues, cluster: issues.some((i) => i.severity === 'error') ? undefined : result.cluster }
}
