// Where each node of the cluster lives, kept in state after every deploy, so a node later dropped from
// the cluster file can still be found (board, slot, address) to be drained, removed and powered off.
import type { Cluster, NodeSpec } from '../../config/model.js'
import type { StateStore } from '../../state/store.js'

export interface Placement {
  board: string
  slot: NodeSpec['slot']
  ip: string
  hostname: string
  role: NodeSpec['role']
}

export async function recordPlacement(state: StateStore, cluster: Cluster): Promise<void> {
  for (const n of cluster.nodes)
    state.node(n.id).placement = {
      board: n.board,
      slot: n.slot,
      ip: n.ip,
      hostname: n.hostname,
      role: n.role
    } satisfies Placement
  await state.save()
}

/** Nodes the state knows (deployed before) that the file no longer lists, with where they are. */
export function removedNodes(state: StateStore, cluster: Cluster, known: string[]): (Placement & { id: string })[] {
  const inFile = new Set(cluster.nodes.map((n) => n.id))
  return known
    .filter((id) => !inFile.has(id))
    .map((id) => ({ id, p: state.node(id).placement as Placement | undefined }))
    .filter((x): x is { id: string; p: Placement } => x.p !== undefined)
    .map(({ id, p }) => ({ id, ...p }))
}

/**
 * Why removing these servers would break etcd's quorum, or undefined when it would not. The members
 * today are the file's servers plus the removed ones; those that stay must be a majority of them, and the
 * first server (the one the others join through) must stay.
 */
export function quorumProblem(cluster: Cluster, removed: (Placement & { id: string })[]): string | undefined {
  const servers = removed.filter((r) => r.role === 'controlplane')
  if (!servers.length) return undefined
  const staying = cluster.nodes.filter((n) => n.role === 'controlplane').length
  const members = staying + servers.length
  const quorum = Math.floor(members / 2) + 1
  if (staying < quorum)
    return `removing ${servers.map((s) => s.id).join(', ')} leaves ${staying} of ${members} etcd members, fewer than the ${quorum} a quorum needs; remove one server per deploy, keeping a majority`
  return undefined
}
