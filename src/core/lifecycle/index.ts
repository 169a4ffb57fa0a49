// The lifecycle commands beside deploy: backup, restore, destroy. run.ts hands them a context under the
// board lock; each returns what it did for outputs and the summary.
import type { PhaseContext } from '../phases/types.js'
import { runBackup } from './backup/run-backup.js'
import { runDestroy } from './destroy/run-destroy.js'
import { runRestore, type Publish } from './restore/run-restore.js'

export const LIFECYCLE_COMMANDS = ['backup', 'restore', 'destroy'] as const
export type LifecycleCommand = (typeof LIFECYCLE_COMMANDS)[number]

export function isLifecycle(command: string): command is LifecycleCommand {
  return (LIFECYCLE_COMMANDS as readonly string[]).includes(command)
}

/** publish: how a deploy publishes credentials (Engine.publish); restore publishes the kubeconfig it read again. */
export async function runLifecycle(
  ctx: PhaseContext,
  command: LifecycleCommand,
  options: { publish?: Publish } = {}
): Promise<void> {
  if (command === 'backup') await runBackup(ctx)
  else if (command === 'restore') await runRestore(ctx, options.publish)
  else await runDestroy(ctx)
}
