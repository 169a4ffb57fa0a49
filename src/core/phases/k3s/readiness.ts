// Is the cluster ready? Read from `k3s kubectl get nodes/pods -o json` on the first server: every node
// registered, Ready=True, with the roles its place in the cluster file implies, and the kube-system
// core pods running. Pure assessment; the polling lives in wait.ts.
import type { Cluster, NodeSpec } from '../../config/model.js'
import type { NodeStatus } from '../types.js'
import { topology } from './config.js'

export const CORE_PODS = ['coredns', 'local-path-provisioner', 'metrics-server'] as const
const CP = 'node-role.kubernetes.io/control-plane'
const ETCD = 'node-role.kubernetes.io/etcd'

interface KubeCondition {
  type: string
  status: string
  reason?: string
  message?: string
}
interface KubeNode {
  metadata: { name: string; labels?: Record<string, string> }
  status?: { conditions?: KubeCondition[]; nodeInfo?: { kubeletVersion?: string } }
}
interface KubePod {
  metadata: { name: string }
  status?: { phase?: string }
}

export interface Assessment {
  ready: boolean
  /** One line per node or pod that is not as wanted, naming it and why. */
  problems: string[]
  status: Record<string, NodeStatus>
}

function expectedRoles(cluster: Cluster, node: NodeSpec): { cp: boolean; etcd: boolean } {
  const topo = topology(cluster)
  return { cp: node.role === 'controlplane', etcd: node.role === 'controlplane' && topo.ha }
}

export function assessNodes(cluster: Cluster, nodesJson: string): Assessment {
  const list = JSON.parse(nodesJson) as { items?: KubeNode[] }
  const byName = new Map((list.items ?? []).map((n) => [n.metadata.name, n]))
  const problems: string[] = []
  const status: Record<string, NodeStatus> = {}
  for (const node of cluster.nodes) {
    const found = byName.get(node.hostname)
    const base: NodeStatus = { node: node.id, role: node.role, ip: node.ip, ready: false }
    if (!found) {
      problems.push(`${node.hostname}: not registered with the API server`)
      status[node.id] = base
      continue
    }
    const ready = found.status?.conditions?.find((c) => c.type === 'Ready')
    const labels = found.metadata.labels ?? {}
    const version = found.status?.nodeInfo?.kubeletVersion
    const isReady = ready?.status === 'True'
    status[node.id] = { ...base, ready: isReady, ...(version ? { version } : {}) }
    if (!isReady)
      problems.push(`${node.hostname}: Ready=${ready?.status ?? 'Unknown'}${ready?.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : ''}`)
    const want = expectedRoles(cluster, node)
    if (want.cp !== (labels[CP] === 'true')) problems.push(`${node.hostname}: ${want.cp ? 'missing' : 'unexpected'} role control-plane`)
    if (want.etcd && labels[ETCD] !== 'true') problems.push(`${node.hostname}: missing role etcd (HA server)`)
  }
  return { ready: problems.length === 0, problems, status }
}

export function assessPods(podsJson: string): string[] {
  const list = JSON.parse(podsJson) as { items?: KubePod[] }
  const pods = list.items ?? []
  const problems: string[] = []
  for (const app of CORE_PODS) {
    const matching = pods.filter((p) => p.metadata.name.startsWith(`${app}-`))
    if (!matching.length) problems.push(`kube-system/${app}: no pod yet`)
    else if (!matching.some((p) => p.status?.phase === 'Running'))
      problems.push(`kube-system/${app}: ${matching.map((p) => `${p.metadata.name} ${p.status?.phase ?? 'Unknown'}`).join(', ')}`)
  }
  return problems
}
