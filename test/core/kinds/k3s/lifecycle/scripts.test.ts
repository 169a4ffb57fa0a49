import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import {
  clusterResetScript,
  drainScript,
  etcdSnapshotScript,
  observeServerScript,
  rejoinServerScript,
  restartAgentScript,
  sqliteCopyScript,
  stopNodeScript,
  stopScript,
  uninstallScript
} from '../../../../../src/core/kinds/k3s/lifecycle/scripts.js'

const all = {
  observe: observeServerScript(),
  snapshot: etcdSnapshotScript("prod-1'; rm -rf /"),
  sqlite: sqliteCopyScript('/var/lib/rancher/k3s/server/db/x.db'),
  stop: stopScript('k3s'),
  reset: clusterResetScript(),
  rejoin: rejoinServerScript(),
  agent: restartAgentScript(),
  drain: drainScript('k3s-w1'),
  stopNode: stopNodeScript('worker'),
  uninstall: uninstallScript('controlplane')
}

describe('lifecycle scripts sent to K3s nodes', () => {
  test('pass shellcheck', () => {
    for (const [name, text] of Object.entries(all)) {
      const r = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: text, encoding: 'utf8' })
      expect([name, r.stdout]).toEqual([name, ''])
    }
  })

  test('take values as quoted parameters, never interpolated into the body', () => {
    expect(all.snapshot).toContain(`NAME='prod-1'\\''; rm -rf /'\n`)
    expect(all.snapshot).toContain('k3s etcd-snapshot save --name "$NAME"')
  })

  test("read the backup's token from stdin, never from the command line, and reset from the uploaded snapshot", () => {
    for (const text of [all.reset, all.rejoin, all.agent]) expect(text).toContain('cat > "$TOKEN_FILE"')
    expect(all.reset).toContain(`SNAP='/var/lib/rancher/k3s/server/db/snapshots/turingpi-restore.db'`)
    expect(all.reset).toContain('k3s server --cluster-reset --cluster-reset-restore-path="$SNAP"')
    expect(all.rejoin).toContain(`DB='/var/lib/rancher/k3s/server/db'\n`)
    expect(all.rejoin).toContain('rm -rf "$DB"')
  })

  test('drain keeps DaemonSet pods and empties emptyDir volumes, with a bounded wait', () => {
    expect(all.drain).toContain(
      'k3s kubectl drain "$NODE_NAME" --ignore-daemonsets --delete-emptydir-data --timeout=300s'
    )
  })
})
