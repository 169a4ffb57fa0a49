// The hook that keeps a lab/kube cluster's ConfigMaps in a real etcd (see README.md): lab/kube's store calls
// loadFromEtcd after reading its JSON file and saveToEtcd before writing it. Only data folders holding
// etcd.json are affected, so every other lab cluster keeps its plain JSON store.
import { readFileSync, writeFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { delSync, getPrefixSync, putSync } from './ctl.mjs'

export const ETCD_FILE = 'etcd.json'
// lab/kube storage keys are group/plural/namespace/name ('' group for core); the apiserver's etcd layout is
// /registry/<plural>/<namespace>/<name>.
const STORE_PREFIX = '/configmaps/'
const ETCD_PREFIX = '/registry/configmaps/'

/** { endpoints } when this data folder keeps objects in etcd, else undefined. */
export function etcdConfig(dataDir) {
  try {
    return JSON.parse(readFileSync(join(dataDir, ETCD_FILE), 'utf8'))
  } catch {
    return undefined
  }
}

/** Points a lab/kube data folder at etcd (endpoints: client URLs), or detaches it (undefined). */
export function attachEtcd(dataDir, endpoints) {
  if (!endpoints) return rmSync(join(dataDir, ETCD_FILE), { force: true })
  writeFileSync(join(dataDir, ETCD_FILE), JSON.stringify({ endpoints: [].concat(endpoints) }))
}

const held = (key) => key.startsWith(STORE_PREFIX)

/** Replaces the state's ConfigMaps by etcd's (throws when etcd has no quorum). Returns the state. */
export function loadFromEtcd(dataDir, state) {
  const cfg = etcdConfig(dataDir)
  if (!cfg) return state
  for (const key of Object.keys(state.objects)) if (held(key)) delete state.objects[key]
  for (const [k, v] of Object.entries(getPrefixSync(cfg.endpoints, ETCD_PREFIX)))
    state.objects[STORE_PREFIX + k.slice(ETCD_PREFIX.length)] = JSON.parse(v)
  return state
}

/** The etcd-held objects of a state as { storeKey: json }, to diff a write against. */
export function heldSnapshot(dataDir, state) {
  if (!etcdConfig(dataDir)) return undefined
  return Object.fromEntries(
    Object.entries(state.objects)
      .filter(([k]) => held(k))
      .map(([k, o]) => [k, JSON.stringify(o)])
  )
}

/**
 * Writes what changed since `before` (heldSnapshot) to etcd, and returns the state to save in the JSON
 * file: the same without the etcd-held objects.
 */
export function saveToEtcd(dataDir, before, state) {
  const cfg = etcdConfig(dataDir)
  if (!cfg || !before) return state
  const now = Object.fromEntries(
    Object.entries(state.objects)
      .filter(([k]) => held(k))
      .map(([k, o]) => [k, JSON.stringify(o)])
  )
  for (const [k, v] of Object.entries(now))
    if (before[k] !== v) putSync(cfg.endpoints, ETCD_PREFIX + k.slice(STORE_PREFIX.length), v)
  for (const k of Object.keys(before))
    if (!(k in now)) delSync(cfg.endpoints, ETCD_PREFIX + k.slice(STORE_PREFIX.length))
  return { ...state, objects: Object.fromEntries(Object.entries(state.objects).filter(([k]) => !held(k))) }
}
