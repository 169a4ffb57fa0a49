// The K3s wing's side of rkllama's hashed lock (the lock rules themselves: src/core/tools/python-lock.ts):
// the NPU phase reads it before installing, and the kind's settings check refuses a deploy without it.
import { PhaseError, type ConfigIssue } from '../../../errors.js'
import type { RunSettings } from '../../../settings.js'
import { LOCK_FIELD, rkllamaLock } from '../../../tools/python-lock.js'
import type { K3sCluster } from '../config.js'
import { RKLLAMA_VERSION } from './artifacts.js'

/** The cluster-file fields the lock depends on (a K3s cluster's NPU settings). */
type LockFields = Partial<Pick<K3sCluster, 'npu' | 'npu_config'>>

/** The lock text for the NPU phase; a PhaseError (before anything is installed) when there is none. */
export function rkllamaLockText(
  ctx: { cluster: LockFields; settings: Pick<RunSettings, 'workingDirectory'> },
  node: string,
  version: string
): string {
  const lockPath = ctx.cluster.npu?.rkllama_requirements_lock
  const lock = rkllamaLock(lockPath, ctx.settings.workingDirectory, version)
  if ('problem' in lock)
    throw new PhaseError('npu', node, lock.problem, `add the lock (${LOCK_FIELD}) and re-run deploy`, {
      code: 'RkllamaLockMissing'
    })
  return lock.text
}

/**
 * Before any side effect (the Engine.checkSettings hook): a deploy that would install rkllama needs its
 * lock, so it is refused up front rather than after flashing every node; a plan shows it as a warning.
 */
export function checkRkllamaLock(
  cluster: LockFields,
  settings: Pick<RunSettings, 'command' | 'phases' | 'workingDirectory'>
): ConfigIssue[] {
  if (!cluster.npu?.deploy_rkllama) return []
  if (settings.command !== 'deploy' && settings.command !== 'plan') return []
  if (settings.phases?.length && !settings.phases.includes('npu')) return []
  const path = cluster.npu.rkllama_requirements_lock
  const lock = rkllamaLock(path, settings.workingDirectory, RKLLAMA_VERSION)
  if (!('problem' in lock)) return []
  return [
    {
      code: path === undefined ? 'RkllamaLockMissing' : 'RkllamaLockInvalid',
      path:
        path !== undefined
          ? LOCK_FIELD
          : cluster.npu_config?.deploy_rkllama
            ? 'npu_config.deploy_rkllama'
            : 'deploy_rkllama',
      message: lock.problem,
      severity: settings.command === 'deploy' ? 'error' : 'warning'
    }
  ]
}
