// The Talos wing's answers to the lifecycle commands (ClusterKind.lifecycle): backup (etcd snapshot, secrets
// bundle, machine configs), restore (EPHEMERAL reset, bootstrap --recover-from), scale down (reset
// --graceful, Node deleted) and wipe (reset); src/core/lifecycle does the kind-neutral rest around them.
import type { KindLifecycle } from '../../types.js'
import { backupTalos } from './backup.js'
import { talosRestoreProblems } from './checks.js'
import { removeTalosNode, wipeTalosNode } from './remove.js'
import { restoreTalos } from './restore.js'

export const talosLifecycle: KindLifecycle = {
  backup: backupTalos,
  restoreProblems: talosRestoreProblems,
  restore: restoreTalos,
  removeNode: removeTalosNode,
  wipeNode: wipeTalosNode
}
