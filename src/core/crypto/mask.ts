// Everything that must be masked before a credential file could reach a log: the whole file, its base64
// form, and the credential fields inside it with their base64-decoded forms (tools print a client key
// decoded as PEM, or a token on its own). Masks are not retroactive, so this runs before anything else.
import { parse } from 'yaml'
import type { Reporter } from '../reporter.js'

export type CredentialKind = 'kubeconfig' | 'talosconfig' | 'talos-secrets'

/** Field names that hold credentials in kubeconfig (users[].user) and talosconfig (contexts.*). */
const CREDENTIAL_KEYS = new Set([
  'token',
  'password',
  'client-key-data',
  'client-certificate-data',
  'key',
  'crt',
  'secret',
  'id-token',
  'refresh-token'
])

/** The runner ignores very short masks; so does MemoryReporter. Shorter strings are not credentials. */
const MIN_MASK = 8

function base64Decoded(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value) || value.replace(/\s/g, '').length % 4 !== 0) return undefined
  const text = Buffer.from(value, 'base64').toString('utf8')
  // Binary (a DER key) decodes to replacement characters; only text forms can show up in a log.
  return /^[\x09\x0a\x0d\x20-\x7e]+$/.test(text) ? text : undefined
}

/**
 * A value, its base64 form, and its decoded form when it is base64 text. With `lines`, also each line of
 * a multi-line form (a decoded PEM key is printed a line at a time); never for a whole file, whose
 * lines (`kind: Config`) are not secret on their own.
 */
export function derivedForms(value: string, options: { lines?: boolean } = {}): string[] {
  const forms = new Set<string>()
  const add = (v: string | undefined): void => {
    if (!v) return
    const trimmed = v.trim()
    if (trimmed.length < MIN_MASK) return
    forms.add(trimmed)
    if (options.lines && trimmed.includes('\n'))
      for (const line of trimmed.split(/\r?\n/))
        if (line.trim().length >= MIN_MASK && !line.startsWith('-----')) forms.add(line.trim())
  }
  add(value)
  add(Buffer.from(value.trim()).toString('base64'))
  add(base64Decoded(value.trim()))
  return [...forms]
}

function collect(node: unknown, everyLeaf: boolean, out: string[], key?: string): void {
  if (typeof node === 'string') {
    if (everyLeaf || (key !== undefined && CREDENTIAL_KEYS.has(key))) out.push(node)
  } else if (Array.isArray(node)) {
    for (const item of node) collect(item, everyLeaf, out, key)
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) collect(v, everyLeaf, out, k)
  }
}

/**
 * Every string that must be masked for one credential file. A Talos secrets bundle is secret in every
 * leaf (cluster secret, bootstrap token, CA keys); kubeconfig and talosconfig only in their credential
 * fields. A file that does not parse is still masked whole (and as base64).
 */
export function credentialSecrets(kind: CredentialKind, text: string): string[] {
  const values: string[] = []
  try {
    collect(parse(text), kind === 'talos-secrets', values)
  } catch {
    // Not YAML: the whole-file forms below still cover it.
  }
  const forms = new Set<string>(derivedForms(text))
  for (const value of values) for (const form of derivedForms(value, { lines: true })) forms.add(form)
  // Longest first: a runner replaces masks in order, and a short mask inside a long one must not split it.
  return [...forms].sort((a, b) => b.length - a.length)
}

/** Registers every mask for a credential file with the reporter. */
export function maskCredential(reporter: Reporter, kind: CredentialKind, text: string): void {
  for (const value of credentialSecrets(kind, text)) reporter.secret(value)
}
