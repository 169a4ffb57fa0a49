// The K3s wing's answers to the lifecycle commands (ClusterKind.lifecycle): backup, restore, scale down
// and wipe, each in its own file; src/core/lifecycle does the kind-neutral rest around them.
import type { KindLifecycle } from '../../types.js'
import { backupK3s } from './backup.js'
import { k3sRestoreProblems } from './checks.js'
import { removeK3sNode, wipeK3sNode } from './remove.js'
import { restoreK3s } from './restore.js'

export const k3sLifecycle: KindLifecycle = {
  backup: backupK3s,
  restoreProblems: k3sRestoreProblems,
  restore: restoreK3s,
  removeNode: removeK3sNode,
  wipeNode: wipeK3sNode
}
