// backup, restore and destroy on the command line: the same core as the action's commands.
import { BACKUP_KEY, type BackupResult } from '../../core/lifecycle/backup/run-backup.js'
import { DESTROY_KEY, type DestroyResult } from '../../core/lifecycle/destroy/run-destroy.js'
import { RESTORE_KEY, type RestoreResult } from '../../core/lifecycle/restore/run-restore.js'
import type { VerbSpec } from './shared.js'

export const backup: VerbSpec = {
  name: 'backup',
  short: 'Takes an age-encrypted backup of the datastore and token (K3s) with a manifest of digests.',
  example:
    'TPI_SSH_PRIVATE_KEY_FILE=~/.ssh/id_ed25519 TPI_ARTIFACT_RECIPIENTS=age1… turingpi-cluster backup --config cluster.yaml',
  render(result, io, json) {
    const b = result.outputs.values[BACKUP_KEY] as BackupResult | undefined
    if (json)
      io.out(
        JSON.stringify({
          status: result.status,
          ...(b ? { artifact: b.artifact, files: b.files, bytes: b.bytes, manifest: b.manifest } : {})
        })
      )
    else if (b) io.out(`backup ${b.manifest.name}: ${b.files.join(', ')} (${b.bytes} bytes, ${b.ms} ms)`)
    return result.status === 'ok' ? 0 : 1
  }
}

export const restore: VerbSpec = {
  name: 'restore',
  short: 'Restores a backup onto the cluster (needs --confirm <cluster name> and --backup FILE).',
  example:
    'TPI_BACKUP_IDENTITY_FILE=key.txt turingpi-cluster restore --config cluster.yaml --backup backup.tar.age --confirm production',
  render(result, io, json) {
    const r = result.outputs.values[RESTORE_KEY] as RestoreResult | undefined
    if (json)
      io.out(
        JSON.stringify({ status: result.status, ...(r ? { backup: r.manifest.name, steps: r.steps, ms: r.ms } : {}) })
      )
    else if (r) io.out([`restored ${r.manifest.name} (${r.ms} ms):`, ...r.steps.map((s) => `  ${s}`)].join('\n'))
    return result.status === 'ok' ? 0 : 1
  }
}

export const destroy: VerbSpec = {
  name: 'destroy',
  short: 'Powers every node off (optionally --wipe first) and deletes the cluster state (needs --confirm).',
  example: 'TPI_BMC_PASSWORD=… turingpi-cluster destroy --config cluster.yaml --confirm production',
  render(result, io, json) {
    const d = result.outputs.values[DESTROY_KEY] as DestroyResult | undefined
    if (json) io.out(JSON.stringify({ status: result.status, steps: d?.steps ?? [] }))
    else if (d) io.out(d.steps.join('\n'))
    return result.status === 'ok' ? 0 : 1
  }
}
