// Node reachability: SSH answers with a banner (K3s on Armbian) or the Talos API accepts a connection.
// Always through deps.net.map, so the lab's loopback addresses stand in for the file's LAN ones.
import type { Cluster, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import { bounded, reason } from './bounded.js'
import type { DriftObservers } from './observers.js'
import type { DriftFinding } from './types.js'

export const TALOS_API_PORT = 50000

/** An 'unreachable' finding when the node does not answer, or undefined when it does. */
export async function observeNode(
  cluster: Cluster,
  deps: Pick<Deps, 'ssh' | 'net'>,
  observers: DriftObservers,
  node: NodeSpec,
  timeoutMs: number
): Promise<DriftFinding | undefined> {
  const port = cluster.kind === 'k3s' ? cluster.ssh.port : TALOS_API_PORT
  const service = cluster.kind === 'k3s' ? 'SSH' : 'the Talos API'
  const wanted = `${service} answering at ${node.ip}:${port}`
  const target = deps.net.map(node.ip, port)
  let found: string | undefined
  try {
    if (cluster.kind === 'k3s') {
      const banner = await bounded(`SSH on ${node.id}`, timeoutMs + 1000, () => deps.ssh.probe(target.host, target.port, timeoutMs))
      if (banner === undefined) found = `no SSH banner within ${timeoutMs / 1000} s`
    } else {
      const open = await bounded(`the Talos API on ${node.id}`, timeoutMs + 1000, () => observers.tcpConnect(target.host, target.port, timeoutMs))
      if (!open) found = `connection refused or no answer within ${timeoutMs / 1000} s`
    }
  } catch (error) {
    found = reason(error)
  }
  if (found === undefined) return undefined
  return { subject: node.id, field: 'reachable', wanted, found, kind: 'unreachable', fixedBy: [], path: [...node.path, 'ip'] }
}
