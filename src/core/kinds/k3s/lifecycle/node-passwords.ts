// A K3s datastore restored from a backup holds the kube-system/<node>.node-password.k3s Secrets of the
// install the backup was taken from. A node flashed after the backup has a new node password, so its
// agent would be refused ("Node password rejected") until that Secret is gone: which nodes those are
// comes from the flash records in state against the manifest's time.
import type { NodeSpec } from '../../../config/model.js'
import type { BackupManifest } from '../../../lifecycle/backup/manifest.js'
import type { StateStore } from '../../../state/store.js'

/**
 * The nodes of the file flashed after the backup was taken. A manifest time that does not parse counts
 * every flashed node: deleting the Secret of a node that kept its password only makes K3s store it again
 * when the node registers.
 */
export function reflashedSince(
  nodes: readonly NodeSpec[],
  state: Pick<StateStore, 'done'>,
  manifest: Pick<BackupManifest, 'createdAt'>
): NodeSpec[] {
  const taken = Date.parse(manifest.createdAt)
  return nodes.filter((node) => {
    const at = state.done(node.id, 'flash')?.at
    if (!at) return false
    const flashed = Date.parse(at)
    return Number.isNaN(taken) || Number.isNaN(flashed) || flashed > taken
  })
}
