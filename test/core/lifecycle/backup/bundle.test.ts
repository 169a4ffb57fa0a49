import { describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { manifestFor, openBackup, sealBackup, type PartInput } from '../../../../src/core/lifecycle/backup/bundle.js'
import { MANIFEST, restoreProblems } from '../../../../src/core/lifecycle/backup/manifest.js'
import { packTar, unpackTar } from '../../../../src/core/lifecycle/backup/tar.js'

const run = promisify(execFile)

const parts = (): PartInput[] => [
  {
    path: 'etcd/snapshot.db',
    kind: 'etcd-snapshot',
    node: 'k3s-cp1',
    data: Buffer.from('etcd snapshot bytes \u0000\u0001'.repeat(100))
  },
  { path: 'k3s/token', kind: 'k3s-token', data: Buffer.from('K10abc::server:s3cret\n') }
]
const meta = {
  cluster: 'production',
  kind: 'k3s' as const,
  datastore: 'etcd' as const,
  createdAt: '2026-12-07T06:00:00.000Z',
  name: 'production-42',
  versions: { k3s: 'v1.31.3+k3s1' },
  nodes: [{ id: 'k3s-cp1', role: 'controlplane' as const, board: 'main', slot: 1, ip: '10.10.88.73' }]
}
const want = { cluster: 'production', confirm: 'production', kind: 'k3s' as const }

function bundle(
  over: { parts?: PartInput[]; extra?: { name: string; data: Buffer }[]; manifest?: object } = {}
): Map<string, Buffer> {
  const p = over.parts ?? parts()
  const m = { ...manifestFor(meta, parts()), ...over.manifest }
  return unpackTar(
    packTar([
      { name: MANIFEST, data: Buffer.from(JSON.stringify(m)) },
      ...p.map((x) => ({ name: x.path, data: x.data })),
      ...(over.extra ?? [])
    ])
  )
}

describe('backup bundle', () => {
  test('decrypts with the real age CLI and unpacks with the real tar, digests as in the manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'backup-'))
    try {
      await run('age-keygen', ['-o', join(dir, 'key.txt')])
      const recipient = (await readFile(join(dir, 'key.txt'), 'utf8')).match(/public key: (age1\w+)/)![1]!
      const sealed = await sealBackup(manifestFor(meta, parts()), parts(), { recipients: [recipient] })
      expect(sealed.startsWith('-----BEGIN AGE ENCRYPTED FILE-----\n')).toBe(true)
      await writeFile(join(dir, 'backup.tar.age'), sealed)
      await run('age', ['-d', '-i', join(dir, 'key.txt'), '-o', join(dir, 'backup.tar'), join(dir, 'backup.tar.age')])
      const { stdout } = await run('tar', ['-tvf', join(dir, 'backup.tar')])
      expect(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(/\s+/).pop())
      ).toEqual([MANIFEST, 'etcd/snapshot.db', 'k3s/token'])
      await run('tar', ['-xf', join(dir, 'backup.tar'), '-C', dir])
      const manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8'))
      const { stdout: sum } = await run('sha256sum', [join(dir, 'etcd/snapshot.db')])
      expect(sum.split(' ')[0]).toBe(manifest.parts[0].sha256)
      // And the action's own reader gets the same files back with the identity.
      const files = await openBackup(Buffer.from(sealed), { identity: await readFile(join(dir, 'key.txt'), 'utf8') })
      expect(files.get('k3s/token')!.toString()).toBe('K10abc::server:s3cret\n')
      expect(restoreProblems(files, want).problems).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('a passphrase backup opens only with that passphrase', async () => {
    const sealed = await sealBackup(manifestFor(meta, parts()), parts(), {
      passphrase: 'correct horse',
      scryptWorkFactor: 10
    })
    await expect(openBackup(Buffer.from(sealed), { passphrase: 'wrong' })).rejects.toThrow(
      /cannot be decrypted with the given key/
    )
    expect((await openBackup(Buffer.from(sealed), { passphrase: 'correct horse' })).has(MANIFEST)).toBe(true)
    await expect(openBackup(Buffer.from(sealed), {})).rejects.toThrow(/set backup-identity/)
  })
})

describe('restore refuses, before touching anything,', () => {
  test('a confirm that is not the cluster name', () => {
    expect(restoreProblems(bundle(), { ...want, confirm: 'prod' }).problems).toEqual([
      'confirm is "prod"; a restore replaces the cluster\'s datastore, so set confirm to the cluster name "production"'
    ])
  })

  test('a backup of another cluster', () => {
    expect(restoreProblems(bundle(), { ...want, cluster: 'staging', confirm: 'staging' }).problems).toEqual([
      'the backup is of cluster "production", the cluster file is "staging"'
    ])
  })

  test('a part changed after the backup (digest)', () => {
    const p = parts()
    p[0]!.data = Buffer.from(p[0]!.data.toString('latin1').replace('etcd', 'ETCD'), 'latin1')
    const { problems } = restoreProblems(bundle({ parts: p }), want)
    expect(problems).toHaveLength(1)
    expect(problems[0]).toMatch(
      /^part etcd\/snapshot\.db has sha256 [0-9a-f]{64} \(2200 bytes\), the manifest says [0-9a-f]{64} \(2200 bytes\): it was changed after the backup$/
    )
  })

  test('a file slipped into the bundle that the manifest does not list', () => {
    expect(restoreProblems(bundle({ extra: [{ name: 'k3s/extra', data: Buffer.from('x') }] }), want).problems).toEqual([
      'k3s/extra is in the bundle but not in the manifest'
    ])
  })

  test('a backup of another kind', () => {
    expect(restoreProblems(bundle(), { ...want, kind: 'talos' }).problems).toEqual([
      'the backup is of a k3s cluster, the cluster file is talos'
    ])
  })

  test("the kind's own problems, asked only for a backup of the file's kind, after the shared ones", () => {
    const asked: string[] = []
    const kindProblems = (m: { name: string }, files: ReadonlyMap<string, Buffer>): string[] => {
      asked.push(`${m.name}:${[...files.keys()].join(',')}`)
      return ['the kind says no']
    }
    expect(restoreProblems(bundle(), { ...want, confirm: 'prod', kindProblems }).problems).toEqual([
      expect.stringMatching(/^confirm is "prod"/),
      'the kind says no'
    ])
    expect(asked).toEqual([`production-42:${MANIFEST},etcd/snapshot.db,k3s/token`])
    expect(restoreProblems(bundle(), { ...want, kind: 'talos', kindProblems }).problems).toEqual([
      'the backup is of a k3s cluster, the cluster file is talos'
    ])
    expect(asked).toHaveLength(1)
  })
})

describe('tar reader', () => {
  test('refuses a damaged header and unsafe names', () => {
    const tar = packTar([{ name: 'a', data: Buffer.from('x') }])
    tar[0] = 'b'.charCodeAt(0) + 1
    expect(() => unpackTar(tar)).toThrow(/wrong checksum/)
    expect(() => packTar([{ name: '../etc/passwd', data: Buffer.alloc(0) }])).toThrow(/not a short relative path/)
    expect(() => unpackTar(packTar([{ name: 'a', data: Buffer.from('x') }]).subarray(0, 512))).toThrow(/cut short/)
  })
})
