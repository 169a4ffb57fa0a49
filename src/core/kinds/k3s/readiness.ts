// Is the cluster ready? Read from `k3s kubectl get nodes/pods -o json` on the first server: every node
// registered, Ready=True, with the roles its place in the cluster file implies, and the kube-system
// core pods running. Pure assessment; the polling lives in cluster-ops.ts.
import type { Cluster, NodeSpec } from '../../config/model.js'
import type { NodeStatus } from '../../phases/types.js'
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

/** One way a node differs from what its place in the cluster file implies, as the API shows it. */
export interface NodeProblem {
  node: NodeSpec
  field: 'registered' | 'ready' | 'role.control-plane' | 'role.etcd'
  wanted: string
  found: string
  /** The line the readiness poll reports (after `<hostname>: `). */
  text: string
}

function problemsOf(cluster: Cluster, node: NodeSpec, found: KubeNode | undefined): NodeProblem[] {
  if (!found)
    return [
      {
        node,
        field: 'registered',
        wanted: 'registered with the API server',
        found: 'not registered',
        text: 'not registered with the API server'
      }
    ]
  const problems: NodeProblem[] = []
  const ready = found.status?.conditions?.find((c) => c.type === 'Ready')
  if (ready?.status !== 'True') {
    const text = `Ready=${ready?.status ?? 'Unknown'}${ready?.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : ''}`
    problems.push({ node, field: 'ready', wanted: 'Ready=True', found: text, text })
  }
  const labels = found.metadata.labels ?? {}
  const want = expectedRoles(cluster, node)
  if (want.cp !== (labels[CP] === 'true'))
    problems.push({
      node,
      field: 'role.control-plane',
      wanted: want.cp ? 'control-plane' : 'no control-plane role',
      found: want.cp ? 'missing' : 'control-plane',
      text: `${want.cp ? 'missing' : 'unexpected'} role control-plane`
    })
  if (want.etcd && labels[ETCD] !== 'true')
    problems.push({
      node,
      field: 'role.etcd',
      wanted: 'etcd (HA server)',
      found: 'missing',
      text: 'missing role etcd (HA server)'
    })
  return problems
}

const byHostname = (nodesJson: string): Map<string, KubeNode> =>
  new Map(((JSON.parse(nodesJson) as { items?: KubeNode[] }).items ?? []).map((n) => [n.metadata.name, n]))

/** Every node of the cluster file that is not registered, not Ready or has other roles than it should. */
export function nodeProblems(cluster: Cluster, nodesJson: string): NodeProblem[] {
  const found = byHostname(nodesJson)
  return cluster.nodes.flatMap((node) => problemsOf(cluster, node, found.get(node.hostname)))
}

export function assessNodes(cluster: Cluster, nodesJson: string): Assessment {
  const byName = byHostname(nodesJson)
  const problems: string[] = []
  const status: Record<string, NodeStatus> = {}
  for (const node of cluster.nodes) {
    const found = byName.get(node.hostname)
    const version = found?.status?.nodeInfo?.kubeletVersion
    const isReady = found?.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True'
    status[node.id] = { node: node.id, role: node.role, ip: node.ip, ready: isReady, ...(version ? { version } : {}) }
    for (const p of problemsOf(cluster, node, found)) problems.push(`${node.hostname}: ${p.text}`)
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
      problems.push(
        `kube-system/${app}: ${matching.map((p) => `${p.metadata.name} ${p.status?.phase ?? 'Unknown'}`).join(', ')}`
      )
  }
  return problems
}
