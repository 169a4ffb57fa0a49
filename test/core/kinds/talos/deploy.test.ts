// Fresh deploy of one control plane and three workers through the install and join phases, against
// simulated nodes running the lab Talos API, the talosctl stand-in from the mirror and the lab factory;
// then a converged rerun that applies and reboots nothing.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readdir, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'node:https'
import { parse } from 'yaml'
import { talosInstallPhase } from '../../../../src/core/kinds/talos/install-phase.js'
import { talosJoinPhase } from '../../../../src/core/kinds/talos/join-phase.js'
import { talosCluster } from './fixtures.js'
import { startTalosTestLab, type TalosTestLab } from './talos-lab.js'

const IPS = ['10.10.88.73', '10.10.88.74', '10.10.88.75', '10.10.88.76']
const cluster = talosCluster('longhorn_enabled: true')
let lab: TalosTestLab

beforeAll(async () => {
  lab = await startTalosTestLab({ board: 7, ips: IPS })
  await lab.powerOn()
}, 30_000)
afterAll(() => lab.stop())

describe('Talos deploy: 1 control plane + 3 workers', () => {
  let first: Awaited<ReturnType<TalosTestLab['context']>>

  test('install generates the bundle once, validates every config, applies in maintenance mode and waits for the installed nodes', async () => {
    expect(lab.uart[1]).toContain('[talos] entering maintenance service')
    first = await lab.context(cluster)
    const result = await talosInstallPhase.run!(first)
    expect(result.changed).toBe(true)
    expect(result.summary).toBe('talos-cp: install; talos-w1: install; talos-w2: install; talos-w3: install')
    // The bundle is handed out once, 0600, with the instruction to store it.
    expect(first.outputs.talosSecretsPath).toBeDefined()
    expect((await stat(first.outputs.talosSecretsPath as string)).mode & 0o777).toBe(0o600)
    expect(first.reporter.text()).toContain('store it as a repository secret')
    expect(first.outputs.schematicId).toMatch(/^[0-9a-f]{64}$/)
    expect(lab.talos.factory.schematics.get(first.outputs.schematicId as string)).toContain('siderolabs/iscsi-tools')
    // Every node rebooted into the installed system with its static address and says so on the console.
    for (const slot of [1, 2, 3, 4]) expect(lab.uart[slot]).toContain('[talos] machine is running and ready')
    expect(lab.net.map('10.10.88.76', 50000)).toEqual({ host: '127.10.7.4', port: 50000 })
    // The configs really carry the generated patches.
    const w1 = parse(
      (await readFile(`${first.settings.tempDir}/talos-lab/talos-w1.yaml`, 'utf8')).split('---\n')[0] as string
    ) as Record<string, any>
    expect(w1.machine.network.hostname).toBe('talos-w1')
    expect(w1.machine.network.interfaces[0].addresses).toEqual(['10.10.88.74/24'])
    expect(w1.machine.install).toMatchObject({
      disk: '/dev/mmcblk0',
      image: `factory.talos.dev/metal-installer/${first.outputs.schematicId}:v1.9.0`
    })
    expect(w1.machine.disks).toEqual([{ device: '/dev/nvme0n1', partitions: [{ mountpoint: '/var/mnt/longhorn' }] }])
    expect(w1.machine.kubelet.extraMounts[0]).toMatchObject({
      destination: '/var/mnt/longhorn',
      options: ['bind', 'rshared', 'rw']
    })
  }, 40_000)

  test('join bootstraps etcd once, waits for health and fetches the kubeconfig (0600) into the run temp dir, never state-dir', async () => {
    const ctx = await lab.context(cluster)
    const result = await talosJoinPhase.run!(ctx)
    expect(result.summary).toBe('bootstrapped, healthy: 4 node(s); kubeconfig fetched')
    expect(lab.uart[1]).toContain('[talos] bootstrap request received')
    const kubeconfig = await readFile(ctx.outputs.kubeconfigPath as string, 'utf8')
    expect((await stat(ctx.outputs.kubeconfigPath as string)).mode & 0o777).toBe(0o600)
    expect(kubeconfig).toContain('server: https://10.10.88.73:6443')
    expect(ctx.outputs.talosconfigPath).toBe(join(ctx.settings.tempDir, 'credentials', 'talosconfig'))
    expect(ctx.outputs.kubeconfigPath).toBe(join(ctx.settings.tempDir, 'credentials', 'kubeconfig'))
    // state-dir keeps checkpoints, keyed digests and the sealed talosconfig and kubeconfig: no plaintext.
    expect((await readdir(ctx.state.dir)).sort()).toEqual([
      'state.json',
      'talos-kubeconfig.sealed',
      'talos-rendered.json',
      'talos-talosconfig.sealed'
    ])
    for (const name of await readdir(ctx.state.dir))
      expect(await readFile(join(ctx.state.dir, name), 'utf8')).not.toMatch(/BEGIN|LS0tLS1CRUdJTi|kubeconfig|contexts:/)
    const tc = parse(await readFile(ctx.outputs.talosconfigPath as string, 'utf8')) as {
      contexts: Record<string, { endpoints: string[] }>
    }
    expect(tc.contexts.lab?.endpoints).toEqual(['10.10.88.73'])
    expect(Object.keys(ctx.outputs.nodeStatus)).toEqual(['talos-cp', 'talos-w1', 'talos-w2', 'talos-w3'])
    // The kubeconfig reaches the cluster's Kubernetes API (lab/kube on the first control plane), which
    // lists the four nodes.
    const kc = parse(kubeconfig) as {
      clusters: { cluster: { 'certificate-authority-data': string } }[]
      users: { user: { token: string } }[]
    }
    const to = lab.net.map('10.10.88.73', 6443)
    const nodes = await new Promise<{ items: { metadata: { name: string } }[] }>((resolve, reject) => {
      const req = request(
        {
          host: to.host,
          port: to.port,
          path: '/api/v1/nodes',
          servername: 'kubernetes',
          ca: Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64'),
          headers: { authorization: `Bearer ${kc.users[0]!.user.token}` }
        },
        (res) => {
          let text = ''
          res.on('data', (d) => {
            text += d
          })
          res.on('end', () => resolve(JSON.parse(text)))
        }
      )
      req.on('error', reject)
      req.end()
    })
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(['talos-cp', 'talos-w1', 'talos-w2', 'talos-w3'])
  }, 30_000)

  test('no secret material reaches the log', async () => {
    const bundle = await readFile(first.outputs.talosSecretsPath as string, 'utf8')
    const doc = parse(bundle) as {
      trustdinfo: { token: string }
      cluster: { secret: string }
      certs: { os: { key: string } }
    }
    const log = first.reporter.text()
    for (const value of [doc.trustdinfo.token, doc.cluster.secret, doc.certs.os.key]) expect(log).not.toContain(value)
  })

  test('a converged rerun applies nothing, reboots nothing and does not bootstrap again', async () => {
    const boots = lab.uart.map((u) => u.split('machine is running and ready').length)
    const ctx = await lab.context(cluster)
    const install = await talosInstallPhase.run!(ctx)
    expect(install).toEqual({ changed: false, summary: '4 node(s) unchanged' })
    expect(ctx.outputs.talosSecretsPath).toBeUndefined()
    const join = await talosJoinPhase.run!(ctx)
    expect(join.changed).toBe(false)
    expect(lab.uart.map((u) => u.split('machine is running and ready').length)).toEqual(boots)
  }, 30_000)
})
