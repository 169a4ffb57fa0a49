// Machine config documents: a Talos config is a v1alpha1 document (`version: v1alpha1`) followed by
// zero or more typed documents (`apiVersion` + `kind`, e.g. HostnameConfig, UserVolumeConfig).
import { parseAllDocuments, stringify } from 'yaml'

/** Splits a multi-document YAML text into plain values (empty documents dropped). */
export function parseDocs(text) {
  const out = []
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`invalid YAML: ${doc.errors[0].message}`)
    const value = doc.toJS()
    if (value !== null && value !== undefined) out.push(value)
  }
  return out
}

export const isTyped = (doc) =>
  doc &&
  typeof doc === 'object' &&
  !Array.isArray(doc) &&
  typeof doc.kind === 'string' &&
  typeof doc.apiVersion === 'string'

/** { main: the v1alpha1 document or undefined, typed: [...] } */
export function splitConfig(text) {
  const docs = parseDocs(text)
  const main = docs.find((d) => !isTyped(d) && !Array.isArray(d))
  return { main, typed: docs.filter(isTyped) }
}

/** Talos writes 4-space YAML (Go yaml.v3); so does the lab. */
export function joinConfig(main, typed) {
  const parts = []
  if (main) parts.push(stringify(main, { indent: 4, lineWidth: 0 }))
  for (const d of typed) parts.push(stringify(d, { indent: 4, lineWidth: 0 }))
  return parts.join('---\n')
}

export const docKey = (d) => `${d.kind}/${d.name ?? ''}`
