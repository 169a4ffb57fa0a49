// command: restore — replaces the cluster's datastore with a backup's (a file, or an artifact by id).
// Guarded by confirm = cluster name, and every check of the bundle (decryption, manifest, digests,
// cluster, kind, then the kind's own: version, token) passes before the first node is touched.
import { TpiError } from '../../errors.js'
import type { PhaseContext } from '../../phases/types.js'
import { openBackup } from '../backup/bundle.js'
import { restoreProblems, type BackupManifest } from '../backup/manifest.js'
import { lifecycleOf } from '../kind-lifecycle.js'
import { backupBytes, SourceProblem } from './source.js'

export const RESTORE_KEY = 'restore'

export class RestoreRefused extends TpiError {
  constructor(readonly problems: string[]) {
    super('RestoreRefused', `restore refused before any change:\n${problems.map((p) => `- ${p}`).join('\n')}`)
  }
}

/** Encrypts and uploads the run's credentials, as after a deploy (run.ts passes Engine.publish). */
export type Publish = (ctx: PhaseContext) => Promise<void>

export interface RestoreResult {
  manifest: BackupManifest
  steps: string[]
  ms: number
}

export async function runRestore(ctx: PhaseContext, publish?: Publish): Promise<RestoreResult> {
  const started = Date.now()
  const { cluster, settings } = ctx
  const want = { cluster: cluster.name, confirm: settings.confirm, kind: cluster.kind }
  // The guard comes first: without it nothing is even read.
  if (settings.confirm !== cluster.name) throw new RestoreRefused(restoreProblems(new Map(), want).problems.slice(0, 1))
  const hooks = lifecycleOf(ctx, {
    phase: 'restore',
    what: 'restore',
    code: 'RestoreUnsupported',
    byHand: "restore with the kind's own tools from the files of the backup (age -d backup.tar.age | tar x)"
  })
  const raw = await backupBytes(ctx).catch((e: Error) => {
    throw e instanceof SourceProblem ? new RestoreRefused([e.message]) : e
  })
  if (settings.secrets.backupIdentity) ctx.reporter.secret(settings.secrets.backupIdentity)
  const files = await openBackup(raw, {
    identity: settings.secrets.backupIdentity,
    passphrase: settings.secrets.artifactPassphrase
  }).catch((e: Error) => {
    throw new RestoreRefused([e.message])
  })
  const { manifest, problems } = restoreProblems(files, {
    ...want,
    kindProblems: (m, f) => hooks.restoreProblems(cluster, m, f)
  })
  if (problems.length || !manifest) throw new RestoreRefused(problems)
  ctx.reporter.info(
    `backup ${manifest.name} of ${manifest.createdAt}: ${manifest.parts.length} part(s), digests match; restoring`
  )
  const steps = await hooks.restore(ctx, manifest, files)
  steps.push(...(await republish(ctx, publish)))
  const result = { manifest, steps, ms: Date.now() - started }
  ctx.outputs.values[RESTORE_KEY] = result
  return result
}

/**
 * A restore brings back the backed-up cluster's CA, so the kubeconfig the last deploy published no longer
 * verifies: the kind's restore reads it again into outputs.kubeconfigPath, and it is published the way a
 * deploy publishes it (same artifact name, same encryption). Returns the step it adds to the restore's output.
 */
export async function republish(ctx: PhaseContext, publish: Publish | undefined): Promise<string[]> {
  if (!ctx.outputs.kubeconfigPath) return []
  if (!publish) {
    const step = `kubeconfig of the restored cluster written to ${ctx.outputs.kubeconfigPath} (no publisher in this build: not uploaded)`
    ctx.reporter.info(step)
    return [step]
  }
  await publish(ctx)
  const step =
    "kubeconfig of the restored cluster published again (its CA is the backup's; the one the last deploy uploaded is stale)"
  ctx.reporter.info(step)
  return [step]
}
