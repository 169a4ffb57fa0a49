import { describe, expect, test } from '@jest/globals'
import { manifestFor, type PartInput } from '../../../../../src/core/lifecycle/backup/bundle.js'
import { MANIFEST, restoreProblems } from '../../../../../src/core/lifecycle/backup/manifest.js'
import { k3sKind } from '../../../../../src/core/kinds/k3s/kind.js'
import { haNodes, k3sCluster } from '../fixtures.js'

const parts = (): PartInput[] => [
  { path: 'etcd/snapshot.db', kind: 'etcd-snapshot', node: 'k3s-cp', data: Buffer.from('etcd snapshot bytes') },
  { path: 'k3s/token', kind: 'k3s-token', data: Buffer.from('K10abc::server:s3cret\n') }
]
const meta = {
  cluster: 'lab',
  kind: 'k3s' as const,
  datastore: 'etcd' as const,
  createdAt: '2026-12-07T06:00:00.000Z',
  name: 'lab-42',
  versions: { k3s: 'v1.31.3+k3s1' },
  nodes: [{ id: 'k3s-cp', role: 'controlplane' as const, board: 'main', slot: 1, ip: '10.10.88.73' }]
}

/** The problems the kind-neutral check plus the K3s wing's give for these parts, on a file of k3s_version. */
function problems(p: PartInput[], version = 'v1.31.5+k3s1', over: Partial<typeof meta> = {}, nodes?: string): string[] {
  const cluster = k3sCluster(`k3s_version: ${version}`, nodes)
  const files = new Map<string, Buffer>([
    [MANIFEST, Buffer.from(JSON.stringify(manifestFor({ ...meta, ...over }, p)))],
    ...p.map((x): [string, Buffer] => [x.path, x.data])
  ])
  return restoreProblems(files, {
    cluster: 'lab',
    confirm: 'lab',
    kind: 'k3s',
    kindProblems: (m, f) => k3sKind.lifecycle!.restoreProblems(cluster, m, f)
  }).problems
}

describe('a K3s restore refuses, before touching anything,', () => {
  test('nothing in a whole backup of the same minor version', () => {
    expect(problems(parts())).toEqual([])
  })

  test('a backup without its server token, listed or blank', () => {
    const token =
      /^the backup has no K3s server token; .*"bootstrap data already found and encrypted with different token"/
    expect(problems(parts().slice(0, 1))).toEqual([expect.stringMatching(token)])
    const blank = parts()
    blank[1]!.data = Buffer.from('  \n')
    expect(problems(blank)).toEqual([expect.stringMatching(token)])
  })

  test('a backup without the datastore its manifest names', () => {
    expect(problems(parts().slice(1))).toEqual(['the backup has no etcd snapshot'])
    expect(problems(parts(), undefined, { datastore: 'sqlite' as 'etcd' })).toEqual([
      'the backup has no SQLite datastore'
    ])
  })

  test("a single server's SQLite datastore onto a file with several servers", () => {
    const sqlite = [{ ...parts()[0]!, path: 'sqlite/state.db', kind: 'sqlite-datastore' as const }, parts()[1]!]
    expect(problems(sqlite, undefined, { datastore: 'sqlite' as 'etcd' })).toEqual([])
    expect(problems(sqlite, undefined, { datastore: 'sqlite' as 'etcd' }, haNodes)).toEqual([
      "the backup holds a single server's SQLite datastore, the cluster file has 3 servers (embedded etcd); restore it onto a file with one server"
    ])
  })

  test('a backup of another minor version, naming both and the way forward', () => {
    expect(problems(parts(), 'v1.32.0+k3s1')).toEqual([
      'the backup was taken on k3s v1.31.3+k3s1, the cluster file has v1.32.0+k3s1; restore onto the same minor version (1.31), then upgrade'
    ])
  })
})
