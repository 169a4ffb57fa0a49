// One board, one writer: every workflow job that touches a board runs in the concurrency group
// `turingpi-board-<name>`. A job holds exactly one group, so a cluster spread over several boards
// uses one group naming all of them (`turingpi-board-rack-a+rack-b`, names sorted).
import type { Cluster } from '../config/model.js'
import { boardLockKey } from '../lock/run-lock.js'

export const GROUP_PREFIX = 'turingpi-board-'

/** The boards the cluster's nodes sit on, by name, sorted. */
export function clusterBoards(cluster: Cluster): string[] {
  return [...new Set(cluster.nodes.map((n) => n.board))].sort()
}

export function boardGroup(boards: string[]): string {
  return GROUP_PREFIX + [...boards].sort().join('+')
}

/**
 * Why `group` (the job's concurrency group, as the workflow repeats it to the step) does not cover the
 * cluster's boards, or undefined when it does. GitHub does not put the group into the step's
 * environment, so the workflow passes it as TURINGPI_CONCURRENCY_GROUP; without it there is nothing
 * to compare and the board lock in state-dir is the only guard.
 */
export function groupMismatch(group: string, cluster: Cluster): string | undefined {
  const wanted = boardGroup(clusterBoards(cluster))
  if (group === wanted) return undefined
  return `the job's concurrency group "${group}" does not match the boards of cluster ${cluster.name} (${clusterBoards(cluster).join(', ')}): use "${wanted}", so that every job that touches these boards waits for the others`
}

/** Physical identity of a board (its BMC), to tell two boards that share a name apart. */
export function boardEndpoints(cluster: Cluster): Map<string, string> {
  return new Map(cluster.boardList.map((b) => [b.name, boardLockKey(b)]))
}
