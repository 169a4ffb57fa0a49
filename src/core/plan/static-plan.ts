// The plan before anything is observed: every phase that applies to the cluster kind, for every
// selected node, with the reason it would run. Phase modules that can observe (flash, k3s, talos,
// addons) replace their rows with observed ones; this is what remains when they cannot (no BMC
// password, nodes unreachable) and what `plan` shows on a fresh checkout.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { PlanStep } from '../phases/types.js'
import type { PhaseName } from '../settings.js'

/** Phases that apply to a cluster, in execution order. */
export function phasesFor(cluster: Cluster): PhaseName[] {
  const phases: PhaseName[] = ['flash', 'boot']
  if (cluster.kind === 'k3s') phases.push('os-bootstrap')
  // Before install: a running node at another version is upgraded by the gated wave, never by install.
  phases.push('upgrade')
  phases.push('install', 'join')
  if (Object.entries(cluster.addons).some(([k, v]) => k !== 'prune' && v === true) || cluster.longhorn)
    phases.push('addons')
  if (cluster.kind === 'k3s' && cluster.npu && (cluster.npu.install_rknn || cluster.npu.install_rkllm || cluster.npu.deploy_rkllama))
    phases.push('npu')
  return phases
}

function imageName(cluster: Cluster): string {
  if (cluster.kind === 'k3s') return cluster.armbian_image.path ?? cluster.armbian_image.url ?? 'the Armbian image'
  if (cluster.image_source === 'factory') return `Talos ${cluster.talos_version} from the Image Factory`
  return cluster.image_path ?? `Talos ${cluster.talos_version}`
}

function wantedAddons(cluster: Cluster): string[] {
  const a = cluster.addons
  const names: string[] = []
  if (a.metallb) names.push('metallb')
  if (a.traefik) names.push('traefik')
  if (a.nginx_ingress) names.push('ingress-nginx')
  if (cluster.longhorn) names.push('longhorn')
  if (a.prometheus) names.push('kube-prometheus-stack')
  if (a.portainer_agent) names.push('portainer-agent')
  return names
}

function nodeRows(cluster: Cluster, node: NodeSpec, phase: PhaseName): PlanStep[] {
  const where = `board ${node.board} slot ${node.slot}`
  const row = (reason: string, details?: Record<string, string>): PlanStep[] => [
    { phase, node: node.id, action: 'run', reason, ...(details ? { details } : {}) }
  ]
  switch (phase) {
    case 'flash':
      return row(`not observed yet: would write ${imageName(cluster)} to ${where}`, { slot: where })
    case 'boot':
      return row(`power on ${where} and wait for ${cluster.kind === 'k3s' ? 'login: and SSH' : 'the Talos API'} at ${node.ip}`)
    case 'os-bootstrap':
      return row(`packages, kernel modules, sysctl, swap off${node.has_nvme ? `, NVMe ${node.nvme_device} on ${node.nvme_mount}` : ''}`)
    case 'install':
      if (cluster.kind === 'k3s')
        return node.role === 'controlplane'
          ? row(`install k3s ${cluster.k3s_version} as server (air-gapped)`)
          : row(`install k3s ${cluster.k3s_version} as agent (air-gapped)`)
      return row(`apply the ${node.role} machine config (install disk ${node.install_disk ?? '/dev/mmcblk0'})`)
    case 'join':
      if (cluster.kind === 'talos')
        return node === cluster.nodes[0] ? row('bootstrap etcd once, then wait for talosctl health') : row('wait until the node is healthy')
      return row(node.role === 'controlplane' ? 'wait until Ready as control plane' : 'join the cluster and wait until Ready')
    case 'npu':
      return row('check the RKNPU driver, install the NPU runtimes' + (cluster.npu?.deploy_rkllama ? ' and rkllama' : ''))
    default:
      return []
  }
}

export function staticPlan(cluster: Cluster, nodes: NodeSpec[], phases: PhaseName[]): PlanStep[] {
  const steps: PlanStep[] = []
  for (const phase of phases) {
    if (phase === 'addons') {
      for (const addon of wantedAddons(cluster))
        steps.push({ phase, action: 'run', reason: `install ${addon} (not observed yet)` })
      continue
    }
    for (const node of nodes) steps.push(...nodeRows(cluster, node, phase))
  }
  return steps
}
