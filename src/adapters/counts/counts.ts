// What a run made the outside world do, counted where it happens (the adapters), not estimated: SSH
// commands run on nodes, programs started on the runner (helm, kubectl, talosctl) and bytes downloaded
// (cache hits are free). A converged re-run is judged by these numbers, which no machine's speed changes.
import type { Downloads } from '../downloads/types.js'
import type { LocalExec } from '../../core/deps.js'

export interface AdapterCounts {
  sshExecs: number
  runnerProcesses: number
  downloadBytes: number
  /** SSH commands per node (the SSH target's node name). */
  sshExecsPerNode: Record<string, number>
  /** Runner processes per program (the file's base name: helm, kubectl, talosctl). */
  runnerProcessesPerProgram: Record<string, number>
}

export const zeroCounts = (): AdapterCounts => ({
  sshExecs: 0,
  runnerProcesses: 0,
  downloadBytes: 0,
  sshExecsPerNode: {},
  runnerProcessesPerProgram: {}
})

/** The hook the SSH adapter calls for each command it opens a channel for. */
export function sshExecCounter(counts: AdapterCounts): (node: string) => void {
  return (node) => {
    counts.sshExecs++
    counts.sshExecsPerNode[node] = (counts.sshExecsPerNode[node] ?? 0) + 1
  }
}

/** Each call starts one child process on the runner. */
export function countedExec(exec: LocalExec, counts: AdapterCounts): LocalExec {
  return (file, args, options) => {
    counts.runnerProcesses++
    const program = file.split('/').pop() ?? file
    counts.runnerProcessesPerProgram[program] = (counts.runnerProcessesPerProgram[program] ?? 0) + 1
    return exec(file, args, options)
  }
}

/** Bytes fetched over the network; an artifact found in the cache adds nothing. */
export function countedDownloads(downloads: Downloads, counts: AdapterCounts): Downloads {
  return {
    async fetch(request) {
      const got = await downloads.fetch(request)
      if (got.downloaded) counts.downloadBytes += got.bytes
      return got
    }
  }
}
