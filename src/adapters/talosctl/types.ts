import type { ExecResult } from '../ssh/types.js'

/** Runs the talosctl binary (real, or the lab's stand-in). Argv is built by pure functions in core. */
export interface Talosctl {
  run(
    args: string[],
    options?: { stdin?: string | Buffer; env?: Record<string, string>; timeoutMs?: number }
  ): Promise<ExecResult>
  /** Path of the binary, for messages. */
  binary?: string
}
