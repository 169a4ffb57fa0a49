// The Talosctl adapter over a local binary (the cached real talosctl, or the lab's stand-in served under
// the same URL). No shell: argv is passed as is; secrets are files named in argv, never their contents.
import type { LocalExec } from '../../core/deps.js'
import type { Talosctl } from './types.js'

export interface TalosctlOptions {
  exec: LocalExec
  /** Path of the talosctl binary. */
  binary: string
  /** Working directory for relative paths (the repository checkout). */
  cwd?: string
  /** Extra environment for every call (merged under the per-call env). */
  env?: Record<string, string>
  /** Default per-call timeout. */
  timeoutMs?: number
}

export function createTalosctl(o: TalosctlOptions): Talosctl {
  return {
    binary: o.binary,
    run: (args, options = {}) =>
      o.exec(o.binary, args, {
        ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
        env: { ...(o.env ?? {}), ...(options.env ?? {}) },
        timeoutMs: options.timeoutMs ?? o.timeoutMs,
        ...(o.cwd ? { cwd: o.cwd } : {})
      })
  }
}
