// The lab's view across Talos nodes of one cluster (keyed by cluster.id from the machine config): who is
// running, which control plane holds etcd data, for health checks and bootstrap. In-process: every
// emulated node API runs in the lab process.
const clusters = new Map()

export function clusterOf(id) {
  let c = clusters.get(id)
  if (!c) {
    c = { id, members: new Map() }
    clusters.set(id, c)
  }
  return c
}

export const join = (id, ip, node) => clusterOf(id).members.set(ip, node)
export function leave(id, ip, node) {
  const c = clusters.get(id)
  if (c && c.members.get(ip) === node) c.members.delete(ip)
}

/** Bootstrapped when any member control plane holds etcd data. */
export const bootstrapped = (id) => [...clusterOf(id).members.values()].some((n) => n.hasEtcd())

export const clusterMembers = (id) => clusterOf(id).members
