// The talosctl command lines of the lifecycle commands, as pure functions (tests assert exact argv). Flags
// from the Talos CLI reference (v1.9): `etcd snapshot <path>`, `service <id>`, `reset --graceful
// --reboot --system-labels-to-wipe --wait`, `bootstrap --recover-from`. Nodes and endpoints are always the
// one node meant, as in ../argv.ts, so no talosconfig context decides where a reset goes.

const target = (ip: string, talosconfig: string): string[] => [
  '--talosconfig',
  talosconfig,
  '--nodes',
  ip,
  '--endpoints',
  ip
]

/** A consistent snapshot from one control plane's etcd, streamed to `out` on the runner. */
export const etcdSnapshotArgv = (ip: string, talosconfig: string, out: string): string[] => [
  'etcd',
  'snapshot',
  out,
  ...target(ip, talosconfig)
]

/** The etcd service of one node: STATE Preparing while it waits for a bootstrap or a join. */
export const etcdServiceArgv = (ip: string, talosconfig: string): string[] => [
  'service',
  'etcd',
  ...target(ip, talosconfig)
]

export interface ResetInput {
  ip: string
  talosconfig: string
  /** Cordon, drain and leave etcd first (a scale down); false for a restore or a destroy. */
  graceful: boolean
  /** Boot again afterwards (restore); false shuts the node down (scale down, destroy). */
  reboot: boolean
  /** Only these system partitions (EPHEMERAL for a restore); none: every partition. */
  labels?: string[]
}

/**
 * `talosctl reset`, answered at once (--wait=false): the caller then waits for what it needs (etcd
 * Preparing, or the node's API gone) with its own bounded poll.
 */
export function resetArgv(i: ResetInput): string[] {
  return [
    'reset',
    ...target(i.ip, i.talosconfig),
    `--graceful=${i.graceful}`,
    ...(i.reboot ? ['--reboot'] : []),
    ...(i.labels ?? []).flatMap((l) => ['--system-labels-to-wipe', l]),
    '--wait=false'
  ]
}

/** Bootstraps etcd on one control plane from a snapshot taken by `etcd snapshot` (its hash is checked). */
export const recoverArgv = (ip: string, talosconfig: string, snapshot: string): string[] => [
  'bootstrap',
  ...target(ip, talosconfig),
  `--recover-from=${snapshot}`
]
