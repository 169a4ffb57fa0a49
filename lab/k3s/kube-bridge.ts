// The Kubernetes API of a lab K3s cluster. The k3s stand-in registers nodes in a shared JSON store
// (<share>/k3s/<first-server-ip>.json) but runs no API server; the runner's kubectl and helm (addons)
// need one on <first server>:6443. This bridge, in the lab process, watches the store: once a cluster's
// first server has started it serves lab/kube's API on that node's loopback address, writes the
// server's /etc/rancher/k3s/k3s.yaml with that API's CA and token (as k3s writes its own), and copies
// the registered nodes (roles, labels, Ready) into the API on every poll.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { kubeconfigFor, registerNode, startKubeApi, type KubeApi } from '../kube/index.mjs'

interface StoredNode { role: string; ip: string; version: string; labels: Record<string, string> }
interface StoredCluster { token?: string; nodes?: Record<string, StoredNode> }

export interface K3sKubeOptions {
  /** The folder the nodes share (SimNode `share`); the store is its k3s/ folder. */
  share: string
  /** Loopback address of the node that has this LAN address, once it is up. */
  hostFor(lanIp: string): string | undefined
  /** That node's root folder (its /etc/rancher/k3s/k3s.yaml lives there). */
  rootFor(lanIp: string): string | undefined
  pollMs?: number
}

export async function startK3sKube(o: K3sKubeOptions): Promise<{ stop(): Promise<void> }> {
  const apis = new Map<string, { api: KubeApi; host: string }>()
  const starting = new Set<string>()
  const store = join(o.share, 'k3s')
  const notReady = (name: string): boolean => existsSync(join(store, 'faults', `${name}.notready`))

  const sync = async (ip: string, cluster: StoredCluster): Promise<void> => {
    const host = o.hostFor(ip)
    let entry = apis.get(ip)
    if (entry && entry.host !== host) {
      // The first server was reflashed or powered off: its API (and its data) went with it.
      apis.delete(ip)
      await entry.api.stop()
      entry = undefined
    }
    if (!host || !cluster.token) return
    if (!entry && !starting.has(ip)) {
      starting.add(ip)
      try {
        const api = await startKubeApi({ host, port: 6443, dataDir: join(store, `${ip}.kube`), tls: true })
        entry = { api, host }
        apis.set(ip, entry)
      } finally {
        starting.delete(ip)
      }
    }
    if (!entry) return
    const root = o.rootFor(ip)
    if (root) {
      const path = join(root, 'etc/rancher/k3s/k3s.yaml')
      const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined
      if (current !== undefined && !current.includes(entry.api.token)) writeFileSync(path, kubeconfigFor(entry.api, 'https://127.0.0.1:6443', 'default'), { mode: 0o600 })
    }
    for (const [name, n] of Object.entries(cluster.nodes ?? {})) {
      const roles = Object.keys(n.labels ?? {}).filter((k) => k.startsWith('node-role.kubernetes.io/')).map((k) => k.slice('node-role.kubernetes.io/'.length))
      const ready = !notReady(name)
      registerNode(entry.api.dataDir, {
        name, ip: n.ip, roles, labels: n.labels, ready, ...(ready ? {} : { reason: 'KubeletNotReady' }),
        kubeletVersion: n.version?.replace(/\+.*$/, '') ?? 'v1.31.3', osImage: 'Armbian 25.8.1 bookworm',
        kernelVersion: '6.1.115-vendor-rk35xx', containerRuntime: 'containerd://1.7.23-k3s2'
      })
    }
  }

  let busy = false
  const poll = async (): Promise<void> => {
    if (busy) return
    busy = true
    try {
      const files = existsSync(store) ? readdirSync(store).filter((f) => f.endsWith('.json')) : []
      for (const f of files) {
        let cluster: StoredCluster
        try {
          cluster = JSON.parse(readFileSync(join(store, f), 'utf8')) as StoredCluster
        } catch {
          continue // a writer is mid-rename; next poll
        }
        await sync(f.slice(0, -'.json'.length), cluster).catch(() => undefined)
      }
    } finally {
      busy = false
    }
  }
  const timer = setInterval(() => void poll(), o.pollMs ?? 100)
  timer.unref()
  return {
    stop: async () => {
      clearInterval(timer)
      for (const { api } of apis.values()) await api.stop()
      apis.clear()
    }
  }
}
