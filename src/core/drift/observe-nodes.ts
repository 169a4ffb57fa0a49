// Node reachability, as the cluster kind defines it (SSH banner for K3s on Armbian, the Talos API
// accepting a connection). Always through deps.net.map, so the lab's loopback addresses stand in for
// the file's LAN ones.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import type { ClusterKind } from '../kinds/types.js'
import { bounded, reason } from './bounded.js'
import type { DriftFinding } from './types.js'

/** An 'unreachable' finding when the node does not answer, or undefined when it does. */
export async function observeNode(
  cluster: Cluster,
  kind: ClusterKind,
  deps: Pick<Deps, 'ssh' | 'net' | 'tcp'>,
  node: NodeSpec,
  timeoutMs: number
): Promise<DriftFinding | undefined> {
  const { service } = kind.probe
  const wanted = `${service} answering at ${node.ip}:${kind.probe.port(cluster)}`
  let found: string | undefined
  try {
    const seen = await bounded(`${service} on ${node.id}`, timeoutMs + 1000, () =>
      kind.probe.detail(deps, cluster, node.ip, timeoutMs)
    )
    if (seen === undefined) found = `${kind.probe.silence} within ${timeoutMs / 1000} s`
  } catch (error) {
    found = reason(error)
  }
  if (found === undefined) return undefined
  return {
    subject: node.id,
    field: 'reachable',
    wanted,
    found,
    kind: 'unreachable',
    fixedBy: [],
    path: [...node.path, 'ip']
  }
}
