// Types of the lab Talos library (plain JavaScript so the talosctl stand-in runs without a TS loader).

export interface MachineConfigParts {
  /** The v1alpha1 document. */
  main: Record<string, any> | undefined
  /** Typed documents (apiVersion + kind), in order. */
  typed: Record<string, any>[]
}

export interface TalosNodeApiOptions {
  host: string
  port?: number
  /** The node's own folder (wiped on reflash); state lives in <stateDir>/talos. */
  stateDir: string
  version: string
  /** Image Factory schematic id of the disk (lab-talos.json); an upgrade replaces it and the version. */
  schematicId?: string
  /** The node's LAN address now (registry key for health). */
  lanIp(): string
  /** One console line, without timestamp or line ending. */
  uart(line: string): void
  /** Called (after answering) when an apply installs or needs a reboot. */
  onReboot(reason: 'install' | 'config' | 'upgrade' | 'reset'): void
  onBootstrap?(api: TalosNodeApi): void | Promise<void>
  /** A live change of what the node runs (upgrade-k8s moved its kubelet). */
  onChange?(api: TalosNodeApi): void
  /** Kubeconfig text for this cluster, or undefined for the node's own (cluster CA, endpoint URL). */
  kubeconfig?(api: TalosNodeApi): string | undefined
}

export declare class TalosNodeApi {
  constructor(options: TalosNodeApiOptions)
  readonly configured: boolean
  /** The v1alpha1 document of the running config. */
  readonly main: Record<string, any> | undefined
  readonly version: string
  readonly schematicId: string | undefined
  readonly role: string | undefined
  readonly clusterId: string | undefined
  readonly hostname: string
  readonly staticIp: string | undefined
  stage: 'booting' | 'running' | 'maintenance'
  state: {
    config?: string
    staged?: string
    etcd: boolean
    applies: number
    upgraded?: { version: string; schematicId: string }
  }
  hasEtcd(): boolean
  /** The boot's etcd start or join (etcd-ops.mjs), settled when the member runs or failed. */
  etcdBoot?: Promise<void>
  notReady(): boolean
  start(): Promise<void>
  stop(): Promise<void>
}

export declare const HEALTH_CHECKS: string[]
/** Running members of a lab cluster (by cluster.id), keyed by LAN address. */
export declare function clusterMembers(id: string): Map<string, TalosNodeApi>
export declare function applyPatch(config: MachineConfigParts, patchText: string): MachineConfigParts
export declare function applyJsonPatch<T>(doc: T, ops: { op: string; path: string; value?: unknown }[]): T
export declare function merge(path: string, base: unknown, patch: unknown): unknown
export declare function parseDocs(text: string): unknown[]
export declare function splitConfig(text: string): MachineConfigParts
export declare function joinConfig(main: MachineConfigParts['main'], typed: MachineConfigParts['typed']): string
export declare function validateConfig(text: string, mode: string): string[]
export declare function lineDiff(oldText: string, newText: string): string
export declare function needsReboot(oldText: string, newText: string): boolean
export declare function canonical(text: string): string
export declare function mapAddress(
  ip: string,
  port: number,
  env?: Record<string, string | undefined>
): { host: string; port: number } | undefined
export declare function newSecretsBundle(): Record<string, any>
export declare function caFingerprint(crt: string): string
export declare function machineConfig(options: {
  role: 'controlplane' | 'worker'
  clusterName: string
  endpoint: string
  secrets: Record<string, any>
  installDisk?: string
  installImage?: string
  talosVersion?: string
  kubernetesVersion?: string
}): Record<string, any>
export declare function talosconfig(clusterName: string, secrets: Record<string, any>): Record<string, any>
export declare function kubernetesVersion(talosVersion: string, override?: string): string
export declare function parseArgs(argv: string[]): { flags: Record<string, any>; positional: string[] }

export interface TalosctlResult {
  code: number
  stdout: string
  stderr: string
}
/** One talosctl command line, in this process (what talosctl.mjs and the lab server run). */
export declare function runTalosctl(
  argv: string[],
  options?: { env?: Record<string, string | undefined>; cwd?: string; signal?: AbortSignal }
): Promise<TalosctlResult>
/** A complete request of the lab talosctl server's wire format, or undefined while fields are missing. */
export declare function parseRequest(
  buffer: Buffer
): { cwd: string; env: Record<string, string>; argv: string[] } | undefined
/** The lab talosctl server (serve.mjs): `address` is host:port, what TPI_LAB_TALOSCTL names. */
export declare function startTalosctlServer(options?: {
  host?: string
  run?: typeof runTalosctl
}): Promise<{ address: string; stop(): Promise<void> }>
