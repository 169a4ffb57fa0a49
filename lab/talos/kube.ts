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
  host: string
  dataDir: string
  api?: KubeApi
  starting?: Promise<void>
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
  const start = (c: ClusterKube, id: string): Promise<void> => {
    c.starting ??= (async () => {
      kube ??= await kubeModule()
      if (!kube) return
      c.api = await kube.startKubeApi({ host: c.host, port: 6443, dataDir: c.dataDir, tls: true })
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
    return c.starting
  }
  return {
    async onBootstrap(api, node: NodeRuntime) {
      const id = api.clusterId ?? ''
      // A recovery (bootstrap --recover-from) replaces the API an earlier bootstrap started.
      const old = clusters.get(id)
      await old?.starting
      await old?.api?.stop()
      const c: ClusterKube = { host: node.host, dataDir: join(node.rootDir, 'talos', 'kube') }
      clusters.set(id, c)
      return start(c, id)
    },
    onRunning(api, node) {
      const id = api.clusterId ?? ''
      const c = clusters.get(id)
      if (!c) return
      // The control plane hosting the API came back from a reboot: its API comes back with it.
      // (Its apiserver needs etcd: after a reset of EPHEMERAL it waits for bootstrap --recover-from.)
      if (c.host === node.host && !c.api) {
        if (api.state.etcd) void Promise.resolve(api.etcdBoot).then(() => start(c, id))
      } else if (kube && api.staticIp) kube.registerNode(c.dataDir, labNode(api))
    },
    onStop(api, node) {
      const c = clusters.get(api.clusterId ?? '')
      if (!c || c.host !== node.host) return
      const running = c.api
      c.api = undefined
      c.starting = undefined
      void running?.stop()
    },
    kubeconfig(api) {
      const c = clusters.get(api.clusterId ?? '')
      const endpoint = api.main?.cluster?.controlPlane?.endpoint as string | undefined
      if (!c?.api || !kube || !endpoint) return undefined
      return kube.kubeconfigFor(c.api, endpoint, String(api.main?.cluster?.clusterName ?? 'talos'))
    },
    async stopAll() {
      for (const c of clusters.values()) {
        await c.starting
        await c.api?.stop()
      }
      clusters.clear()
    }
  }
}
