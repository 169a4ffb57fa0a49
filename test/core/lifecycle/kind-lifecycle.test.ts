// The kind-neutral lifecycle commands ask the cluster's kind for its procedures (ClusterKind.lifecycle);
// a kind without them is refused with the operation and the kind named, before any BMC, SSH or file access.
import { describe, expect, test } from '@jest/globals'
import type { Deps } from '../../../src/core/deps.js'
import { k3sKind } from '../../../src/core/kinds/k3s/kind.js'
import { runBackup } from '../../../src/core/lifecycle/backup/run-backup.js'
import { runDestroy } from '../../../src/core/lifecycle/destroy/run-destroy.js'
import { recordPlacement } from '../../../src/core/lifecycle/remove/placement.js'
import { scaleDown } from '../../../src/core/lifecycle/remove/scale-down.js'
import { runRestore } from '../../../src/core/lifecycle/restore/run-restore.js'
import { phaseContext } from '../kinds/k3s/context.js'
import { defaultNodes, k3sCluster } from '../kinds/k3s/fixtures.js'

/** Deps that record every use: a refusal must not reach any of them. */
function untouchable(): { deps: Deps; used: string[] } {
  const used: string[] = []
  const deps = new Proxy({} as Deps, {
    get(_, key) {
      used.push(String(key))
      throw new Error(`deps.${String(key)} used`)
    }
  })
  return { deps, used }
}

async function withoutLifecycle(settings: Record<string, unknown>, nodes = defaultNodes) {
  const { deps, used } = untouchable()
  const cluster = k3sCluster('', nodes)
  const ctx = await phaseContext(cluster, deps)
  ctx.kind = { ...k3sKind, name: 'talos', lifecycle: undefined }
  Object.assign(ctx.settings, { confirm: 'lab' }, settings)
  ctx.settings.secrets.artifactRecipients = ['age1x']
  return { ctx, used }
}

describe('a kind without lifecycle hooks', () => {
  test('refuses backup, restore and destroy with wipe, naming the operation and the kind, touching nothing', async () => {
    for (const [command, runIt, message] of [
      ['backup', runBackup, /backup is not supported for talos clusters in this build; nothing was changed/],
      ['restore', runRestore, /restore is not supported for talos clusters in this build; nothing was changed/],
      ['destroy', runDestroy, /wipe: true is not supported for talos clusters in this build; nothing was changed/]
    ] as const) {
      const { ctx, used } = await withoutLifecycle({ command, wipe: true, backupFile: 'backup.tar.age' })
      await expect(runIt(ctx)).rejects.toThrow(message)
      expect([command, used]).toEqual([command, []])
    }
  })

  test('refuses to remove a node the file dropped, naming it, and keeps it in the state', async () => {
    const { ctx, used } = await withoutLifecycle({})
    await recordPlacement(ctx.state, k3sCluster())
    ctx.cluster = k3sCluster('', defaultNodes.split('\n').slice(0, -1).join('\n'))
    await expect(scaleDown(ctx)).rejects.toThrow(
      /node k3s-w3: join failed: removing a node is not supported for talos clusters in this build; nothing was changed/
    )
    expect(used).toEqual([])
    expect(ctx.state.nodeIds()).toContain('k3s-w3')
  })
})
