// From the parsed file to the Cluster the core uses: nodes flattened (control plane first), boards
// resolved, NPU shorthands merged, derived values filled in. Conflicts found on the way are issues.
import type { ConfigIssue } from '../errors.js'
import type { BoardSpec, Cluster, ClusterFile, NodeSpec, NpuConfig } from './model.js'
import { DEFAULTS } from './model.js'
import { pathText, type YamlPath } from './positions.js'

export const DEFAULT_BOARD = 'default'

type Issue = Omit<ConfigIssue, 'where' | 'severity'> & { severity?: ConfigIssue['severity']; at: YamlPath }

function boards(file: ClusterFile): BoardSpec[] {
  if (file.boards?.length) return file.boards.map((b, i) => ({ name: b.name, bmc: b.bmc, path: ['boards', i, 'bmc'] }))
  const bmc = file.bmc ?? { endpoint: DEFAULTS.bmcEndpoint, username: 'root', tls: { insecure: false } }
  return [{ name: DEFAULT_BOARD, bmc, path: ['bmc'] }]
}

function npu(file: ClusterFile, issues: Issue[]): NpuConfig | undefined {
  if (file.kind !== 'k3s') return undefined
  const base: NpuConfig = file.npu_config ?? {
    install_rknn: false,
    rknn_version: DEFAULTS.rknnVersion,
    install_rkllm: false,
    rkllm_version: DEFAULTS.rkllmVersion,
    deploy_rkllama: false,
    model_quantization: 'w8a8'
  }
  const merged = { ...base }
  for (const key of ['install_rknn', 'rknn_version', 'deploy_rkllama'] as const) {
    const top = file[key]
    if (top === undefined) continue
    if (file.npu_config && file.npu_config[key] !== top)
      issues.push({
        code: 'NpuConflict',
        path: key,
        at: [key],
        message: `${key} is also set in npu_config with another value; set it in one place (npu_config)`
      })
    ;(merged as Record<string, unknown>)[key] = top
  }
  return merged
}

export function normalize(file: ClusterFile): { cluster: Cluster; issues: Issue[] } {
  const issues: Issue[] = []
  const boardList = boards(file)
  const single = boardList.length === 1
  const nodes: NodeSpec[] = []
  const cps = Array.isArray(file.control_plane) ? file.control_plane : [file.control_plane]
  const cpPath = (i: number): YamlPath => (Array.isArray(file.control_plane) ? ['control_plane', i] : ['control_plane'])
  const add = (
    n: (typeof cps)[number] | (typeof file.workers)[number],
    role: NodeSpec['role'],
    path: YamlPath
  ): void => {
    const board = n.board ?? (single ? boardList[0].name : '')
    const spec: NodeSpec = {
      id: n.hostname,
      role,
      board,
      slot: n.node as NodeSpec['slot'],
      ip: n.ip,
      hostname: n.hostname,
      has_nvme: n.has_nvme,
      nvme_device: n.nvme_device,
      nvme_mount: n.nvme_mount,
      labels: n.labels,
      path
    }
    if ('nvme_format' in n) spec.nvme_format = n.nvme_format
    if ('install_disk' in n) {
      spec.install_disk = n.install_disk
      spec.patches = n.patches
    }
    nodes.push(spec)
  }
  cps.forEach((n, i) => add(n, 'controlplane', cpPath(i)))
  file.workers.forEach((n, i) => add(n, 'worker', ['workers', i]))

  const addonLonghorn = file.addons.longhorn
  if (addonLonghorn !== undefined && file.longhorn_enabled && addonLonghorn !== file.longhorn_enabled)
    issues.push({
      code: 'LonghornConflict',
      path: 'addons.longhorn',
      at: ['addons', 'longhorn'],
      message: 'addons.longhorn is false but longhorn_enabled is true; set one of them'
    })
  const longhorn = addonLonghorn ?? file.longhorn_enabled
  const first = nodes.find((n) => n.role === 'controlplane')
  const apiEndpoint = file.endpoint ?? `https://${first?.ip ?? '127.0.0.1'}:6443`
  const cluster = { ...file, nodes, boardList, npu: npu(file, issues), longhorn, apiEndpoint } as Cluster
  return { cluster, issues }
}

export { pathText }
