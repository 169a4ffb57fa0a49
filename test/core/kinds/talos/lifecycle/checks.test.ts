import { describe, expect, test } from '@jest/globals'
import { talosRestoreProblems } from '../../../../../src/core/kinds/talos/lifecycle/checks.js'
import type { BackupManifest } from '../../../../../src/core/lifecycle/backup/manifest.js'
import type { Cluster } from '../../../../../src/core/config/model.js'

const cluster = { kind: 'talos', name: 'lab', talos_version: 'v1.9.2' } as unknown as Cluster
const BUNDLE = Buffer.from('cluster:\n  id: abc\n  secret: s\ncerts:\n  etcd:\n    crt: x\n    key: y\n')

function backup(edit: (files: Map<string, Buffer>, m: BackupManifest) => void = () => {}) {
  const files = new Map<string, Buffer>([
    ['etcd/snapshot.db', Buffer.from('snapshot bytes')],
    ['talos/secrets.yaml', BUNDLE],
    ['talos/talos-cp.yaml', Buffer.from('version: v1alpha1\n')]
  ])
  const manifest = {
    format: 'turingpi-cluster-backup/1',
    cluster: 'lab',
    kind: 'talos',
    datastore: 'etcd',
    createdAt: '2026-12-07T09:00:00Z',
    name: 'lab-1',
    versions: { talos: 'v1.9.0' },
    nodes: [],
    parts: [
      { path: 'etcd/snapshot.db', kind: 'etcd-snapshot', bytes: 14, sha256: '' },
      { path: 'talos/secrets.yaml', kind: 'talos-secrets', bytes: BUNDLE.length, sha256: '' },
      { path: 'talos/talos-cp.yaml', kind: 'machine-config', node: 'talos-cp', bytes: 18, sha256: '' }
    ]
  } as BackupManifest
  edit(files, manifest)
  return talosRestoreProblems(cluster, manifest, files)
}

describe('what a Talos restore needs from a backup', () => {
  test('a snapshot, a secrets bundle and the same minor (patch versions may differ): no problem', () => {
    expect(backup()).toEqual([])
  })

  test('without the secrets bundle it is refused, saying why', () => {
    expect(
      backup((f, m) => {
        f.delete('talos/secrets.yaml')
        m.parts = m.parts.filter((p) => p.kind !== 'talos-secrets')
      })
    ).toEqual([
      'the backup has no Talos secrets bundle; the control planes trust only the PKI the snapshot was taken under, and the restore reaches them with it, so it is refused'
    ])
  })

  test('a blank or foreign secrets file is refused too', () => {
    expect(backup((f) => f.set('talos/secrets.yaml', Buffer.from('  \n')))).toHaveLength(1)
    expect(backup((f) => f.set('talos/secrets.yaml', Buffer.from('apiVersion: v1\nkind: Config\n')))).toEqual([
      'the backup\'s talos/secrets.yaml is not a Talos secrets bundle (no cluster.id or certs.etcd); expected the output of "talosctl gen secrets"'
    ])
  })

  test('without the etcd snapshot, or from another minor, it is refused', () => {
    expect(
      backup((f, m) => {
        m.parts = m.parts.filter((p) => p.kind !== 'etcd-snapshot')
        m.versions = { talos: 'v1.8.3' }
      })
    ).toEqual([
      'the backup has no etcd snapshot',
      'the backup was taken on talos v1.8.3, the cluster file has v1.9.2; restore onto the same minor version (1.8), then upgrade'
    ])
  })
})
