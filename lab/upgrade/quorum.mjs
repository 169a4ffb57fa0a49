// etcd quorum as `k3s kubectl` meets it in the lab. The HA servers' Kubernetes store sits on real etcd
// members (lab/etcd): when a majority of them is down — two of three servers restarting at once — the
// apiserver's reads time out, so every `k3s kubectl` answers k3s's error instead of the object store's
// last state. A member that is itself down while the others hold quorum does not matter: the check goes
// to whichever member answers, as the apiserver's etcd client does. The check is one linearizable read
// per member tried (etcd answers it only with a majority behind its leader), not a health call and a read:
// the same rule, at the cost of one etcdctl process, since every lab `k3s kubectl` pays it first.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { etcdConfig } from '../etcd/kube-store.mjs'
import { readCommits } from '../etcd/ctl.mjs'

/** undefined when the store has no etcd (single server, SQLite) or quorum holds; else k3s's error text. */
export async function quorumLost(dataDir) {
  const endpoints = etcdConfig(dataDir)?.endpoints
  if (!endpoints?.length) return undefined
  for (const endpoint of endpoints) if (await readCommits(endpoint)) return undefined
  return 'Error from server: etcdserver: request timed out'
}

/**
 * Samples quorum every `everyMs` until stopped: how many samples found a majority of the members
 * answering a linearizable read, and how many did not (what a wave must never cause).
 */
export function watchQuorum(dataDir, everyMs = 500) {
  const tally = { ok: 0, lost: 0 }
  let running = true
  const loop = (async () => {
    while (running) {
      const [lost] = await Promise.all([quorumLost(dataDir), new Promise((r) => setTimeout(r, everyMs))])
      if (lost) tally.lost++
      else tally.ok++
    }
  })()
  return {
    stop: async () => {
      running = false
      await loop
      return tally
    }
  }
}

// Two servers down at once, as two overlapping restarts leave them: their etcd members stop answering
// (SIGSTOP) until thawed (SIGCONT). The member's pid is in the k3s unit's pid file on the node's disk.
const memberPid = (nodeRoot) => Number(readFileSync(join(nodeRoot, 'run', 'lab-units', 'k3s.service.pid'), 'utf8'))
export function freezeEtcd(nodeRoot) {
  process.kill(memberPid(nodeRoot), 'SIGSTOP')
}
export function thawEtcd(nodeRoot) {
  process.kill(memberPid(nodeRoot), 'SIGCONT')
}
