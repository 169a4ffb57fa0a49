// Machine config patches as talosctl applies them (--config-patch): a strategic merge patch (YAML,
// possibly several documents) or a JSON 6902 patch (a YAML/JSON list of {op, path, value}). Strategic
// merge: maps merge recursively, scalars are replaced, lists are appended, except the network
// interfaces list, merged by its `interface` name or `deviceSelector`; `$patch: delete` removes a map.
// Typed documents (apiVersion + kind) replace the document of the same kind and name, or are added.
import { parseDocs, isTyped, docKey } from './docs.mjs'

const isMap = (v) => v !== null && typeof v === 'object' && !Array.isArray(v)
const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)))

function interfaceKey(item) {
  if (!isMap(item)) return undefined
  if (item.interface) return `if:${item.interface}`
  if (item.deviceSelector) return `sel:${JSON.stringify(item.deviceSelector)}`
  return undefined
}

function mergeList(path, base, patch) {
  if (path === 'machine.network.interfaces') {
    const out = base.map(clone)
    for (const item of patch) {
      const key = interfaceKey(item)
      const at = key === undefined ? -1 : out.findIndex((b) => interfaceKey(b) === key)
      if (at >= 0) out[at] = merge(`${path}[]`, out[at], item)
      else out.push(clone(item))
    }
    return out
  }
  return [...base.map(clone), ...patch.map(clone)]
}

export function merge(path, base, patch) {
  if (isMap(patch) && patch.$patch === 'delete') return undefined
  if (isMap(base) && isMap(patch)) {
    const out = clone(base)
    for (const [k, v] of Object.entries(patch)) {
      const next = merge(path ? `${path}.${k}` : k, out[k], v)
      if (next === undefined) delete out[k]
      else out[k] = next
    }
    return out
  }
  if (Array.isArray(base) && Array.isArray(patch)) return mergeList(path, base, patch)
  return clone(patch)
}

// JSON pointer (RFC 6901) segments.
const segments = (pointer) => {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new Error(`JSON patch path "${pointer}" must start with /`)
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function parentOf(doc, path, create) {
  const segs = segments(path)
  const last = segs.pop()
  let node = doc
  for (const s of segs) {
    if (Array.isArray(node)) node = node[Number(s)]
    else if (isMap(node)) {
      if (node[s] === undefined && create) node[s] = {}
      node = node[s]
    } else node = undefined
    if (node === undefined) throw new Error(`JSON patch path ${path}: ${s} does not exist`)
  }
  return { node, last }
}

/** RFC 6902 add / replace / remove / test on a plain value (mutates and returns it). */
export function applyJsonPatch(doc, ops) {
  for (const op of ops) {
    if (!isMap(op) || typeof op.op !== 'string' || typeof op.path !== 'string')
      throw new Error(`JSON patch operation ${JSON.stringify(op)} needs op and path`)
    const { node, last } = parentOf(doc, op.path, op.op === 'add')
    if (op.op === 'add') {
      if (Array.isArray(node)) node.splice(last === '-' ? node.length : Number(last), 0, clone(op.value))
      else node[last] = clone(op.value)
    } else if (op.op === 'replace') {
      if (Array.isArray(node) ? Number(last) >= node.length : !(last in node))
        throw new Error(`JSON patch replace ${op.path}: nothing to replace`)
      node[Array.isArray(node) ? Number(last) : last] = clone(op.value)
    } else if (op.op === 'remove') {
      if (Array.isArray(node)) node.splice(Number(last), 1)
      else if (last in node) delete node[last]
      else throw new Error(`JSON patch remove ${op.path}: nothing to remove`)
    } else if (op.op === 'test') {
      if (JSON.stringify(node[last]) !== JSON.stringify(op.value)) throw new Error(`JSON patch test ${op.path} failed`)
    } else {
      throw new Error(`JSON patch op "${op.op}" is not supported (add, replace, remove, test)`)
    }
  }
  return doc
}

/** Applies one patch text to { main, typed }; returns a new { main, typed }. */
export function applyPatch(config, text) {
  const docs = parseDocs(text)
  let main = clone(config.main)
  const typed = config.typed.map(clone)
  if (docs.length === 1 && Array.isArray(docs[0])) {
    return { main: applyJsonPatch(main, docs[0]), typed }
  }
  for (const d of docs) {
    if (isTyped(d)) {
      const at = typed.findIndex((t) => docKey(t) === docKey(d))
      if (d.$patch === 'delete') {
        if (at >= 0) typed.splice(at, 1)
        continue
      }
      if (at >= 0) typed[at] = merge('', typed[at], d)
      else typed.push(clone(d))
    } else if (isMap(d)) {
      main = merge('', main, d)
    } else {
      throw new Error('a patch document must be a map (strategic merge) or a list of JSON patch operations')
    }
  }
  return { main, typed }
}
