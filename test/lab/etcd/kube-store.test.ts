import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  attachEtcd,
  getPrefixSync,
  snapshotRestore,
  snapshotSave,
  startEtcdMember,
  stopAllEtcd
} from '../../../lab/etcd/index.mjs'
import { startKubeApi, type KubeApi } from '../../../lab/kube/index.mjs'
import { call } from '../kube/client.js'

let dir: string
let api: KubeApi | undefined
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lab-etcd-kube-'))
})
afterEach(async () => {
  await api?.stop()
  api = undefined
  await stopAllEtcd()
  await rm(dir, { recursive: true, force: true })
})

const cm = (name: string, value: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name },
  data: { value }
})

describe('lab/kube objects kept in a real etcd', () => {
  test('a ConfigMap lives in etcd under the apiserver key layout, not in the JSON state', async () => {
    const kube = join(dir, 'kube')
    api = await startKubeApi({ host: '127.0.0.1', port: 0, dataDir: kube, tls: false })
    const m = await startEtcdMember({ name: 'cp1', host: '127.10.16.1', dataDir: join(dir, 'etcd', 'cp1') })
    attachEtcd(kube, m.clientUrl)
    expect(
      (
        await call(api, 'POST', '/api/v1/namespaces', {
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name: 'default' }
        })
      ).code
    ).toBe(201)
    expect((await call(api, 'POST', '/api/v1/namespaces/default/configmaps', cm('drill', 'kept'))).code).toBe(201)
    const kv = getPrefixSync(m.clientUrl, '/registry/')
    expect(Object.keys(kv)).toEqual(['/registry/configmaps/default/drill'])
    expect(JSON.parse(kv['/registry/configmaps/default/drill']!).data).toEqual({ value: 'kept' })
    const file = JSON.parse(await readFile(join(kube, 'kube-state.json'), 'utf8'))
    expect(Object.keys(file.objects)).toEqual(['/namespaces//default'])
    // Deleting goes to etcd too.
    expect((await call(api, 'DELETE', '/api/v1/namespaces/default/configmaps/drill')).code).toBe(200)
    expect(getPrefixSync(m.clientUrl, '/registry/')).toEqual({})
  })

  test('an etcd snapshot restored brings a deleted ConfigMap back through the API', async () => {
    const kube = join(dir, 'kube')
    api = await startKubeApi({ host: '127.0.0.1', port: 0, dataDir: kube, tls: false })
    const m = await startEtcdMember({ name: 'cp1', host: '127.10.16.1', dataDir: join(dir, 'etcd', 'cp1') })
    attachEtcd(kube, m.clientUrl)
    await call(api, 'POST', '/api/v1/namespaces', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'default' }
    })
    await call(api, 'POST', '/api/v1/namespaces/default/configmaps', cm('drill', 'kept'))
    const snap = await snapshotSave(m.clientUrl, join(dir, 'snap.db'))
    await call(api, 'DELETE', '/api/v1/namespaces/default/configmaps/drill')
    expect((await call(api, 'GET', '/api/v1/namespaces/default/configmaps/drill')).code).toBe(404)
    await m.kill()
    // While etcd is down the API fails like an apiserver without its datastore.
    expect((await call(api, 'GET', '/api/v1/namespaces/default/configmaps')).code).toBe(500)
    const fresh = join(dir, 'etcd', 'cp1-restored')
    await snapshotRestore(snap, { name: 'cp1', dataDir: fresh, peerUrl: m.peerUrl })
    const back = await startEtcdMember({
      name: 'cp1',
      host: '127.10.16.1',
      dataDir: fresh,
      peerPort: Number(new URL(m.peerUrl).port)
    })
    attachEtcd(kube, back.clientUrl)
    const got = await call(api, 'GET', '/api/v1/namespaces/default/configmaps/drill')
    expect(got.code).toBe(200)
    expect(got.body.data).toEqual({ value: 'kept' })
  })
})
