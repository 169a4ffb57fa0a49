// The one model of the cluster file. The TypeScript types, the defaults and the JSON Schema in
// schema/cluster.schema.json are all derived from these zod schemas (scripts/gen-schema.ts), so a field
// is added here and nowhere else. Field names and defaults follow the original Terraform plan
// (shared/design/original-plan.md); what the plan left implicit (BMC, SSH, boards, network, patches) is
// added with the same snake_case style.
import { z } from 'zod'

/** Pinned defaults. Bump them here; the schema, the README and the examples follow. */
export const DEFAULTS = {
  k3sVersion: 'v1.31.3+k3s1',
  talosVersion: 'v1.9.0',
  rknnVersion: '2.3.2',
  rkllmVersion: '1.2.3',
  bmcEndpoint: 'https://turingpi.local',
  factoryOverlay: 'siderolabs/sbc-rockchip',
  factoryOverlayBoard: 'turingrk1'
} as const

export const tlsSchema = z
  .strictObject({
    fingerprint: z
      .string()
      .optional()
      .describe(
        'SHA-256 fingerprint of the BMC certificate (hex, colons optional). The BMC certificate is self-signed and often expired, so it is pinned rather than verified against a CA.'
      ),
    insecure: z
      .boolean()
      .default(false)
      .describe('Skip certificate verification entirely. Only when no fingerprint can be pinned.')
  })
  .describe('How the BMC certificate is trusted: a pinned fingerprint, or insecure: true.')

export const bmcSchema = z
  .strictObject({
    endpoint: z.string().default(DEFAULTS.bmcEndpoint).describe('BMC base URL, e.g. https://10.10.88.70'),
    username: z
      .string()
      .default('root')
      .describe('BMC user. The password comes from the bmc-password input, never from this file.'),
    tls: tlsSchema.default({ insecure: false })
  })
  .describe('The Turing Pi BMC that flashes and powers the nodes.')

export const boardSchema = z.strictObject({
  name: z.string().describe('Board name that nodes refer to with `board:`.'),
  bmc: bmcSchema
})

const nodeCommon = {
  node: z.number().int().describe('Slot on the board, 1 to 4.'),
  board: z.string().optional().describe('Board name from `boards`; not needed with a single board.'),
  ip: z.string().describe('Static IPv4 address of the node.'),
  hostname: z.string().describe('Hostname (RFC 1123 label), unique in the cluster.'),
  nvme_device: z.string().default('/dev/nvme0n1').describe('NVMe block device.'),
  nvme_mount: z.string().default('/var/lib/longhorn').describe('Where the NVMe filesystem is mounted (Longhorn data).'),
  labels: z.record(z.string(), z.string()).default({}).describe('Extra Kubernetes node labels.')
}

export const k3sNodeSchema = z.strictObject({
  ...nodeCommon,
  has_nvme: z.boolean().default(false).describe('The node has an NVMe drive to format (if blank) and mount.'),
  nvme_format: z
    .boolean()
    .default(false)
    .describe('Allow formatting an NVMe device that already holds data. Never needed for a blank drive.')
})

export const talosNodeSchema = z.strictObject({
  ...nodeCommon,
  has_nvme: z.boolean().default(false).describe('The node has an NVMe drive used as a Longhorn user volume.'),
  install_disk: z.string().default('/dev/mmcblk0').describe('Disk Talos installs to (the RK1 eMMC by default).'),
  patches: z
    .array(z.string())
    .default([])
    .describe('Machine config patch files for this node (strategic merge or JSON 6902).')
})

const addonsSchema = z
  .strictObject({
    metallb: z.boolean().default(false),
    nginx_ingress: z
      .boolean()
      .default(false)
      .describe('ingress-nginx (retired upstream in March 2026; prefer traefik).'),
    traefik: z.boolean().default(false).describe('Traefik ingress controller (recommended).'),
    longhorn: z.boolean().optional().describe('Defaults to longhorn_enabled.'),
    prometheus: z.boolean().default(false).describe('kube-prometheus-stack.'),
    portainer_agent: z.boolean().default(false),
    prune: z.boolean().default(false).describe('Uninstall addons that are installed but disabled here.'),
    values: z
      .record(z.string(), z.string())
      .default({})
      .describe('Per-addon Helm values file in the repo, e.g. {metallb: deploy/metallb-values.yaml}.')
  })
  .describe('Cluster addons installed with Helm.')

const networkSchema = z
  .strictObject({
    prefix: z.number().int().default(24).describe('Prefix length of the node network.'),
    gateway: z.string().optional().describe('Default gateway; the first address of the node network when omitted.'),
    dns: z.array(z.string()).default([]).describe('DNS servers; the gateway when empty.')
  })
  .describe('Node network settings shared by all nodes.')

const common = {
  name: z.string().describe('Cluster name (RFC 1123 label); used in artifact names and locks.'),
  bmc: bmcSchema.optional(),
  boards: z.array(boardSchema).optional().describe('Several Turing Pi boards; each node names its board.'),
  network: networkSchema.default({ prefix: 24, dns: [] }),
  endpoint: z
    .string()
    .optional()
    .describe('Kubernetes API endpoint (https://host:6443); the first control plane when omitted.'),
  pod_cidr: z.string().default('10.244.0.0/16'),
  service_cidr: z.string().default('10.96.0.0/12'),
  metallb_ip_range: z.string().optional().describe('MetalLB pool, "first-last", e.g. 10.10.88.80-10.10.88.89.'),
  ingress_ip: z.string().optional().describe('LoadBalancer IP of the ingress controller, inside metallb_ip_range.'),
  longhorn_enabled: z.boolean().default(false),
  longhorn_replicas: z.number().int().default(2),
  longhorn_path: z.string().default('/var/lib/longhorn'),
  addons: addonsSchema.default({
    metallb: false,
    nginx_ingress: false,
    traefik: false,
    prometheus: false,
    portainer_agent: false,
    prune: false,
    values: {}
  }),
  flash_timeout: z.number().int().default(1200).describe('Seconds per node for a flash.'),
  boot_timeout: z.number().int().default(300).describe('Seconds from power-on to a booted node.'),
  cluster_timeout: z.number().int().default(600).describe('Seconds for the cluster to become ready.'),
  bootstrap_timeout: z.number().int().default(600).describe('Seconds for bootstrap and health (Talos).'),
  digests: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      'SHA-256 of downloads the built-in digest catalog does not pin, by upstream https URL (e.g. the k3s install.sh of a newer version).'
    ),
  allow_downgrade: z
    .boolean()
    .default(false)
    .describe(
      'Allow a deploy to move k3s_version, talos_version or kubernetes_version to an older release (refused otherwise).'
    ),
  drain_timeout: z
    .number()
    .int()
    .default(300)
    .describe('Seconds a drain may take during an upgrade before the wave stops and names what blocks it.')
}

export const npuSchema = z
  .strictObject({
    install_rknn: z.boolean().default(false).describe('Install the RKNN runtime (librknnrt.so).'),
    rknn_version: z.string().default(DEFAULTS.rknnVersion),
    install_rkllm: z.boolean().default(false).describe('Install the RKLLM runtime (librkllmrt.so).'),
    rkllm_version: z.string().default(DEFAULTS.rkllmVersion),
    deploy_rkllama: z.boolean().default(false).describe('Run rkllama (LLM API on the NPU) as a systemd service.'),
    model: z.string().optional().describe('Model to pre-download for rkllama, e.g. deepseek.'),
    model_quantization: z.string().default('w8a8'),
    rkllama_requirements_lock: z
      .string()
      .optional()
      .describe(
        "Hashed lock of rkllama's Python dependencies (a requirements file, every package pinned with == and --hash=sha256:, e.g. from pip-compile --generate-hashes), relative to working-directory. Installed on the node with pip --require-hashes; required with deploy_rkllama while no lock is committed for the pinned rkllama."
      )
  })
  .describe('Rockchip NPU stack (K3s on Armbian only: needs the vendor kernel).')

export const armbianImageSchema = z
  .strictObject({
    path: z.string().optional().describe('Local path of the image (.img or .img.xz).'),
    url: z.string().optional().describe('URL of the image.'),
    source: z.enum(['local', 'url', 'r2']).default('local'),
    sha256: z.string().optional().describe('Pinned SHA-256 of the image file as downloaded.')
  })
  .describe('Armbian image for the RK1.')

export const k3sClusterSchema = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal('k3s'),
  ...common,
  ssh: z
    .strictObject({
      user: z.string().default('root'),
      port: z.number().int().default(22)
    })
    .default({ user: 'root', port: 22 }),
  armbian_image: armbianImageSchema,
  control_plane: z.union([k3sNodeSchema, z.array(k3sNodeSchema)]).describe('Server node(s); three for HA.'),
  workers: z.array(k3sNodeSchema).default([]),
  k3s_version: z.string().default(DEFAULTS.k3sVersion),
  cluster_dns: z.string().default('10.96.0.10'),
  flannel_backend: z.enum(['vxlan', 'host-gw', 'wireguard-native', 'none']).default('vxlan'),
  // The plan's top-level NPU shorthands; merged into npu_config.
  install_rknn: z.boolean().optional(),
  rknn_version: z.string().optional(),
  deploy_rkllama: z.boolean().optional(),
  npu_config: npuSchema.optional()
})

export const talosClusterSchema = z.strictObject({
  $schema: z.string().optional(),
  kind: z.literal('talos'),
  ...common,
  talos_version: z.string().default(DEFAULTS.talosVersion),
  kubernetes_version: z
    .string()
    .optional()
    .describe(
      'Kubernetes version of a Talos cluster (e.g. v1.32.3); plan shows the talosctl upgrade-k8s path to it, checked against what talos_version supports. Unset: what Talos installed.'
    ),
  image_source: z.enum(['factory', 'local', 'url']).default('factory'),
  image_factory: z
    .strictObject({
      overlay: z.string().default(DEFAULTS.factoryOverlay),
      overlay_board: z.string().default(DEFAULTS.factoryOverlayBoard),
      extensions: z.array(z.string()).default([])
    })
    .default({ overlay: DEFAULTS.factoryOverlay, overlay_board: DEFAULTS.factoryOverlayBoard, extensions: [] }),
  image_path: z.string().optional().describe('Local metal-arm64 raw image (image_source: local) or URL (url).'),
  image_sha256: z.string().optional(),
  allow_scheduling_on_controlplane: z.boolean().default(true),
  patches: z
    .strictObject({
      all: z.array(z.string()).default([]),
      controlplane: z.array(z.string()).default([]),
      worker: z.array(z.string()).default([])
    })
    .default({ all: [], controlplane: [], worker: [] })
    .describe('Machine config patch files applied to every node, then per role, then per node.'),
  control_plane: z.union([talosNodeSchema, z.array(talosNodeSchema)]).describe('Control plane node(s); three for HA.'),
  workers: z.array(talosNodeSchema).default([])
})

export const clusterSchema = z.discriminatedUnion('kind', [k3sClusterSchema, talosClusterSchema])

export type K3sClusterFile = z.output<typeof k3sClusterSchema>
export type TalosClusterFile = z.output<typeof talosClusterSchema>
export type ClusterFile = z.output<typeof clusterSchema>
export type BmcSettings = z.output<typeof bmcSchema>
export type NpuConfig = z.output<typeof npuSchema>
export type K3sNodeFile = z.output<typeof k3sNodeSchema>
export type TalosNodeFile = z.output<typeof talosNodeSchema>

export type Role = 'controlplane' | 'worker'

/** A node after normalisation: control_plane and workers flattened, board resolved. */
export interface NodeSpec {
  /** Stable id used in state, logs and `nodes` input: the hostname. */
  id: string
  role: Role
  board: string
  slot: 1 | 2 | 3 | 4
  ip: string
  hostname: string
  has_nvme: boolean
  nvme_device: string
  nvme_mount: string
  labels: Record<string, string>
  /** K3s only. */
  nvme_format?: boolean
  /** Talos only. */
  install_disk?: string
  patches?: string[]
  /** YAML path of this node in the file, for messages: ['workers', 1]. */
  path: (string | number)[]
}

export interface BoardSpec {
  name: string
  bmc: BmcSettings
  /** YAML path of the board's bmc block. */
  path: (string | number)[]
}

/** The cluster as the core uses it: the file plus the flattened nodes and boards. */
export type Cluster = ClusterFile & {
  nodes: NodeSpec[]
  boardList: BoardSpec[]
  /** Resolved NPU settings (K3s); undefined on Talos. */
  npu?: NpuConfig
  /** Whether Longhorn is wanted (longhorn_enabled or addons.longhorn). */
  longhorn: boolean
  /** Kubernetes API endpoint URL. */
  apiEndpoint: string
}
