// The `list` command: the fleet's clusters as JSON for a workflow's strategy.matrix, each with its file,
// its boards and the concurrency group every job touching those boards must use.
import { loadClusterFile } from '../config/load.js'
import type { ConfigIssue } from '../errors.js'
import { boardEndpoints, boardGroup, clusterBoards } from './boards.js'
import { clusterFiles } from './files.js'
import { resolve } from 'node:path'

export interface FleetEntry {
  /** The cluster's `name:`. */
  name: string
  /** Path of the cluster file, as `config` takes it. */
  config: string
  kind: string
  boards: string[]
  /** `turingpi-board-<boards>`: the job's concurrency group. */
  group: string
}

export interface FleetList {
  clusters: FleetEntry[]
  /** Problems of single files (file:line:col) and of the fleet as a whole (names used twice). */
  issues: (ConfigIssue & { file: string })[]
}

export async function listFleet(config: string, cwd = '.'): Promise<FleetList> {
  const files = await clusterFiles(config, cwd)
  const loaded = await Promise.all(
    files.map(async (file) => ({ file, result: await loadClusterFile(resolve(cwd, file), { displayPath: file }) }))
  )
  const clusters: FleetEntry[] = []
  const issues: FleetList['issues'] = []
  const names = new Map<string, string>()
  const boards = new Map<string, { endpoint: string; file: string }>()
  for (const { file, result } of loaded) {
    issues.push(...result.issues.filter((i) => i.severity === 'error').map((i) => ({ ...i, file })))
    const cluster = result.cluster
    if (!cluster) continue
    const where = { file, line: 1, column: 1 }
    const other = names.get(cluster.name)
    // Artifacts, issues and state are keyed by the cluster name: two files with one name would mix them.
    if (other)
      issues.push({
        code: 'FleetDuplicateName',
        path: 'name',
        message: `cluster name "${cluster.name}" is also used by ${other}`,
        severity: 'error',
        where,
        file
      })
    names.set(cluster.name, file)
    for (const [board, endpoint] of boardEndpoints(cluster)) {
      if (!cluster.nodes.some((n) => n.board === board)) continue
      const seen = boards.get(board)
      // One name, two BMCs: their jobs would share a group while touching different hardware, or
      // (worse) name the same group for hardware that is really shared. Names must be unique per board.
      if (seen && seen.endpoint !== endpoint)
        issues.push({
          code: 'FleetBoardName',
          path: 'boards',
          message: `board "${board}" is ${endpoint} here but ${seen.endpoint} in ${seen.file}: give each physical board its own name`,
          severity: 'error',
          where,
          file
        })
      else if (!seen) boards.set(board, { endpoint, file })
    }
    const list = clusterBoards(cluster)
    clusters.push({ name: cluster.name, config: file, kind: cluster.kind, boards: list, group: boardGroup(list) })
  }
  return { clusters, issues }
}
