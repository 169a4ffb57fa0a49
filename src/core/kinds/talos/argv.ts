// Every talosctl command line the action runs, as pure functions (tests assert exact argv; the list is
// documented in lab/talos/README.md and checked against the v1.9 CLI reference). Secrets never appear
// here: they are files (0600) named by path. Nodes and endpoints are always explicit, so no talosconfig
// context or TALOSCONFIG environment decides where a command goes.

export type ApplyMode = 'auto' | 'no-reboot' | 'reboot' | 'staged' | 'try'

const target = (ip: string, talosconfig?: string): string[] => [
  ...(talosconfig ? ['--talosconfig', talosconfig] : []),
  '--nodes',
  ip,
  '--endpoints',
  ip
]

export const genSecretsArgv = (out: string): string[] => ['gen', 'secrets', '--output-file', out]

export interface GenConfigInput {
  clusterName: string
  endpoint: string
  secretsPath: string
  role: 'controlplane' | 'worker'
  out: string
  installDisk: string
  installImage: string
  talosVersion: string
  /** kubernetes_version of the file; talosctl's own default when absent. */
  kubernetesVersion?: string
  /** Patch files, applied in this order. */
  patches: string[]
}

/** One node's machine config: one output type, every patch in order as --config-patch (later wins). */
export function genConfigArgv(i: GenConfigInput): string[] {
  return [
    'gen',
    'config',
    i.clusterName,
    i.endpoint,
    '--with-secrets',
    i.secretsPath,
    '--output-types',
    i.role,
    '--output',
    i.out,
    '--force',
    '--with-docs=false',
    '--with-examples=false',
    '--install-disk',
    i.installDisk,
    '--install-image',
    i.installImage,
    '--talos-version',
    majorMinor(i.talosVersion),
    ...(i.kubernetesVersion ? ['--kubernetes-version', i.kubernetesVersion] : []),
    ...i.patches.flatMap((p) => ['--config-patch', `@${p}`])
  ]
}

export function genTalosconfigArgv(i: {
  clusterName: string
  endpoint: string
  secretsPath: string
  out: string
  talosVersion: string
}): string[] {
  return [
    'gen',
    'config',
    i.clusterName,
    i.endpoint,
    '--with-secrets',
    i.secretsPath,
    '--output-types',
    'talosconfig',
    '--output',
    i.out,
    '--force',
    '--talos-version',
    majorMinor(i.talosVersion)
  ]
}

export const validateArgv = (config: string): string[] => ['validate', '--mode', 'metal', '--config', config]

/** Answers only in maintenance mode (the insecure service); a configured node refuses it. */
export const getDisksInsecureArgv = (ip: string): string[] => ['get', 'disks', '--insecure', ...target(ip)]

export const machineStatusArgv = (ip: string, talosconfig: string): string[] => [
  'get',
  'machinestatus',
  '--output',
  'json',
  ...target(ip, talosconfig)
]

export interface ApplyInput {
  ip: string
  file: string
  mode: ApplyMode
  dryRun?: boolean
  /** Maintenance mode: no talosconfig, --insecure. */
  insecure?: boolean
  talosconfig?: string
}

export function applyArgv(i: ApplyInput): string[] {
  return [
    'apply-config',
    ...(i.insecure ? ['--insecure', '--nodes', i.ip, '--endpoints', i.ip] : target(i.ip, i.talosconfig)),
    '--file',
    i.file,
    '--mode',
    i.mode,
    ...(i.dryRun ? ['--dry-run'] : [])
  ]
}

/**
 * Several nodes in one call: apid on an endpoint fans it out. Every node is an endpoint too, so the call
 * goes through while any of them answers.
 */
const targets = (ips: string[], talosconfig: string): string[] => [
  '--talosconfig',
  talosconfig,
  '--nodes',
  ips.join(','),
  '--endpoints',
  ips.join(',')
]

/** Each node's applied machine config (one YAML document per node, its `node:` first). */
export const machineConfigsArgv = (ips: string[], talosconfig: string): string[] => [
  'get',
  'machineconfig',
  '--output',
  'yaml',
  ...targets(ips, talosconfig)
]

/** `talosctl version` against several nodes: one Server block per node that answered. */
export const serverVersionsArgv = (ips: string[], talosconfig: string): string[] => [
  'version',
  ...targets(ips, talosconfig)
]

/** `talosctl version` against one node: the client block, then the node's Server block with its Tag. */
export const serverVersionArgv = (ip: string, talosconfig: string): string[] => ['version', ...target(ip, talosconfig)]

/** `talosctl get extensions` against one node: ExtensionStatus rows, NAME and VERSION last. */
export const extensionsArgv = (ip: string, talosconfig: string): string[] => [
  'get',
  'extensions',
  ...target(ip, talosconfig)
]

export const bootstrapArgv = (ip: string, talosconfig: string): string[] => ['bootstrap', ...target(ip, talosconfig)]

export function healthArgv(i: {
  talosconfig: string
  ip: string
  controlPlanes: string[]
  workers: string[]
  timeoutSeconds: number
}): string[] {
  return [
    'health',
    ...target(i.ip, i.talosconfig),
    '--control-plane-nodes',
    i.controlPlanes.join(','),
    ...(i.workers.length > 0 ? ['--worker-nodes', i.workers.join(',')] : []),
    '--wait-timeout',
    `${i.timeoutSeconds}s`
  ]
}

export const kubeconfigArgv = (ip: string, talosconfig: string, out: string): string[] => [
  'kubeconfig',
  out,
  '--force',
  '--merge=false',
  ...target(ip, talosconfig)
]

function majorMinor(version: string): string {
  const m = /^v?(\d+)\.(\d+)/.exec(version)
  if (!m) throw new Error(`talos_version "${version}" is not of the form v1.9.0`)
  return `v${m[1]}.${m[2]}`
}
