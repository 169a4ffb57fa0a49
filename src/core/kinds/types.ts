// One cluster kind (K3s on Armbian, Talos): everything a kind-neutral phase (flash, boot, addons, drift's
// board part, the plan, the redeploy rule) needs to ask instead of testing the kind itself. Each kind
// lives in its own wing (src/core/kinds/<kind>/) and is found through ctx.kind (kindOf for code that
// only holds a Cluster). A third kind is a new wing implementing this interface, not a branch in phases.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import type { BaseImage } from '../image/base-image.js'
import type { PhaseContext, PhaseModule } from '../phases/types.js'
import type { Membership } from '../redeploy/live-member.js'
import type { PhaseName } from '../settings.js'

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

  // Hooks the upgrade, backup and restore work will implement. Optional: a kind without one says the
  // operation is not supported; the core never guesses a kind's procedure.
  /** Moves a running node to the wanted OS/distribution version in place, keeping its data and membership. */
  upgradeNode?(ctx: PhaseContext, node: NodeSpec): Promise<{ changed: boolean; summary: string }>
  /** Takes a consistent snapshot of the cluster's datastore (etcd) into `dir`; returns the file written. */
  backup?(ctx: PhaseContext, dir: string): Promise<string>
  /** Restores the datastore from a snapshot taken by backup, on the control planes of the file. */
  restore?(ctx: PhaseContext, snapshot: string): Promise<void>
}
