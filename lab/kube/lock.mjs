// A lock file shared by the lab processes (the lab, stand-ins on simulated nodes): exclusive create,
// a stale lock (a killed process) taken over after 10 s. Synchronous, so callers stay synchronous.
import { closeSync, openSync, rmSync, statSync } from 'node:fs'

const pause = new Int32Array(new SharedArrayBuffer(4))
const sleepSync = (ms) => Atomics.wait(pause, 0, 0, ms)

/** Runs fn() while holding <file>.lock; `what` names the file in the error when it stays locked. */
export function withFileLock(file, what, fn) {
  const lock = `${file}.lock`
  for (let i = 0; ; i++) {
    try {
      closeSync(openSync(lock, 'wx'))
      break
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) rmSync(lock, { force: true })
      } catch {}
      if (i > 1000) throw new Error(`${what} ${file} stays locked (lock file ${lock})`)
      sleepSync(5)
    }
  }
  try {
    return fn()
  } finally {
    rmSync(lock, { force: true })
  }
}
