import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  getPrefixSync,
  healthy,
  waitHealthy,
  memberAdd,
  memberList,
  memberRemove,
  putSync,
  snapshotRestore,
  snapshotSave,
  startEtcdMember,
  stopAllEtcd,
  type EtcdMember
} from '../../../lab/etcd/index.mjs'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lab-etcd-'))
})
afterEach(async () => {
  await stopAllEtcd()
  await rm(dir, { recursive: true, force: true })
})

async function threeMembers(): Promise<EtcdMember[]> {
  // Grown one by one, as K3s servers join: the first alone, then member add + start 'existing'.
  const a = await startEtcdMember({ name: 'cp1', host: '127.10.16.1', dataDir: join(dir, 'cp1') })
  const members = [a]
  for (const [name, host] of [
    ['cp2', '127.10.16.2'],
    ['cp3', '127.10.16.3']
  ] as const) {
    const { freePort } = await import('../../../lab/etcd/index.mjs')
    const peerUrl = `http://${host}:${await freePort(host)}`
    await memberAdd(a.clientUrl, name, peerUrl)
    const initialCluster = [...members.map((m) => ({ name: m.name, peerUrl: m.peerUrl })), { name, peerUrl }]
    const m = await startEtcdMember({
      name,
      host,
      dataDir: join(dir, name),
      peerPort: Number(new URL(peerUrl).port),
      initialCluster,
      clusterState: 'existing'
    })
    expect(await waitHealthy(m.clientUrl)).toBe(true)
    members.push(m)
  }
  return members
}

describe('lab etcd', () => {
  test('a member listens on its loopback address only and keeps keys', async () => {
    const m = await startEtcdMember({ name: 'cp1', host: '127.10.16.1', dataDir: join(dir, 'cp1') })
    expect(m.clientUrl).toMatch(/^http:\/\/127\.10\.16\.1:\d+$/)
    putSync(m.clientUrl, '/registry/configmaps/default/a', 'one')
    expect(getPrefixSync(m.clientUrl, '/registry/configmaps/')).toEqual({ '/registry/configmaps/default/a': 'one' })
    expect((await stat(m.dataDir)).mode & 0o777).toBe(0o700)
  })

  test('stopAllEtcd kills every member this process started', async () => {
    const m = await startEtcdMember({ name: 'cp1', host: '127.10.16.1', dataDir: join(dir, 'cp1') })
    const pid = (m as unknown as { proc: { pid: number } }).proc.pid
    await stopAllEtcd()
    expect(m.running).toBe(false)
    expect(() => process.kill(pid, 0)).toThrow()
  })

  test('a non-loopback host is refused before anything starts', async () => {
    await expect(startEtcdMember({ name: 'x', host: '10.0.0.5', dataDir: join(dir, 'x') })).rejects.toThrow(
      /not a loopback address/
    )
  })

  test('members join and leave; a majority down loses quorum and one back restores it', async () => {
    const [a, b, c] = await threeMembers()
    expect((await memberList(a.clientUrl)).map((m) => m.name).sort()).toEqual(['cp1', 'cp2', 'cp3'])
    expect(await healthy(a.clientUrl)).toBe(true)
    await b.kill()
    expect(await healthy(a.clientUrl)).toBe(true) // 2 of 3
    await c.kill()
    expect(await healthy(a.clientUrl)).toBe(false) // 1 of 3: no quorum
    expect(() => putSync(a.clientUrl, 'k', 'v')).toThrow()
    await b.start()
    expect(await waitHealthy(a.clientUrl)).toBe(true)
    // Leaving cleanly: the removed member is no longer listed, the other two keep quorum.
    await c.start()
    expect(await waitHealthy(c.clientUrl)).toBe(true)
    await memberRemove(a.clientUrl, 'cp3')
    await c.stop()
    expect((await memberList(a.clientUrl)).map((m) => m.name).sort()).toEqual(['cp1', 'cp2'])
    expect(await healthy([a.clientUrl, b.clientUrl])).toBe(true)
    await expect(memberRemove(a.clientUrl, 'nope')).rejects.toThrow(
      /no member named nope, members: cp1, cp2|no member named nope, members: cp2, cp1/
    )
  }, 60_000)

  test('a snapshot restored into a new data folder brings back the keys of the time of the snapshot', async () => {
    const m = await startEtcdMember({ name: 'cp1', host: '127.10.16.1', dataDir: join(dir, 'cp1') })
    putSync(m.clientUrl, '/registry/configmaps/default/keep', 'before')
    const file = await snapshotSave(m.clientUrl, join(dir, 'snap', 'db'))
    putSync(m.clientUrl, '/registry/configmaps/default/later', 'after')
    await m.kill()
    const restored = join(dir, 'cp1-restored')
    await snapshotRestore(file, { name: 'cp1', dataDir: restored, peerUrl: m.peerUrl })
    const back = await startEtcdMember({
      name: 'cp1',
      host: '127.10.16.1',
      dataDir: restored,
      peerPort: Number(new URL(m.peerUrl).port)
    })
    expect(getPrefixSync(back.clientUrl, '/registry/')).toEqual({ '/registry/configmaps/default/keep': 'before' })
  })
})
