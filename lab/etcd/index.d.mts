// Types of lab/etcd (plain JavaScript, so stand-ins on simulated nodes can use it without a TypeScript loader).

export interface Peer {
  name: string
  peerUrl: string
}

export interface EtcdMemberOptions {
  name: string
  /** A loopback address (127.x.y.z); anything else is refused. */
  host: string
  dataDir: string
  /** 0 or absent: a random free port. */
  clientPort?: number
  peerPort?: number
  /** Default: this member alone. */
  initialCluster?: Peer[]
  clusterState?: 'new' | 'existing'
  clusterToken?: string
}

export interface EtcdMember {
  name: string
  host: string
  dataDir: string
  clientUrl: string
  peerUrl: string
  logFile: string
  readonly running: boolean
  /** Starts the process again on the same data (default clusterState 'existing'). */
  start(clusterState?: 'new' | 'existing'): Promise<void>
  /** SIGTERM (or the given signal) and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>
  /** SIGKILL: a crash or a power cut. */
  kill(): Promise<void>
}

export interface MemberInfo {
  id: string
  name: string
  peerUrls: string[]
  clientUrls: string[]
  isLearner: boolean
}

export function startEtcdMember(options: EtcdMemberOptions): Promise<EtcdMember>
export function stopAllEtcd(): Promise<void>
export function freePort(host: string): Promise<number>
export function etcdArgs(o: EtcdMemberOptions & { clientUrl: string; peerUrl: string }): string[]
export function initialClusterFlag(peers: Peer[]): string

export function memberList(endpoints: string | string[]): Promise<MemberInfo[]>
export function memberAdd(
  endpoints: string | string[],
  name: string,
  peerUrl: string,
  timeoutMs?: number
): Promise<MemberInfo[]>
/** A joining member's --initial-cluster peers: its unstarted member reused, else added. */
export function joinPeers(
  endpoints: string | string[],
  name: string,
  peerUrl: string,
  listed?: MemberInfo[]
): Promise<Peer[]>
export function memberRemove(endpoints: string | string[], name: string, timeoutMs?: number): Promise<MemberInfo[]>
export function healthy(endpoints: string | string[]): Promise<boolean>
export function waitHealthy(endpoints: string | string[], timeoutMs?: number): Promise<boolean>
export function snapshotSave(endpoint: string, file: string): Promise<string>
export function snapshotRestore(
  file: string,
  o: {
    name: string
    dataDir: string
    peerUrl: string
    initialCluster?: Peer[]
    clusterToken?: string
    skipHashCheck?: boolean
  }
): Promise<void>
export function getPrefixSync(endpoints: string | string[], prefix: string): Record<string, string>
export function putSync(endpoints: string | string[], key: string, value: string): void
export function delSync(endpoints: string | string[], key: string): void

/** lab/kube data folders holding this file keep their ConfigMaps in etcd. */
export const ETCD_FILE: string
export function attachEtcd(dataDir: string, endpoints: string | string[] | undefined): void
export function etcdConfig(dataDir: string): { endpoints: string[] } | undefined
export function loadFromEtcd<S extends { objects: Record<string, unknown> }>(dataDir: string, state: S): S
export function heldSnapshot(
  dataDir: string,
  state: { objects: Record<string, unknown> }
): Record<string, string> | undefined
export function saveToEtcd<S extends { objects: Record<string, unknown> }>(
  dataDir: string,
  before: Record<string, string> | undefined,
  state: S
): S

// K3s embedded etcd (lab/k3s's stand-in calls these with the node's paths).
export const ETCD_DATA: string
export const SNAPSHOT_DIR: string
export function serveK3sEtcd(o: {
  name: string
  first: boolean
  kubeDir: string
  nodePath(path: string): string
  pidFile?: string
}): Promise<EtcdMember>
export function k3sSnapshotSave(o: {
  name: string
  snapshotName: string
  nodePath(path: string): string
}): Promise<string>
export function k3sClusterReset(o: {
  name: string
  restorePath?: string
  nodePath(path: string): string
}): Promise<void>
export function listSnapshots(nodePath: (path: string) => string): string[]
export function wipeK3sEtcd(nodePath: (path: string) => string): void
