// The Talos secrets bundle (the cluster's PKI and tokens). Generated exactly once, on the first deploy,
// and handed out through outputs.talosSecretsPath (encrypted and uploaded by the artifact step) with the
// instruction to store it as the talos-secrets repository secret. After that the stored bundle is used:
// from the input, else from the copy kept in state-dir on this runner. If the cluster already exists and
// neither is there, the deploy stops: a new PKI would lock the action out of its own cluster.
import { access, chmod, copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { maskCredential } from '../../crypto/mask.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../types.js'
import { genSecretsArgv } from './argv.js'

export interface SecretsBundle {
  path: string
  /** True when this run generated it (first deploy). */
  generated: boolean
}

/** Plaintext working files of this run (0700 folder under the runner temp dir, removed by the post step). */
export async function workDir(ctx: PhaseContext): Promise<string> {
  const dir = join(ctx.settings.tempDir, `talos-${ctx.cluster.name}`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  return dir
}

export const stateSecretsPath = (ctx: PhaseContext): string => join(ctx.state.dir, 'talos-secrets.yaml')

const exists = (path: string): Promise<boolean> => access(path).then(() => true, () => false)

/** The bundle from the input or state-dir, without generating one (plan); undefined when neither exists. */
export async function storedBundle(ctx: PhaseContext): Promise<SecretsBundle | undefined> {
  const given = ctx.settings.secrets.talosSecrets
  if (given) {
    maskCredential(ctx.reporter, 'talos-secrets', given)
    const path = join(await workDir(ctx), 'secrets.yaml')
    await writeFile(path, given.endsWith('\n') ? given : `${given}\n`, { mode: 0o600 })
    await chmod(path, 0o600)
    return { path, generated: false }
  }
  const kept = stateSecretsPath(ctx)
  if (!(await exists(kept))) return undefined
  maskCredential(ctx.reporter, 'talos-secrets', await readFile(kept, 'utf8'))
  return { path: kept, generated: false }
}

export async function secretsBundle(ctx: PhaseContext, talosctl: Talosctl, clusterExists: boolean): Promise<SecretsBundle> {
  const stored = await storedBundle(ctx)
  if (stored) {
    if (!ctx.settings.secrets.talosSecrets) ctx.reporter.warn(`using the Talos secrets bundle kept in state-dir (${stored.path}); store it as the talos-secrets repository secret so another runner can manage this cluster`)
    return stored
  }
  const path = join(await workDir(ctx), 'secrets.yaml')
  const kept = stateSecretsPath(ctx)
  if (clusterExists) {
    throw new PhaseError(
      'install',
      undefined,
      'the cluster already has configured Talos nodes but no talos-secrets input was given and state-dir holds no bundle; generating a new one would create a second PKI that the nodes reject',
      'pass the bundle from the first deploy (the <cluster>-talos-secrets artifact, decrypted) as the talos-secrets input, then re-run',
      { code: 'TalosSecretsMissing' }
    )
  }
  await rm(path, { force: true }) // left by an earlier failed run in the same temp dir: gen secrets refuses to overwrite
  const result = await talosctl.run(genSecretsArgv(path))
  if (result.code !== 0) throw new PhaseError('install', undefined, `talosctl gen secrets failed (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`, 're-run the workflow')
  await chmod(path, 0o600)
  maskCredential(ctx.reporter, 'talos-secrets', await readFile(path, 'utf8'))
  await copyFile(path, kept)
  await chmod(kept, 0o600)
  ctx.outputs.talosSecretsPath = path
  ctx.reporter.warn(
    'generated a new Talos secrets bundle for this cluster (first deploy). It is uploaded encrypted as the <cluster>-talos-secrets artifact: decrypt it and store it as a repository secret, then pass it as the talos-secrets input on every later run. Without it a later run on another runner cannot manage this cluster.'
  )
  return { path, generated: true }
}
