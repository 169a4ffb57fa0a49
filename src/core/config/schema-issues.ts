// Turns zod issues into ConfigIssues a person can act on: the field path, what was found, what is
// expected, and for unknown keys the closest known one or the kind the key belongs to.
import type { z } from 'zod'
import type { ConfigIssue } from '../errors.js'
import { k3sClusterSchema, talosClusterSchema } from './model.js'
import { pathText, type Locator, type YamlPath } from './positions.js'

type ZodIssue = z.core.$ZodIssue

const NPU_KEYS = new Set(['npu_config', 'install_rknn', 'rknn_version', 'deploy_rkllama'])
const NPU_ON_TALOS = (key: string): string =>
  `${key}: the RK3588 NPU needs Rockchip's RKNPU driver, which only the vendor kernel (6.1.x) has; Talos runs a mainline kernel without it. Use kind: k3s (Armbian with the vendor kernel) for NPU workloads`
const K3S_KEYS = new Set(Object.keys(k3sClusterSchema.shape))
const TALOS_KEYS = new Set(Object.keys(talosClusterSchema.shape))

export function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1))
      prev = tmp
    }
  }
  return row[b.length]
}

export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined
  let score = Infinity
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase())
    if (d < score) [best, score] = [c, d]
  }
  return best !== undefined && score <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

/** The value at a path in the parsed data, to pick the right union branch. */
function valueAt(data: unknown, path: YamlPath): unknown {
  let v = data
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined
  return v
}

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${JSON.stringify(v)}`
}

/** Known keys of the object schema at a path, for "did you mean" (walks the parsed schema shapes). */
function knownKeys(kind: unknown, path: YamlPath): string[] {
  const root = kind === 'talos' ? talosClusterSchema : k3sClusterSchema
  let schema: unknown = root
  for (const p of path) {
    schema = unwrap(schema)
    if (typeof p === 'number') {
      schema = elementOf(schema)
      continue
    }
    const shape = (schema as { shape?: Record<string, unknown> }).shape
    if (!shape) return []
    schema = shape[p]
  }
  schema = unwrap(schema)
  return Object.keys((schema as { shape?: Record<string, unknown> }).shape ?? {})
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; options?: unknown[] } } | undefined
  for (let i = 0; i < 10 && s?.def; i++) {
    const t = s.def.type
    if (t === 'optional' || t === 'default' || t === 'nullable' || t === 'prefault') s = s.def.innerType as typeof s
    else if (t === 'union') {
      // control_plane: object or list of the same object: the object branch has the keys.
      const obj = s.def.options?.find((o) => (o as { shape?: unknown }).shape)
      s = (obj ?? s.def.options?.[0]) as typeof s
    } else break
  }
  return s
}

function elementOf(schema: unknown): unknown {
  const s = schema as { def?: { type?: string; element?: unknown; options?: unknown[] } }
  if (s?.def?.type === 'array') return s.def.element
  if (s?.def?.type === 'union') {
    const arr = s.def.options?.find((o) => (o as { def?: { type?: string } }).def?.type === 'array') as
      typeof s | undefined
    return arr?.def?.element
  }
  return undefined
}

export function schemaIssues(issues: ZodIssue[], data: unknown, locate: Locator): ConfigIssue[] {
  const out: ConfigIssue[] = []
  const kind = (data as { kind?: unknown } | undefined)?.kind
  const add = (code: string, path: YamlPath, message: string, preferValue = true): void => {
    out.push({ code, path: pathText(path), message, severity: 'error', where: locate.locate(path, preferValue) })
  }
  const visit = (issue: ZodIssue, prefix: YamlPath): void => {
    const path = [...prefix, ...(issue.path as YamlPath)]
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          const keyPath = [...path, key]
          if (path.length === 0 && kind === 'talos' && NPU_KEYS.has(key)) {
            add('NpuOnTalos', keyPath, NPU_ON_TALOS(key), false)
            continue
          }
          const other = kind === 'k3s' ? TALOS_KEYS : kind === 'talos' ? K3S_KEYS : undefined
          if (path.length === 0 && other?.has(key))
            add(
              'WrongKindField',
              keyPath,
              `${key} is a ${kind === 'k3s' ? 'Talos' : 'K3s'} field; this file is kind: ${kind}`,
              false
            )
          else {
            const guess = closest(key, knownKeys(kind, path))
            add(
              'UnknownKey',
              keyPath,
              `unknown key ${JSON.stringify(key).slice(0, 200)} ${path.length ? `in ${pathText(path)}` : 'at the top level'}${guess ? `; did you mean "${guess}"?` : ''}`,
              false
            )
          }
        }
        return
      case 'invalid_union': {
        if ('discriminator' in issue && issue.discriminator) {
          add(
            'InvalidKind',
            path,
            `kind must be "k3s" (K3s on Armbian) or "talos", found ${describeValue(valueAt(data, path))}`
          )
          return
        }
        // Pick the branch that matches the value's shape (object vs list) and report its issues.
        const value = valueAt(data, path)
        const branches = issue.errors as ZodIssue[][]
        const fits = branches.find((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0))
        if (fits) for (const i of fits) visit(i, path)
        else
          add('InvalidType', path, `expected a node mapping or a list of node mappings, found ${describeValue(value)}`)
        return
      }
      case 'invalid_type': {
        const found = valueAt(data, path)
        if (found === undefined)
          add('MissingField', path, `${pathText(path)} is required (expected ${issue.expected})`, false)
        else add('InvalidType', path, `expected ${issue.expected}, found ${describeValue(found)}`)
        return
      }
      case 'invalid_value':
        add(
          'InvalidValue',
          path,
          `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, found ${describeValue(valueAt(data, path))}`
        )
        return
      default:
        add('InvalidValue', path, issue.message)
    }
  }
  for (const issue of issues) visit(issue, [])
  return out
}
