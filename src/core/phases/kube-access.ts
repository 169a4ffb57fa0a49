// A kubeconfig for read-only runs (drift, plan) when this run fetched none: the post step removes the
// plaintext kubeconfig after every job, so a later job asks the cluster again, without changing it.
// K3s: read the first server's k3s.yaml over SSH; Talos: `talosctl kubeconfig` with a talosconfig
// rendered from the kept secrets bundle. Written 0600 into the run's temp folder and masked.
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { K3S_KUBECONFIG, topology } from '../kinds/k3s/config.js'
import { kubeconfigSecrets, rewriteKubeconfig, writeKubeconfig } from '../kinds/k3s/kubeconfig.js'
import { withPool } from '../remote/shells.js'
import { fetchKubeconfig } from '../kinds/talos/join-phase.js'
import { prepare } from '../kinds/talos/prepare.js'
import type { PhaseContext } from './types.js'

/** The kubeconfig path, or undefined when the cluster cannot be asked (the caller reports why). */
export async function readOnlyKubeconfig(ctx: PhaseContext): Promise<string | undefined> {
  const dir = join(ctx.settings.tempDir, 'kube-access')
  await mkdir(dir, { recursive: true, mode: 0o700 })
  try {
    if (ctx.cluster.kind === 'talos') {
      const p = await prepare(ctx, { readOnly: true })
      return p.talosconfig ? await fetchKubeconfig(ctx, p.talosctl, p.talosconfig, dir) : undefined
    }
    const first = topology(ctx.cluster).first
    const raw = await withPool(ctx, 'addons', async (pool) => (await (await pool.shell(first)).get(K3S_KUBECONFIG)).toString('utf8'))
    for (const secret of kubeconfigSecrets(raw)) ctx.reporter.secret(secret)
    const path = await writeKubeconfig(dir, rewriteKubeconfig(raw, ctx.cluster.apiEndpoint))
    ctx.outputs.kubeconfigPath = path
    return path
  } catch (error) {
    ctx.reporter.debug(`no kubeconfig for a read-only look at the cluster: ${(error as Error).message}`)
    return undefined
  }
}
