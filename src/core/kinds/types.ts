// One cluster kind (K3s on Armbian, Talos): everything a kind-neutral phase (flash, boot, addons, drift's
// board part, the plan, the redeploy rule, the lifecycle commands) needs to ask instead of testing the kind
// itself. Each kind lives in its own wing (src/core/kinds/<kind>/) and is found through ctx.kind (kindOf for
// code that only holds a Cluster). A third kind is a new wing implementing this interface, not a branch in phases.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import type { ConfigIssue } from '../errors.js'
import type { BackupManifest } from '../lifecycle/backup/manifest.js'
import type { PartInput } from '../lifecycle/backup/bundle.js'
import type { BaseImage } from '../image/base-image.js'
import type { PhaseContext, PhaseModule } from '../phases/types.js'
import type { Membership } from '../redeploy/live-member.js'
import type { PhaseName, RunSettings } from '../settings.js'

/** An image fetched by URL and what in the cluster file may vouch for its bytes. */
export interface UrlImage {
  /** Cluster-file path of the URL (for the issue) and of the field that pins it. */
  path: string
  pinField: string
  url: string
  pin?: string
}

export interface ClusterKind {
  readonly name: Cluster['kind']
  /** What the node's eMMC holds once flashed. */
  readonly os: 'armbian' | 'talos'

  // What an OS image is and how it is resolved.
  image: {
    /** For the observed plan, without downloading anything. */
    describe(cluster: Cluster, schematicId?: string): string
    /** For the static plan (nothing observed). */
    name(cluster: Cluster): string
    /** The run's base image, fetched once per run through deps.downloads (or a local file) and checked. */
    resolve(ctx: PhaseContext): Promise<BaseImage>
    /** Each node gets its own copy with its identity written in (Armbian), or the base image as is (Talos). */
    readonly perNode: boolean
    /** The image downloaded by URL that needs a digest to vouch for it, when there is one. */
    byUrl(cluster: Cluster): UrlImage | undefined
    /** A running node whose image is older than the file's is moved by the upgrade phase, not reflashed (Talos). */
    readonly upgradedInPlace?: boolean
  }

  // How a node is probed and observed.
  probe: {
    /** The port a booted node answers on, and what answers there (for messages). */
    port(cluster: Cluster): number
    readonly service: string
    /** What drift says when nothing answered within its limit. */
    readonly silence: string
    /** What the plan says the boot phase waits for. */
    readonly waitsFor: string
    /** The console line of a finished boot, and how messages name it. */
    readonly bootLine: RegExp
    readonly bootLineName: string
    /** What answers at the node's mapped address; undefined while nothing does. Never throws on refusal. */
    detail(
      deps: Pick<Deps, 'ssh' | 'net' | 'tcp'>,
      cluster: Cluster,
      ip: string,
      timeoutMs?: number
    ): Promise<string | undefined>
    /** Whether the cluster of the file counts the node as a member (the live-member rule's first question). */
    membership(ctx: PhaseContext, node: NodeSpec): Promise<Membership>
  }

  /** The kind's own settings checks that must pass before any side effect (e.g. K3s: rkllama's lock). */
  checkSettings?(
    cluster: Cluster,
    settings: Pick<RunSettings, 'command' | 'phases' | 'workingDirectory'>
  ): ConfigIssue[]

  /** SSH login for the shell toolkit (src/core/remote): K3s nodes use the file's ssh block. */
  sshLogin(cluster: Cluster): { port: number; user: string }

  /** The cluster's kubeconfig for a read-only look (drift, plan), written 0600 under `dir`; undefined when it cannot be had. */
  readOnlyKubeconfig(ctx: PhaseContext, dir: string): Promise<string | undefined>

  // Install and join modules, and the kind's own phases before install (os-bootstrap) and after addons (npu).
  readonly install: PhaseModule
  readonly join: PhaseModule
  /** Phase names of the static plan: the kind's extra phases around the shared ones. */
  extraPhases(cluster: Cluster): { afterBoot: PhaseName[]; afterAddons: PhaseName[] }
  /** The static plan's reason for a kind-specific row (install, join and the extra phases); undefined: none. */
  staticReason(cluster: Cluster, node: NodeSpec, phase: PhaseName): string | undefined

  /** What Longhorn needs on this kind. */
  longhorn: {
    dataPath(cluster: Cluster): string
    /** Pod Security admission enforces baseline, so Longhorn's namespace must be labelled privileged. */
    readonly privilegedNamespace: boolean
    /** iSCSI decided from the image (a refusal, or undefined when present), or 'ask-nodes' when each node must be asked. */
    iscsiFromImage(cluster: Cluster): { refusal?: string } | 'ask-nodes'
    /** When nodes are asked: whether the run's observation of the node saw iSCSI; undefined when it cannot say. */
    iscsiObserved?(ctx: PhaseContext, node: NodeSpec): Promise<boolean | undefined>
  }

  // Hooks the upgrade and lifecycle work implement. Optional: a kind without one says the operation is not
  // supported; the core never guesses a kind's procedure.
  /** Moves a running node to the wanted OS/distribution version in place, keeping its data and membership. */
  upgradeNode?(ctx: PhaseContext, node: NodeSpec): Promise<{ changed: boolean; summary: string }>
  /** Backup, restore, scale down and wipe (src/core/lifecycle asks these; absent: "not supported for <kind>"). */
  lifecycle?: KindLifecycle
}

/** What a kind's backup hands to the kind-neutral bundle: its parts and what the manifest says of them. */
export interface KindBackup {
  /** etcd (K3s HA, Talos) or sqlite (a single K3s server): which datastore the parts hold. */
  datastore: BackupManifest['datastore']
  /** The versions it was taken on: the kind's own (k3s or talos) and kubernetes, for the restore's checks. */
  versions: BackupManifest['versions']
  /** Everything a restore needs, each with its path in the bundle and its PartKind; digests are the caller's. */
  parts: PartInput[]
}

/**
 * A kind's procedures for the lifecycle commands. src/core/lifecycle does everything around them the same
 * way for every kind: confirm, encryption, the manifest and its digests, the artifact, quorum, the BMC
 * power-off and the state. A hook runs only once those guards passed, and reports its own steps through
 * ctx.reporter (masking any secret it reads).
 */
export interface KindLifecycle {
  /**
   * Reads a consistent copy of the cluster's datastore and what a restore needs beside it, as bundle parts:
   * K3s an etcd snapshot or a SQLite copy plus the server token; Talos an etcd snapshot plus the secrets
   * bundle and the machine configs. `name` (`<cluster>-<run>`) may name a snapshot on the node. Leaves the
   * cluster as it was (no temporary file stays on a node).
   */
  backup(ctx: PhaseContext, name: string): Promise<KindBackup>
  /**
   * Why this backup (decrypted, digests checked, same cluster and kind) cannot be restored onto the cluster
   * of the file: a required part missing or empty (K3s token; Talos secrets bundle), a version the file's
   * nodes cannot restore (another minor). One sentence per problem, empty when restore may start. Pure.
   */
  restoreProblems(cluster: Cluster, manifest: BackupManifest, files: ReadonlyMap<string, Buffer>): string[]
  /**
   * Replaces the cluster's datastore with the backup's on the nodes of the file and returns once the cluster
   * is Ready again (K3s: stop the servers, --cluster-reset on the first, the others rejoin; Talos: reset
   * EPHEMERAL on the control planes, `bootstrap --recover-from` on one, the others rejoin). Called only after
   * every check passed; must also work on freshly flashed nodes. Returns the steps done, `<node>: <what>`.
   */
  restore(ctx: PhaseContext, manifest: BackupManifest, files: ReadonlyMap<string, Buffer>): Promise<string[]>
  /**
   * Takes one node the file no longer lists out of the running cluster, before the caller powers it off:
   * drained, removed from etcd if a control plane, its Node deleted (K3s: drain from the first server, stop
   * k3s on it, delete the Node and its node-password secret; Talos: `talosctl reset --graceful`, which
   * leaves etcd, then the Node deleted). `node` is rebuilt from the state's placement and is not in
   * ctx.cluster.nodes; the caller has checked quorum and confirm. An unreachable node is removed anyway.
   */
  removeNode(ctx: PhaseContext, node: NodeSpec): Promise<void>
  /**
   * Wipes one node of the file before destroy powers it off (K3s: the uninstall script; Talos: `talosctl
   * reset`). Returns what was done, for destroy's report (`k3s uninstalled`); throws when it failed, and
   * destroy reports that and powers the node off anyway.
   */
  wipeNode(ctx: PhaseContext, node: NodeSpec): Promise<string>
}
