// What the lifecycle's talosctl commands print, read back: the `etcd snapshot` summary, the etcd service's
// state, and whether a failure means the node did not answer at all.

export interface SnapshotSaved {
  bytes: number
  hash: string
  revision: number
  keys: number
}

/** `etcd snapshot saved to "<path>" (N bytes)` then `snapshot info: hash H, revision R, total keys K, …`. */
export function parseSnapshotSaved(stdout: string): SnapshotSaved | undefined {
  const saved = /etcd snapshot saved to ".*" \((\d+) bytes\)/.exec(stdout)
  const info = /snapshot info: hash ([0-9a-f]+), revision (\d+), total keys (\d+)/.exec(stdout)
  if (!saved) return undefined
  return {
    bytes: Number(saved[1]),
    hash: info?.[1] ?? '',
    revision: Number(info?.[2] ?? 0),
    keys: Number(info?.[3] ?? 0)
  }
}

/** The STATE row of `talosctl service etcd` (Running, Preparing, Waiting, …), undefined when absent. */
export const serviceState = (stdout: string): string | undefined => /^STATE\s+(\S+)/m.exec(stdout)?.[1]

/** `recovering from snapshot "<file>": hash …` — the part after the file name, for the log. */
export const recoveredFrom = (stdout: string): string | undefined =>
  /recovering from snapshot "[^"]*": (.*)$/m.exec(stdout)?.[1]

/** talosctl could not reach the node's API at all (off, halted, no route), as opposed to a refusal. */
export const unreachable = (text: string): boolean =>
  /code = Unavailable desc = connection error|connection refused|no route to host|i\/o timeout|context deadline exceeded/.test(
    text
  )

export const lastLines = (text: string, n = 3): string => text.trim().split('\n').slice(-n).join(' | ').slice(0, 400)
