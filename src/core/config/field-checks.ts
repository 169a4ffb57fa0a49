// Every field of the file that leaves the process (into a node's shell, an argv, a path, a URL, a YAML
// or JSON document) checked against the rule of its kind (kinds.ts), at the field's own location. The
// BMC transport rules live here too: https only, and a pinned fingerprint or insecure, never both.
import type { Finding } from './checks.js'
import * as kind from './kinds.js'
import type { Cluster, NodeSpec } from './model.js'
import type { YamlPath } from './positions.js'

type Check = (c: Cluster) => Finding[]

/** A finding when `value` breaks `rule`: quotes the value (JSON-escaped, so a newline shows as \n). */
function field(
  out: Finding[],
  at: YamlPath,
  what: string,
  value: string | undefined,
  rule: kind.Rule,
  code = 'InvalidValue'
): void {
  if (value === undefined) return
  const problem = rule(value)
  if (problem)
    out.push({
      code,
      at,
      message: `${what} ${JSON.stringify(value).slice(0, 200)} is not accepted: expected ${problem}`
    })
}

/** Mount points that would hide or replace the node's own system. */
const SYSTEM_DIRS = new Set([
  '/',
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/lib',
  '/lib64',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/var/lib',
  '/home',
  '/mnt',
  '/opt',
  '/srv',
  '/usr/local',
  '/usr/local/bin',
  '/var/log',
  '/etc/rancher',
  '/var/lib/rancher',
  '/var/lib/rancher/k3s',
  '/var/lib/kubelet',
  '/var/lib/containerd'
])
const notSystemDir: kind.Rule = (v) =>
  SYSTEM_DIRS.has(v.replace(/\/+$/, '') || '/')
    ? 'a directory of its own, not a system directory of the node'
    : undefined
const dataDir: kind.Rule = (v) => kind.nodePath(v) ?? notSystemDir(v)

export const checkBmcTransport: Check = (c) => {
  const out: Finding[] = []
  for (const b of c.boardList) {
    if (!/^https:/i.test(b.bmc.endpoint) && /^[a-z][a-z0-9+.-]*:/i.test(b.bmc.endpoint))
      out.push({
        code: 'BmcNotHttps',
        at: [...b.path, 'endpoint'],
        message: `${JSON.stringify(b.bmc.endpoint)} is not accepted: the BMC login sends the password, so the endpoint must be https://<host> (the BMC serves HTTPS on 443)`
      })
    else field(out, [...b.path, 'endpoint'], 'BMC endpoint', b.bmc.endpoint, kind.httpsBase, 'InvalidEndpoint')
    field(out, [...b.path, 'username'], 'BMC username', b.bmc.username, kind.bmcUser)
    const tls = b.bmc.tls
    if (tls.fingerprint !== undefined && tls.insecure)
      out.push({
        code: 'FingerprintWithInsecure',
        at: [...b.path, 'tls', 'insecure'],
        message: 'tls.insecure: true would skip the pinned tls.fingerprint; keep the fingerprint and remove insecure'
      })
    else if (tls.insecure)
      out.push({
        code: 'BmcInsecure',
        severity: 'warning',
        at: [...b.path, 'tls', 'insecure'],
        message:
          'tls.insecure: true accepts any certificate, so anyone on the path can read the BMC password; pin tls.fingerprint instead'
      })
  }
  return out
}

export const checkBoardNames: Check = (c) => {
  const out: Finding[] = []
  ;(c.boards ?? []).forEach((b, i) => field(out, ['boards', i, 'name'], 'board name', b.name, kind.label))
  return out
}

function nodeFields(c: Cluster, n: NodeSpec): Finding[] {
  const out: Finding[] = []
  const at = (...p: (string | number)[]): YamlPath => [...n.path, ...p]
  field(out, at('nvme_device'), 'nvme_device', n.nvme_device, kind.devicePath)
  if (!kind.devicePath(n.nvme_device) && kind.isBootMedium(n.nvme_device))
    out.push({
      code: 'NvmeIsBootDisk',
      at: at('nvme_device'),
      message: `nvme_device ${n.nvme_device} is the RK1's boot eMMC/SD, not an NVMe drive${n.nvme_format ? '; nvme_format: true would erase the system' : ''}; use /dev/nvme0n1`
    })
  field(out, at('nvme_mount'), 'nvme_mount', n.nvme_mount, dataDir)
  for (const [key, value] of Object.entries(n.labels)) {
    field(out, at('labels', key), 'label key', key, kind.labelKey, 'InvalidLabel')
    field(
      out,
      at('labels', key),
      `label ${JSON.stringify(key).slice(0, 80)} value`,
      value,
      kind.labelValue,
      'InvalidLabel'
    )
  }
  if (c.kind === 'talos') {
    field(out, at('install_disk'), 'install_disk', n.install_disk, kind.devicePath)
    ;(n.patches ?? []).forEach((p, i) => field(out, at('patches', i), 'patch file', p, kind.runnerPath))
  }
  return out
}

export const checkNodeFields: Check = (c) => c.nodes.flatMap((n) => nodeFields(c, n))

export const checkHasControlPlane: Check = (c) =>
  c.nodes.some((n) => n.role === 'controlplane')
    ? []
    : [
        {
          code: 'NoControlPlane',
          at: ['control_plane'],
          message: 'control_plane lists no node: a cluster needs one (or three for HA)'
        }
      ]

export const checkClusterFields: Check = (c) => {
  const out: Finding[] = []
  if (c.endpoint !== undefined) field(out, ['endpoint'], 'endpoint', c.endpoint, kind.httpsBase, 'InvalidEndpoint')
  field(out, ['longhorn_path'], 'longhorn_path', c.longhorn_path, dataDir)
  for (const [addon, path] of Object.entries(c.addons.values))
    field(out, ['addons', 'values', addon], `values file of ${addon}`, path, kind.runnerPath)
  for (const k of ['flash_timeout', 'boot_timeout', 'cluster_timeout', 'bootstrap_timeout', 'drain_timeout'] as const)
    if (c[k] > 86_400)
      out.push({
        code: 'InvalidTimeout',
        at: [k],
        message: `${k} ${c[k]} is more than a day (86400 s); give a number of seconds`
      })
  if (c.kind === 'k3s') {
    field(out, ['ssh', 'user'], 'ssh.user', c.ssh.user, kind.userName)
    const p = kind.port(c.ssh.port)
    if (p)
      out.push({
        code: 'InvalidPort',
        at: ['ssh', 'port'],
        message: `ssh.port ${c.ssh.port} is not accepted: expected ${p}`
      })
    const img = c.armbian_image
    field(out, ['armbian_image', 'url'], 'armbian_image.url', img.url, kind.downloadUrl, 'InvalidUrl')
    if (img.path !== undefined) {
      const isUrl = /^[A-Za-z][A-Za-z0-9+.-]*:/.test(img.path)
      if (isUrl && img.source !== 'local')
        field(out, ['armbian_image', 'path'], 'armbian_image.path', img.path, kind.downloadUrl, 'InvalidUrl')
      else field(out, ['armbian_image', 'path'], 'armbian_image.path', img.path, kind.runnerPath)
    }
    for (const [at, value] of [
      [['rknn_version'], c.rknn_version],
      [['npu_config', 'rknn_version'], c.npu_config?.rknn_version],
      [['npu_config', 'rkllm_version'], c.npu_config?.rkllm_version]
    ] as const)
      field(out, [...at], at.join('.'), value, kind.version, 'InvalidVersion')
    field(out, ['npu_config', 'model'], 'npu_config.model', c.npu_config?.model, kind.modelName)
    field(
      out,
      ['npu_config', 'rkllama_requirements_lock'],
      'npu_config.rkllama_requirements_lock',
      c.npu_config?.rkllama_requirements_lock,
      kind.runnerPath
    )
    field(
      out,
      ['npu_config', 'model_quantization'],
      'npu_config.model_quantization',
      c.npu_config?.model_quantization,
      kind.quantization
    )
  } else {
    const f = c.image_factory
    field(out, ['image_factory', 'overlay'], 'image_factory.overlay', f.overlay, kind.imageName)
    field(out, ['image_factory', 'overlay_board'], 'image_factory.overlay_board', f.overlay_board, kind.overlayBoard)
    f.extensions.forEach((e, i) => field(out, ['image_factory', 'extensions', i], 'extension', e, kind.imageName))
    if (c.image_path !== undefined)
      field(
        out,
        ['image_path'],
        'image_path',
        c.image_path,
        c.image_source === 'url' ? kind.downloadUrl : kind.runnerPath,
        c.image_source === 'url' ? 'InvalidUrl' : 'InvalidValue'
      )
    for (const role of ['all', 'controlplane', 'worker'] as const)
      c.patches[role].forEach((p, i) => field(out, ['patches', role, i], 'patch file', p, kind.runnerPath))
  }
  return out
}

/** `digests:` pins: an upstream https URL (never a mirror's http one) to 64 hex digits. */
export const checkDigestPins: Check = (c) => {
  const out: Finding[] = []
  for (const [url, sha] of Object.entries(c.digests ?? {})) {
    field(
      out,
      ['digests', url],
      'digests key',
      url,
      (v) => (/^https:/i.test(v) ? kind.downloadUrl(v) : 'the upstream https URL of the download'),
      'InvalidUrl'
    )
    field(out, ['digests', url], `digests[${JSON.stringify(url).slice(0, 120)}]`, sha, kind.sha256, 'InvalidSha256')
  }
  return out
}

export const FIELD_CHECKS: Check[] = [
  checkBmcTransport,
  checkBoardNames,
  checkNodeFields,
  checkClusterFields,
  checkHasControlPlane,
  checkDigestPins
]
