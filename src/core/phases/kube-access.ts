// A kubeconfig for read-only runs (drift, plan) when this run fetched none: the post step removes the
// plaintext kubeconfig after every job, so a later job asks the cluster again, without changing it.
// How is the kind's (ctx.kind.readOnlyKubeconfig); written 0600 into the run's temp folder and masked.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { PhaseContext } from './types.js'

/** The kubeconfig path, or undefined when the cluster cannot be asked (the caller reports why). */
export async function readOnlyKubeconfig(ctx: PhaseContext): Promise<string | undefined> {
  const dir = join(ctx.settings.tempDir, 'kube-access')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  try {
    return await ctx.kind.readOnlyKubeconfig(ctx, dir)
  } catch (error) {
    ctx.reporter.debug(`no kubeconfig for a read-only look at the cluster: ${(error as Error).message}`)
    return undefined
  }
}
