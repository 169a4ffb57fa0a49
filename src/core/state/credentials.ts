// Where a run's plaintext credentials (kubeconfig, talosconfig, Talos secrets bundle) live: a 0700
// folder under the runner's temp dir, which the action's post step removes (its delete list is saved
// before the first credential is written) and GitHub wipes per job. Never the state-dir: that sits in
// the runner's shared tool cache and outlives the job, so it keeps only what holds no secret.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunSettings } from '../settings.js'

export async function credentialsDir(settings: Pick<RunSettings, 'tempDir'>): Promise<string> {
  const dir = join(settings.tempDir, 'credentials')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  return dir
}
