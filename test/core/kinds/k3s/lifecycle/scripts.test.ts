import { describe, expect, test } from '@jest/globals'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  clusterResetScript,
  drainScript,
  etcdSnapshotScript,
  observeServerScript,
  rejoinServerScript,
  restartAgentScript,
  sqliteCopyScript,
  sqliteRestoreScript,
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
  sqliteRestore: sqliteRestoreScript(),
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

  describe('the SQLite restore, run by bash against a folder standing for the node', () => {
    // The script with its path parameters pointed into a temp folder, and a systemctl on PATH that logs.
    function run(stdin: string, options: { copy?: boolean; wal?: boolean } = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'tpi-sqlite-restore-'))
      const db = join(dir, 'db')
      const bin = join(dir, 'bin')
      for (const d of [db, bin]) spawnSync('mkdir', ['-p', d])
      writeFileSync(join(bin, 'systemctl'), `#!/bin/sh\necho "$*" >> ${dir}/systemctl.log\n`)
      chmodSync(join(bin, 'systemctl'), 0o755)
      writeFileSync(join(db, 'state.db'), 'current datastore')
      if (options.wal) writeFileSync(join(db, 'state.db-wal'), 'current wal')
      if (options.copy !== false) writeFileSync(join(db, 'turingpi-restore.state.db'), 'backup copy')
      const text = all.sqliteRestore
        .replace(/^TOKEN_FILE=.*$/m, `TOKEN_FILE='${dir}/cluster-token'`)
        .replace(/^SERVER_TOKEN=.*$/m, `SERVER_TOKEN='${dir}/server-token'`)
        .replace(/^DB=.*$/m, `DB='${db}'`)
        .replace(/^COPY=.*$/m, `COPY='${db}/turingpi-restore.state.db'`)
      const r = spawnSync('bash', ['-c', text], {
        input: stdin,
        encoding: 'utf8',
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }
      })
      const read = (f: string) => {
        try {
          return readFileSync(join(dir, f), 'utf8')
        } catch {
          return undefined
        }
      }
      const result = { r, db: readdirSync(db).sort(), read, dir }
      return { ...result, done: () => rmSync(dir, { recursive: true, force: true }) }
    }

    test('stops k3s, keeps the current state.db and its -wal aside, puts the copy in place with the token, starts k3s', () => {
      const t = run('K10abc::server:s3cret\n', { wal: true })
      try {
        expect(t.r.status).toBe(0)
        expect(t.read('systemctl.log')).toBe('stop k3s\nstart k3s\n')
        expect(t.read('db/state.db')).toBe('backup copy')
        const aside = t.db.filter((f) => f.startsWith('state.db.before-restore-'))
        expect(aside).toEqual([
          expect.stringMatching(/^state\.db\.before-restore-\d{8}T\d{6}Z$/),
          expect.stringMatching(/-wal$/)
        ])
        expect(t.read(`db/${aside[0]}`)).toBe('current datastore')
        expect(t.db).not.toContain('turingpi-restore.state.db')
        expect(t.db).not.toContain('state.db-wal')
        expect(t.read('cluster-token')).toBe('K10abc::server:s3cret\n')
        expect(t.read('server-token')).toBe('K10abc::server:s3cret\n')
        expect(t.r.stdout).toMatch(/^tpi-result: changed restored=.*\/db\/state\.db aside=.*before-restore-/m)
      } finally {
        t.done()
      }
    })

    test('without a token or without the uploaded copy it stops nothing and changes nothing', () => {
      for (const [stdin, copy] of [
        ['', true],
        ['K10abc::server:s3cret\n', false]
      ] as const) {
        const t = run(stdin, { copy })
        try {
          expect(t.r.status).toBe(1)
          expect(t.read('systemctl.log')).toBeUndefined()
          expect(t.read('db/state.db')).toBe('current datastore')
          expect(t.read('cluster-token')).toBeUndefined()
        } finally {
          t.done()
        }
      }
    })
  })
})
