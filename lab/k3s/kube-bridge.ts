// The Kubernetes API of lab K3s clusters, for the runner's kubectl and helm (the addons phase). The k3s
// stand-in keeps each cluster's Kubernetes objects in lab/kube's state, <store>/<first-server-ip>.kube
// (store = <labDir>/k3s): it creates the API's token and serving certificate there when the first server
// starts, writes the server's /etc/rancher/k3s/k3s.yaml with them, and registers every node in it. This
// bridge, in the lab process, polls the store and serves that folder with lab/kube's startKubeApi on
// hostFor(<first server ip>):6443 while that node is up, so the kubeconfig the install phase fetches
// (server rewritten to https://<first server LAN IP>:6443, mapped to 127.10.b.s:6443 by the lab's address
// map) reaches it, and `kubectl get nodes` on the runner shows what `k3s kubectl get nodes` shows on the
// nodes — one store. A first server that is powered off takes its API with it; a reflashed one starts a
// new cluster (new certificate and token: the bridge restarts the API when they change).
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { listNodes, readState, setReady, startKubeApi, type KubeApi } from '../kube/index.mjs'

export interface K3sKubeOptions {
  /** The folder the simulated nodes share (their TPI_LAB_DIR); the cluster store is its k3s/ folder. */
  labDir: string
  /** Loopback address (127.10.b.s) of the node that has this LAN address while it is up, else undefined. */
  hostFor(lanIp: string): string | undefined
}

interface Served {
  api: KubeApi
  host: string
  caPem: string
}

const POLL_MS = 50

/** Starts the bridge; stop() ends every API it serves. */
export async function startK3sKube(o: K3sKubeOptions): Promise<{ stop(): Promise<void> }> {
  const store = join(o.labDir, 'k3s')
  const served = new Map<string, Served>()
  let stopped = false

  const stopApi = async (key: string): Promise<void> => {
    const s = served.get(key)
    served.delete(key)
    await s?.api.stop()
  }

  const sync = async (ip: string): Promise<void> => {
    const key = ip
    const dataDir = join(store, `${ip}.kube`)
    const certFile = join(dataDir, 'apiserver.crt')
    const cluster = readJson(join(store, `${ip}.json`)) as { token?: string } | undefined
    // Ready to serve once the first server created the API data (the store's token is saved after it).
    const caPem =
      cluster?.token && readState(dataDir).token && existsSync(certFile) ? readFileSync(certFile, 'utf8') : undefined
    const host = caPem ? o.hostFor(ip) : undefined
    const current = served.get(key)
    if (current && (current.host !== host || current.caPem !== caPem)) await stopApi(key)
    if (!host || !caPem || stopped) return
    applyFaults(store, dataDir)
    if (served.has(key)) return
    const api = await startKubeApi({ host, port: 6443, dataDir, tls: true })
    if (stopped) return void (await api.stop())
    served.set(key, { api, host, caPem })
  }

  let busy = false
  const poll = async (): Promise<void> => {
    if (busy || stopped) return
    busy = true
    try {
      const seen = new Set(
        existsSync(store)
          ? readdirSync(store)
              .filter((f) => f.endsWith('.json'))
              .map((f) => f.slice(0, -'.json'.length))
          : []
      )
      // A failure (a writer mid-update, a port still closing) is retried at the next poll.
      for (const ip of seen) await sync(ip).catch(() => undefined)
      for (const key of [...served.keys()]) if (!seen.has(key)) await stopApi(key)
    } finally {
      busy = false
    }
  }
  await poll()
  const timer = setInterval(() => void poll(), POLL_MS)
  timer.unref()
  return {
    stop: async () => {
      stopped = true
      clearInterval(timer)
      while (busy) await new Promise((r) => setTimeout(r, 5))
      for (const key of [...served.keys()]) await stopApi(key)
    }
  }
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown
  } catch {
    return undefined // absent, or a writer is mid-rename
  }
}

/** <store>/faults/<node>.notready keeps a node Ready=False (as on the nodes); removing it makes it Ready again. */
function applyFaults(store: string, dataDir: string): void {
  if (!existsSync(dataDir)) return // wiped (a reflashed first server): never recreate it
  for (const node of listNodes(dataDir)) {
    const name = node.metadata.name
    const conditions =
      (node.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []
    const ready = conditions.some((c) => c.type === 'Ready' && c.status === 'True')
    const wanted = !existsSync(join(store, 'faults', `${name}.notready`))
    if (ready !== wanted) setReady(dataDir, name, wanted)
  }
}
