// The CLI's temp folder holds plaintext credentials (the kubeconfig, talosconfig, the Talos secrets
// bundle) while a verb runs. A laptop has no post step and no per-job wipe, so the folder goes when the
// verb ends: on success, on failure, on an exception, and on SIGINT/SIGTERM (Ctrl-C, a killed terminal),
// unless --keep-temp asks to keep it. A SIGKILL cannot be caught; the folder then stays, 0700.
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

export interface TempGuard {
  /** Removes the folder (unless kept) and the signal handlers; safe to call more than once. */
  release(): void
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

export function guardTempDir(dir: string, keep: boolean, say: (text: string) => void): TempGuard {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  let released = false
  const remove = (): void => {
    if (keep) return
    try {
      rmSync(dir, { recursive: true, force: true })
    } catch (error) {
      say(`warning: could not remove the temp folder ${dir} (it may hold credentials): ${(error as Error).message}`)
    }
  }
  const onExit = (): void => remove()
  const onSignal = (signal: NodeJS.Signals): void => {
    release()
    // Re-raised with no handler left, so the process ends the way the signal asked (exit status 128+n).
    process.kill(process.pid, signal)
  }
  function release(): void {
    if (released) return
    released = true
    for (const s of SIGNALS) process.off(s, onSignal)
    process.off('exit', onExit)
    const credentials = listCredentials(dir)
    remove()
    if (keep) say(`kept the temp folder ${dir}: it holds plaintext credentials; remove it when done`)
    else if (credentials.length)
      say(`removed the temp folder ${dir} with ${credentials.join(', ')}; --keep-temp keeps it`)
  }
  for (const s of SIGNALS) process.on(s, onSignal)
  process.on('exit', onExit)
  return { release }
}

function listCredentials(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'credentials')).sort()
  } catch {
    return []
  }
}
