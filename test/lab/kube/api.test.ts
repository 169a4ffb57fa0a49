import { afterEach, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parse } from 'yaml'
import { kubeconfigFor, READY_AT, startKubeApi, type KubeApi } from '../../../lab/kube/index.mjs'
import { call } from './client.js'

const node = (name: string, ready = true) => ({
  name,
  ip: '10.10.88.73',
  roles: ['control-plane', 'master'],
  ready,
  kubeletVersion: 'v1.31.3+k3s1',
  osImage: 'Armbian 25.2.1 bookworm',
  kernelVersion: '6.1.115-vendor-rk35xx',
  containerRuntime: 'containerd://1.7.23-k3s2'
})

let api: KubeApi | undefined
let dir: string
afterEach(async () => {
  await api?.stop()
  api = undefined
  rmSync(dir, { recursive: true, force: true })
})
async function start(tls = true): Promise<KubeApi> {
  dir = mkdtempSync(join(tmpdir(), 'kube-api-'))
  api = await startKubeApi({ host: '127.0.0.1', port: 0, dataDir: dir, tls })
  return api
}

describe('lab Kubernetes API', () => {
  it('lists nodes registered by another process, with kubelet conditions and role labels', async () => {
    const a = await start()
    const script = `import('${resolve('lab/kube/index.mjs')}').then((m) => m.registerNode(process.argv[1], JSON.parse(process.argv[2])))`
    execFileSync(process.execPath, ['-e', script, dir, JSON.stringify(node('rk1-a'))])
    a.registerNode(node('rk1-b', false))
    const list = await call(a, 'GET', '/api/v1/nodes')
    expect(list.code).toBe(200)
    expect(list.body.kind).toBe('NodeList')
    expect(list.body.items.map((n: any) => [n.metadata.name, n.status.conditions[0].status])).toEqual([
      ['rk1-a', 'True'],
      ['rk1-b', 'False']
    ])
    const a1 = list.body.items[0]
    expect(a1.metadata.labels['node-role.kubernetes.io/control-plane']).toBe('true')
    expect(a1.status.nodeInfo.kubeletVersion).toBe('v1.31.3+k3s1')
    expect(a1.status.addresses[0]).toEqual({ address: '10.10.88.73', type: 'InternalIP' })
    a.setReady('rk1-b', true)
    a.deleteNode('rk1-a')
    const after = await call(a, 'GET', '/api/v1/nodes')
    expect(after.body.items.map((n: any) => [n.metadata.name, n.status.conditions[0].reason])).toEqual([
      ['rk1-b', 'KubeletReady']
    ])
    expect((await call(a, 'GET', '/api/v1/nodes/rk1-a')).body).toMatchObject({
      code: 404,
      reason: 'NotFound',
      message: 'nodes "rk1-a" not found'
    })
  })

  it('answers 401 Unauthorized to a request without its bearer token', async () => {
    const a = await start()
    const reply = await call(a, 'GET', '/api/v1/nodes', undefined, undefined, 'wrong-token')
    expect(reply.code).toBe(401)
    expect(reply.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized' })
  })

  it('creates secrets only in an existing namespace, refuses duplicates, patches, selects by label and deletes', async () => {
    const a = await start(false)
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1', labels: { owner: 'helm' } },
      data: { k: 'dg==' }
    }
    expect((await call(a, 'POST', '/api/v1/namespaces/apps/secrets', secret)).body).toMatchObject({
      code: 404,
      message: 'namespaces "apps" not found'
    })
    expect(
      (await call(a, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } }))
        .code
    ).toBe(201)
    const created = await call(a, 'POST', '/api/v1/namespaces/apps/secrets', secret)
    expect(created.code).toBe(201)
    expect(created.body.metadata).toMatchObject({ name: 's1', namespace: 'apps' })
    expect((await call(a, 'POST', '/api/v1/namespaces/apps/secrets', secret)).body).toMatchObject({
      code: 409,
      reason: 'AlreadyExists',
      message: 'secrets "s1" already exists'
    })
    await call(a, 'POST', '/api/v1/namespaces/apps/secrets', {
      ...secret,
      metadata: { name: 's2', labels: { owner: 'other' } }
    })
    const helmOnly = await call(a, 'GET', '/api/v1/namespaces/apps/secrets?labelSelector=owner%3Dhelm')
    expect(helmOnly.body.items.map((s: any) => s.metadata.name)).toEqual(['s1'])
    // Set-based requirements as the apiserver reads them; a requirement it cannot parse is a 400.
    const select = async (selector: string) =>
      call(a, 'GET', `/api/v1/namespaces/apps/secrets?labelSelector=${encodeURIComponent(selector)}`)
    expect((await select('owner in (helm,other)')).body.items.map((s: any) => s.metadata.name)).toEqual(['s1', 's2'])
    expect((await select('owner notin (helm)')).body.items.map((s: any) => s.metadata.name)).toEqual(['s2'])
    expect((await select('owner in helm')).body).toMatchObject({ code: 400, reason: 'BadRequest' })
    const patched = await call(
      a,
      'PATCH',
      '/api/v1/namespaces/apps/secrets/s1',
      { metadata: { labels: { status: 'deployed' } } },
      'application/merge-patch+json'
    )
    expect(patched.body.metadata.labels).toEqual({ owner: 'helm', status: 'deployed' })
    expect((await call(a, 'GET', '/api/v1/secrets')).body.items).toHaveLength(2)
    expect((await call(a, 'DELETE', '/api/v1/namespaces/apps/secrets/s1')).code).toBe(200)
    expect((await call(a, 'GET', '/api/v1/namespaces/apps/secrets/s1')).code).toBe(404)
    expect((await call(a, 'DELETE', '/api/v1/namespaces/apps')).code).toBe(200)
    expect((await call(a, 'GET', '/api/v1/secrets')).body.items).toHaveLength(0)
  })

  it('serves a custom resource only once its CRD exists, and refuses it while the guarding webhook has no ready endpoint', async () => {
    const a = await start(false)
    const pool = {
      apiVersion: 'metallb.io/v1beta1',
      kind: 'IPAddressPool',
      metadata: { name: 'p' },
      spec: { addresses: ['10.10.88.80-10.10.88.89'] }
    }
    const path = '/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools'
    expect((await call(a, 'POST', path, pool)).code).toBe(404)
    await call(a, 'POST', '/api/v1/namespaces', { metadata: { name: 'metallb-system' } })
    await call(a, 'POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', {
      metadata: { name: 'ipaddresspools.metallb.io' },
      spec: {
        group: 'metallb.io',
        scope: 'Namespaced',
        names: { plural: 'ipaddresspools', kind: 'IPAddressPool' },
        versions: [{ name: 'v1beta1', served: true }]
      }
    })
    await call(a, 'POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
      metadata: { name: 'metallb-webhook-configuration' },
      webhooks: [
        {
          name: 'ipaddresspoolvalidationwebhook.metallb.io',
          clientConfig: {
            service: {
              namespace: 'metallb-system',
              name: 'metallb-webhook-service',
              path: '/validate-metallb-io-v1beta1-ipaddresspool'
            }
          },
          rules: [{ apiGroups: ['metallb.io'], resources: ['ipaddresspools'] }]
        }
      ]
    })
    const later = new Date(Date.now() + 300).toISOString()
    await call(a, 'POST', '/api/v1/namespaces/metallb-system/endpoints', {
      metadata: { name: 'metallb-webhook-service', annotations: { [READY_AT]: later } },
      subsets: [{ addresses: [{ ip: '10.42.0.9' }] }]
    })
    const refused = await call(a, 'POST', path, pool)
    expect(refused.code).toBe(500)
    expect(refused.body.message).toMatch(
      /^Internal error occurred: failed calling webhook "ipaddresspoolvalidationwebhook\.metallb\.io": failed to call webhook: Post "https:\/\/metallb-webhook-service\.metallb-system\.svc:443\/validate-metallb-io-v1beta1-ipaddresspool\?timeout=10s": dial tcp .*: connect: connection refused$/
    )
    await new Promise((r) => setTimeout(r, 320))
    const applied = await call(a, 'PATCH', `${path}/p?fieldManager=kubectl`, pool, 'application/apply-patch+yaml')
    expect(applied.code).toBe(201)
    expect(applied.body.spec.addresses).toEqual(['10.10.88.80-10.10.88.89'])
    const again = await call(a, 'PATCH', `${path}/p?fieldManager=kubectl`, pool, 'application/apply-patch+yaml')
    expect(again.body.metadata.resourceVersion).toBe(applied.body.metadata.resourceVersion)
  })

  it('keeps objects, token and CA across a restart on the same data folder, and its kubeconfig names the given server', async () => {
    const a = await start()
    await call(a, 'POST', '/api/v1/namespaces', { metadata: { name: 'kept' } })
    await a.stop()
    api = await startKubeApi({ host: '127.0.0.1', port: 0, dataDir: dir })
    expect(api.caPem).toBe(a.caPem)
    expect((await call(api, 'GET', '/api/v1/namespaces/kept')).code).toBe(200)
    const config = parse(kubeconfigFor(api, 'https://10.10.88.73:6443', 'turing'))
    expect(config.clusters[0].cluster.server).toBe('https://10.10.88.73:6443')
    expect(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString()).toBe(api.caPem)
    expect(config.users[0].user.token).toBe(api.token)
    expect(config['current-context']).toBe('turing')
  })
})
