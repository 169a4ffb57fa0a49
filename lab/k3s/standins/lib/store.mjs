// Cross-node state of a simulated k3s cluster, keyed by the first server's address, under the lab's
// shared folder so processes of every simulated node (all on this host) see the same cluster:
//   k3s/<ip>.json   k3s's own bootstrap data (token, cluster config, datastore id); writers take
//                   <ip>.json.lock, so agents of a parallel join queue on it
//   k3s/<ip>.kube/  the cluster's Kubernetes objects in lab/kube's state (Nodes, node-password Secrets,
//                   kube-system pods), its API token and serving certificate: the one store that
//                   `k3s kubectl` on the nodes reads and lab/k3s/kube-bridge.ts serves on <first server>:6443
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { readyCondition } from '../../../kube/objects.mjs'
import { withFileLock } from '../../../kube/lock.mjs'
import { readState, updateState } from '../../../kube/store.mjs'

export function labDir() {
  return process.env.TPI_LAB_DIR || '/var/lib/tpi-lab'
}

/** A node-local absolute path, under TPI_NODE_ROOT when the node runner rewrites roots that way. */
export function nodePath(path) {
  return join(process.env.TPI_NODE_ROOT || '/', path)
}

export function readText(path) {
  try {
    return readFileSync(nodePath(path), 'utf8')
  } catch {
    return undefined
  }
}

export function writeText(path, text, mode = 0o644) {
  const full = nodePath(path)
  mkdirSync(dirname(full), { recursive: true })
  writeFileSync(full, text, { mode })
}

function storeFile(serverIp) {
  return join(labDir(), 'k3s', `${serverIp}.json`)
}

/** lab/kube data folder of the cluster whose first server has this address. */
export function kubeDir(serverIp) {
  return join(labDir(), 'k3s', `${serverIp}.kube`)
}

export function emptyCluster() {
  return { id: '', token: '', fullToken: '', config: {} }
}

/** Node names kept NotReady by the fault files <lab>/k3s/faults/<node>.notready. */
export function notReady(name) {
  return existsSync(join(labDir(), 'k3s', 'faults', `${name}.notready`))
}

export const nodeKey = (name) => `/nodes//${name}`
export const secretKey = (name) => `/secrets/kube-system/${name}`

/** Brings each Node's Ready condition in line with the fault files (a fault removed → Ready again). */
export function applyFaults(dataDir) {
  const stale = Object.entries(readState(dataDir).objects).filter(
    ([k, o]) => k.startsWith('/nodes//') && isReady(o) === notReady(o.metadata.name)
  )
  if (!stale.length) return
  updateState(dataDir, (state) => {
    for (const [k] of stale) {
      const obj = state.objects[k]
      if (!obj || isReady(obj) !== notReady(obj.metadata.name)) continue
      obj.status.conditions = [readyCondition(!notReady(obj.metadata.name))]
      state.resourceVersion += 1
      obj.metadata.resourceVersion = String(state.resourceVersion)
    }
  })
}

export function isReady(node) {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
}

export function loadCluster(serverIp) {
  try {
    return JSON.parse(readFileSync(storeFile(serverIp), 'utf8'))
  } catch {
    return undefined
  }
}

/** Runs fn(cluster) under the cluster's lock and saves what it returns. */
export async function updateCluster(serverIp, fn) {
  const file = storeFile(serverIp)
  mkdirSync(dirname(file), { recursive: true })
  return withFileLock(file, 'k3s stand-in: cluster store', () => {
    const cluster = loadCluster(serverIp) ?? emptyCluster()
    const result = fn(cluster)
    writeFileSync(`${file}.tmp`, JSON.stringify(cluster, null, 2))
    renameSync(`${file}.tmp`, file)
    return result
  })
}

/** The minimal YAML k3s config files use: `key: value` and `key:` followed by `  - item` lines. */
export function parseConfig(text) {
  const config = {}
  let listKey
  for (const raw of (text ?? '').split('\n')) {
    const line = raw.replace(/\s+#.*$/, '')
    if (!line.trim() || line.trim().startsWith('#')) continue
    const item = /^\s+-\s+(.*)$/.exec(line)
    if (item && listKey) {
      config[listKey].push(unquote(item[1]))
      continue
    }
    const kv = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(line)
    if (!kv) continue
    if (kv[2] === '') {
      listKey = kv[1]
      config[listKey] = []
    } else {
      listKey = undefined
      config[kv[1]] = unquote(kv[2])
    }
  }
  return config
}

function unquote(value) {
  const v = value.trim()
  if (v.startsWith('"')) return JSON.parse(v)
  if (v.startsWith("'")) return v.slice(1, -1).replace(/''/g, "'")
  if (v === 'true') return true
  if (v === 'false') return false
  return v
}

/** The node's own identity and the cluster it belongs to, from /etc/rancher/k3s/config.yaml. */
export function nodeIdentity() {
  const config = parseConfig(readText('/etc/rancher/k3s/config.yaml'))
  const name = config['node-name'] || (readText('/etc/hostname') ?? 'localhost').trim()
  const ip = config['node-ip'] || '127.0.0.1'
  const serverIp = config.server ? new URL(config.server).hostname : ip
  return { config, name, ip, serverIp }
}
