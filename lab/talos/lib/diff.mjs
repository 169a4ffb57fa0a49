// What an apply changes: a line diff of the two configs (for --dry-run) and whether Talos can take the
// change without a reboot. Talos applies immediately changes under .cluster, .debug and most of
// .machine (network, kubelet, install, sysctls, labels, …) and every typed document; anything else in
// .machine (type, token, ca, disks, files, env, …) needs a reboot.
import { splitConfig, joinConfig } from './docs.mjs'

const IMMEDIATE_MACHINE = new Set([
  'time',
  'certSANs',
  'install',
  'network',
  'nodeLabels',
  'nodeAnnotations',
  'nodeTaints',
  'sysfs',
  'sysctls',
  'logging',
  'controlPlane',
  'kubelet',
  'kernel',
  'registries',
  'pods',
  'seccompProfiles',
  'udev',
  'features'
])

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b)

export function needsReboot(oldText, newText) {
  const a = splitConfig(oldText).main ?? {}
  const b = splitConfig(newText).main ?? {}
  const keys = new Set([...Object.keys(a.machine ?? {}), ...Object.keys(b.machine ?? {})])
  for (const k of keys) if (!IMMEDIATE_MACHINE.has(k) && !same(a.machine?.[k], b.machine?.[k])) return true
  return !same(a.persist, b.persist) || !same(a.version, b.version)
}

/** A value with every object's keys in sorted order (YAML and JSON output that does not depend on order). */
export const sortKeys = (v) =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, sortKeys(v[k])])
        )
      : v

/** Canonical text of a config, so formatting and key order do not count as a change. */
export function canonical(text) {
  const { main, typed } = splitConfig(text)
  return joinConfig(
    sortKeys(main),
    typed.map(sortKeys).sort((x, y) => `${x.kind}/${x.name}`.localeCompare(`${y.kind}/${y.name}`))
  )
}

/** Unified-style diff (---/+++ and -/+ lines with one line of context); '' when equal. */
export function lineDiff(oldText, newText) {
  const a = canonical(oldText).split('\n')
  const b = canonical(newText).split('\n')
  if (a.join('\n') === b.join('\n')) return ''
  // LCS table; configs are a few hundred lines.
  const n = a.length
  const m = b.length
  const lcs = Array.from({ length: n + 1 }, () => new Int32Array(m + 1))
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1])
  const ops = []
  let i = 0
  let j = 0
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push([' ', a[i]])
      i++
      j++
    } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push(['-', a[i++]])
    else ops.push(['+', b[j++]])
  }
  const changed = ops.map((o) => o[0] !== ' ')
  const keep = ops.map((_, k) => changed[k] || changed[k - 1] === true || changed[k + 1] === true)
  const out = ['--- a', '+++ b']
  ops.forEach((o, k) => {
    if (keep[k]) out.push(`${o[0]}${o[1]}`)
  })
  return out.join('\n')
}
