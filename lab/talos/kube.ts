// Kubernetes for the lab Talos cluster: when a control plane bootstraps etcd it starts the emulated
// Kubernetes API (lab/kube) on its own address, port 6443, with the data in its node folder (like etcd
// data, a reflash wipes it); every node of the cluster that reaches "running" registers as a Node; the
// kubeconfig talosctl hands out is the API's (its CA and token, server = the cluster endpoint). Without
// lab/kube the nodes still boot and `talosctl kubeconfig` answers a kubeconfig with the cluster CA.
import { join } from 'node:path'
import type { KubeApi, LabNode } from '../kube/index.mjs'
import type { NodeRuntime } from '../node/personality.js'
import { clusterMembers, type TalosNodeApi } from './lib/index.mjs'
import type { TalosPersonalityOptions } from './personality.js'

type KubeModule = typeof import('../kube/index.mjs')

interface ClusterKube {
  /** The bootstrapping control plane: its node folder holds the API's data (a reflash of it wipes it). */
  host: string
  dataDir: string
  /** One API server per running control plane, on its own address (Talos runs kube-apiserver on each). */
  apis: Map<string, { api?: KubeApi; starting?: Promise<void> }>
}

async function kubeModule(): Promise<KubeModule | undefined> {
  try {
    return (await import('../kube/index.mjs')) as KubeModule
  } catch {
    return undefined
  }
}

export function labNode(api: TalosNodeApi): LabNode {
  const kubelet = /:(v[\d.]+)$/.exec(String(api.main?.machine?.kubelet?.image ?? ''))?.[1] ?? 'v1.32.0'
  return {
    name: api.hostname,
    ip: api.staticIp ?? '',
    roles: api.role === 'controlplane' ? ['control-plane'] : [],
    ready: !api.notReady(),
    kubeletVersion: kubelet,
    osImage: `Talos (${api.version})`,
    kernelVersion: '6.12.6-talos',
    containerRuntime: 'containerd://2.0.1'
  }
}

export interface TalosKube extends TalosPersonalityOptions {
  stopAll(): Promise<void>
}

export function kubeHooks(): TalosKube {
  const clusters = new Map<string, ClusterKube>()
  let kube: KubeModule | undefined
  const registerAll = (c: ClusterKube, id: string): void => {
    if (!kube) return
    for (const m of clusterMembers(id).values()) if (m.staticIp) kube.registerNode(c.dataDir, labNode(m))
  }
  const start = (c: ClusterKube, id: string, host: string): Promise<void> => {
    const slot = c.apis.get(host) ?? {}
    c.apis.set(host, slot)
    slot.starting ??= (async () => {
      kube ??= await kubeModule()
      if (!kube) return
      slot.api = await kube.startKubeApi({ host, port: 6443, dataDir: c.dataDir, tls: true })
      // The namespaces every cluster has (kube-apiserver creates them at start).
      kube.updateState(c.dataDir, (state) => {
        for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
          state.objects[`/namespaces//${name}`] ??= {
            apiVersion: 'v1',
            kind: 'Namespace',
            metadata: { name, labels: { 'kubernetes.io/metadata.name': name } },
            spec: { finalizers: ['kubernetes'] },
            status: { phase: 'Active' }
          }
      })
      registerAll(c, id)
    })().catch(() => undefined)
    return slot.starting
  }
  // Control planes that are running, by cluster, before and after the bootstrap: when etcd comes up each
  // of them starts its API server.
  const runningCps = new Map<string, Set<string>>()
  const cpsOf = (id: string): Set<string> => {
    let set = runningCps.get(id)
    if (!set) runningCps.set(id, (set = new Set()))
    return set
  }
  const anyApi = (c: ClusterKube): KubeApi | undefined =>
    c.apis.get(c.host)?.api ?? [...c.apis.values()].find((s) => s.api)?.api
  return {
    async onBootstrap(api, node: NodeRuntime) {
      const id = api.clusterId ?? ''
      // A recovery (bootstrap --recover-from) replaces the API servers an earlier bootstrap started.
      for (const slot of clusters.get(id)?.apis.values() ?? []) {
        await slot.starting
        await slot.api?.stop()
      }
      const c: ClusterKube = { host: node.host, dataDir: join(node.rootDir, 'talos', 'kube'), apis: new Map() }
      clusters.set(id, c)
      return Promise.all([node.host, ...cpsOf(id)].map((host) => start(c, id, host))).then(() => undefined)
    },
    onRunning(api, node) {
      const id = api.clusterId ?? ''
      if (api.role === 'controlplane' && api.stage === 'running') cpsOf(id).add(node.host)
      const c = clusters.get(id)
      if (!c) return
      // A control plane (back from a reboot, or joining) serves the API on its own address too.
      // Its apiserver needs etcd: it starts once the node's member runs (etcd-ops.mjs: started on its data,
      // or joined); after a reset of EPHEMERAL it waits for bootstrap --recover-from.
      if (api.role === 'controlplane' && api.stage === 'running' && !c.apis.get(node.host)?.starting)
        void Promise.resolve(api.etcdBoot).then(() => start(c, id, node.host))
      if (kube && api.staticIp) kube.registerNode(c.dataDir, labNode(api))
    },
    onStop(api, node, how) {
      cpsOf(api.clusterId ?? '').delete(node.host)
      const c = clusters.get(api.clusterId ?? '')
      const slot = c?.apis.get(node.host)
      if (!c || !slot) return
      c.apis.delete(node.host)
      // A reboot stops kube-apiserver as Talos does (SIGTERM: requests in flight finish); power loss cuts it.
      void slot.starting?.then(() => slot.api?.stop(how === 'reboot' ? { graceful: true } : undefined))
    },
    kubeconfig(api) {
      const c = clusters.get(api.clusterId ?? '')
      const endpoint = api.main?.cluster?.controlPlane?.endpoint as string | undefined
      const running = c && anyApi(c)
      if (!running || !kube || !endpoint) return undefined
      return kube.kubeconfigFor(running, endpoint, String(api.main?.cluster?.clusterName ?? 'talos'))
    },
    async stopAll() {
      for (const c of clusters.values())
        for (const slot of c.apis.values()) {
          await slot.starting
          await slot.api?.stop()
        }
      clusters.clear()
      runningCps.clear()
    }
  }
}
