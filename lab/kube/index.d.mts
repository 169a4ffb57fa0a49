// Types of the lab Kubernetes API (the implementation is plain JavaScript so node stand-ins on simulated
// nodes can run it without a TypeScript loader).

export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: {
    name: string
    namespace?: string
    labels?: Record<string, string>
    annotations?: Record<string, string>
    uid?: string
    resourceVersion?: string
    creationTimestamp?: string
    [k: string]: unknown
  }
  [field: string]: unknown
}

export interface LabKubeState {
  /** Bumped on every write, like etcd's revision. */
  resourceVersion: number
  /** The only credential the API accepts (Authorization: Bearer). */
  token: string
  /** gitVersion answered on /version. */
  version: string
  /** Storage key `group/plural/namespace/name` (group '' for core, namespace '' for cluster-scoped). */
  objects: Record<string, KubeObject>
}

export interface LabNode {
  name: string
  /** The node's LAN address, as kubelet reports it (InternalIP). */
  ip: string
  /** Role names: control-plane, master, etcd, worker ... → node-role.kubernetes.io/<role>=true */
  roles: string[]
  labels?: Record<string, string>
  ready: boolean
  /** Ready=False reason when not ready (default KubeletNotReady). */
  reason?: string
  kubeletVersion: string
  osImage: string
  kernelVersion: string
  containerRuntime: string
  podCIDR?: string
}

export interface KubeApiOptions {
  host: string
  /** 0 = any free port. */
  port: number
  /** Where the state (kube-state.json) and the serving certificate live; shared by all processes. */
  dataDir: string
  /** HTTPS with a self-signed certificate (default true). */
  tls?: boolean
  /** Bearer token to accept (default: kept from the state, or generated once). */
  token?: string
  /** Kubernetes gitVersion for /version (default v1.31.3, or what the state holds). */
  version?: string
}

export interface KubeApi {
  /** https://host:port (http:// when tls is false). */
  url: string
  host: string
  port: number
  dataDir: string
  /** The serving certificate (its own CA) when tls is on. */
  caPem?: string
  token: string
  registerNode(node: LabNode): void
  setReady(name: string, ready: boolean, reason?: string): void
  deleteNode(name: string): void
  state(): LabKubeState
  /** graceful: requests in flight finish, as on SIGTERM; otherwise every connection is cut. */
  stop(options?: { graceful?: boolean }): Promise<void>
}

export declare function startKubeApi(options: KubeApiOptions): Promise<KubeApi>
/** Kubeconfig YAML for the API at serverUrl (host:port kept, scheme from the API), with its CA and token. */
export declare function kubeconfigFor(api: Pick<KubeApi, 'caPem' | 'token'>, serverUrl: string, name?: string): string
/** Same as KubeApi.registerNode, from any process, without a running server. */
export declare function registerNode(dataDir: string, node: LabNode): void
export declare function setReady(dataDir: string, name: string, ready: boolean, reason?: string): void
export declare function deleteNode(dataDir: string, name: string): void
export declare function listNodes(dataDir: string): KubeObject[]
export declare function readState(dataDir: string): LabKubeState
export declare function updateState<T>(dataDir: string, fn: (state: LabKubeState) => T): T
export declare const STATE_FILE: string
/** Annotation (ISO time) before which a Deployment/DaemonSet/StatefulSet/Endpoints reads as not ready. */
export declare const READY_AT: string
