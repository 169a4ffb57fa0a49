// The Talos secrets bundle (the cluster's PKI and tokens). Generated exactly once, on the first deploy,
// and handed out through outputs.talosSecretsPath (encrypted and uploaded by the artifact step) with the
// instruction to store it as the talos-secrets repository secret. After that the bundle comes from the
// talos-secrets input only: no copy is kept on the runner (see legacyStateSecretsPath). If the cluster
// already exists and the input is not given, the deploy stops: a new PKI would lock the action out of
// its own cluster.
import { access, chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { maskCredential } from '../../crypto/mask.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../../phases/types.js'
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

/**
 * Where versions before 1.x kept a plaintext copy of the bundle. It is never written and never read
 * now: the state-dir sits in the runner's shared tool cache, where another job could read it, or plant
 * a bundle whose PKI it knows before a first deploy.
 */
export const legacyStateSecretsPath = (ctx: PhaseContext): string => join(ctx.state.dir, 'talos-secrets.yaml')

const exists = (path: string): Promise<boolean> =>
  access(path).then(
    () => true,
    () => false
  )

/** The bundle from the input, without generating one (plan); undefined when it is not given. */
export async function storedBundle(ctx: PhaseContext): Promise<SecretsBundle | undefined> {
  const given = ctx.settings.secrets.talosSecrets
  if (given) {
    maskCredential(ctx.reporter, 'talos-secrets', given)
    const path = join(await workDir(ctx), 'secrets.yaml')
    await writeFile(path, given.endsWith('\n') ? given : `${given}\n`, { mode: 0o600 })
    await chmod(path, 0o600)
    return { path, generated: false }
  }
  const legacy = legacyStateSecretsPath(ctx)
  if (await exists(legacy))
    ctx.reporter.warn(
      `state-dir holds a plaintext Talos secrets bundle left by an earlier version (${legacy}); it is not read: store it as the talos-secrets repository secret, pass it as the talos-secrets input, then delete the file`
    )
  return undefined
}

export async function secretsBundle(
  ctx: PhaseContext,
  talosctl: Talosctl,
  clusterExists: boolean
): Promise<SecretsBundle> {
  const stored = await storedBundle(ctx)
  if (stored) return stored
  const path = join(await workDir(ctx), 'secrets.yaml')
  if (clusterExists) {
    throw new PhaseError(
      'install',
      undefined,
      'the cluster already has configured Talos nodes but no talos-secrets input was given; generating a new one would create a second PKI that the nodes reject',
      'pass the bundle from the first deploy (the <cluster>-talos-secrets artifact, decrypted) as the talos-secrets input, then re-run',
      { code: 'TalosSecretsMissing' }
    )
  }
  await rm(path, { force: true }) // left by an earlier failed run in the same temp dir: gen secrets refuses to overwrite
  const result = await talosctl.run(genSecretsArgv(path))
  if (result.code !== 0)
    throw new PhaseError(
      'install',
      undefined,
      `talosctl gen secrets failed (exit ${result.code}): ${result.stderr.trim().slice(0, 300)}`,
      're-run the workflow'
    )
  await chmod(path, 0o600)
  maskCredential(ctx.reporter, 'talos-secrets', await readFile(path, 'utf8'))
  ctx.outputs.talosSecretsPath = path
  ctx.reporter.warn(
    'generated a new Talos secrets bundle for this cluster (first deploy). It is uploaded encrypted as the <cluster>-talos-secrets artifact: decrypt it and store it as a repository secret, then pass it as the talos-secrets input on every later run. Without it a later run on another runner cannot manage this cluster.'
  )
  return { path, generated: true }
}
