// The post step: removes every plaintext credential the main step left on the runner, even when the
// main step failed. Failures here are warnings; they must not hide the main step's result.
import '../cjs-shim.js'
import * as core from '@actions/core'
import { rm } from 'node:fs/promises'
import { State } from './constants.js'

export async function run(): Promise<void> {
  const raw = core.getState(State.PlaintextFiles)
  const files = raw ? (JSON.parse(raw) as string[]) : []
  for (const file of files) {
    try {
      await rm(file, { recursive: true, force: true })
      core.info(`removed ${file}`)
    } catch (error) {
      core.warning(`could not remove ${file}: ${(error as Error).message}`)
    }
  }
}

/** The earlier name of run(). */
export const cleanup = run
