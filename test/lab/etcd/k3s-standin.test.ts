// The k3s stand-in with embedded etcd (lab/etcd/k3s.mjs) on harness nodes: HA servers run real etcd members,
// the cluster's ConfigMaps live there, `k3s etcd-snapshot save` writes a real snapshot, and `k3s server
// --cluster-reset --cluster-reset-restore-path` rebuilds a one-member cluster from it, checking the token.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { readFileSync, existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { INSTALL_STANDIN, k3sStandinBinary } from '../../../lab/k3s/binary.js'
import { memberAdd, memberList, memberRemove, waitHealthy } from '../../../lab/etcd/index.mjs'
import { readState, updateState } from '../../../lab/kube/index.mjs'
import type { RemoteShell } from '../../../src/adapters/ssh/types.js'
import { haNodes, k3sCluster } from '../../core/kinds/k3s/fixtures.js'
import { startHarness, type Harness } from '../../core/kinds/k3s/harness.js'

const cluster = k3sCluster('', haNodes)
const SERVERS = ['k3s-cp1', 'k3s-cp2', 'k3s-cp3'] as const
let lab: Harness
const addr = (id: string): string => lab.nodes.get(id)!.addr
/** cp1's etcd client URL, and cp3's peer URL (the harness gives each run its own loopback net). */
const FIRST = (): string => `http://${addr('k3s-cp1')}:2379`
const CP3_PEER = (): string => `http://${addr('k3s-cp3')}:2380`
const shells: Record<string, RemoteShell> = {}
const kubeDir = (): string => join(lab.labDir, 'k3s', '10.10.88.73.kube')
const sh = (id: string, script: string) => shells[id]!.exec(script)
const cm = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'drill', namespace: 'default' },
  data: { value: 'kept' }
}

/** cp3 leaves etcd and loses its data, as a reflashed server does before it joins again. */
async function withoutCp3(): Promise<void> {
  await stopK3s('k3s-cp3')
  await memberRemove(FIRST(), 'k3s-cp3')
  expect(await waitHealthy(FIRST())).toBe(true)
  await sh('k3s-cp3', 'rm -rf /var/lib/rancher/k3s/server/db/etcd; : > /var/log/k3s.log')
}

/** What `systemctl stop k3s` does: the unit's process group (etcd) is killed. */
async function stopK3s(id: string): Promise<void> {
  await sh(
    id,
    'if [ -f /run/lab-units/k3s.service.pid ]; then kill -9 -- -$(cat /run/lab-units/k3s.service.pid) 2>/dev/null || true; rm -f /run/lab-units/k3s.service.pid; fi'
  )
}

beforeAll(async () => {
  lab = startHarness(cluster.nodes)
  for (const [i, id] of SERVERS.entries()) {
    shells[id] = await lab.shell(id)
    await shells[id]!.put('/usr/local/bin/k3s', k3sStandinBinary('v1.31.3+k3s1'), { mode: 0o755 })
    await shells[id]!.put('/usr/local/lib/turingpi/k3s-install.sh', readFileSync(INSTALL_STANDIN), { mode: 0o755 })
    const join = i === 0 ? 'cluster-init: true\n' : 'server: "https://10.10.88.73:6443"\n'
    await shells[id]!.put(
      '/etc/rancher/k3s/config.yaml',
      `node-name: "${id}"\nnode-ip: "10.10.88.7${3 + i}"\ntoken-file: "/etc/rancher/k3s/cluster-token"\n${join}`,
      { mode: 0o600 }
    )
    await shells[id]!.put('/etc/rancher/k3s/cluster-token', 'secret-one', { mode: 0o600 })
  }
  for (const id of SERVERS) {
    const r = await sh(id, 'K3S_STANDIN_ONESHOT=1 k3s server')
    if (r.code !== 0) throw new Error(`${id}: ${r.stderr}`)
  }
}, 300_000)
afterAll(async () => {
  for (const id of SERVERS) if (shells[id]) await stopK3s(id)
  lab?.stop()
})

describe('k3s stand-in with embedded etcd', () => {
  test('three HA servers are three real etcd members, and the cluster store points at them', async () => {
    expect((await memberList(FIRST())).map((m) => m.name).sort()).toEqual([...SERVERS])
    const endpoints = JSON.parse(readFileSync(join(kubeDir(), 'etcd.json'), 'utf8')).endpoints
    expect([...endpoints].sort()).toEqual(SERVERS.map((id) => `http://${addr(id)}:2379`))
  })

  test("etcd-snapshot save writes <name>-<node>-<unix time> under server/db/snapshots and prints k3s's lines", async () => {
    const r = await sh('k3s-cp1', 'k3s etcd-snapshot save --name lab-7')
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^\/var\/lib\/rancher\/k3s\/server\/db\/snapshots\/lab-7-k3s-cp1-\d{10}\n$/)
    expect(r.stderr).toMatch(/level=info msg="Snapshot lab-7-k3s-cp1-\d{10} saved\."/)
    expect(existsSync(join(lab.nodes.get('k3s-cp1')!.root, r.stdout.trim()))).toBe(true)
  })

  test('cluster-reset from a snapshot brings a deleted ConfigMap back; the token is checked first; the others rejoin', async () => {
    updateState(kubeDir(), (s) => {
      s.objects['/configmaps/default/drill'] = cm
    })
    const snap = (await sh('k3s-cp1', 'k3s etcd-snapshot save --name lab-8')).stdout.trim()
    updateState(kubeDir(), (s) => {
      delete s.objects['/configmaps/default/drill']
    })
    expect(readState(kubeDir()).objects['/configmaps/default/drill']).toBeUndefined()
    for (const id of SERVERS) await stopK3s(id)

    await shells['k3s-cp1']!.put('/etc/rancher/k3s/cluster-token', 'another-token', { mode: 0o600 })
    const wrong = await sh('k3s-cp1', `k3s server --cluster-reset --cluster-reset-restore-path=${snap}`)
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toContain(
      'level=fatal msg="starting kubernetes: preparing server: bootstrap data already found and encrypted with different token"'
    )
    await sh('k3s-cp1', 'rm /etc/rancher/k3s/cluster-token')
    const missing = await sh('k3s-cp1', `k3s server --cluster-reset --cluster-reset-restore-path=${snap}`)
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('level=fatal msg="starting kubernetes: preparing server: "')

    await shells['k3s-cp1']!.put('/etc/rancher/k3s/cluster-token', 'secret-one', { mode: 0o600 })
    const reset = await sh('k3s-cp1', `k3s server --cluster-reset --cluster-reset-restore-path=${snap}`)
    expect(reset.code).toBe(0)
    expect(reset.stderr).toContain(
      'Managed etcd cluster membership has been reset, restart without --cluster-reset flag now.'
    )
    expect((await sh('k3s-cp1', 'K3S_STANDIN_ONESHOT=1 k3s server')).code).toBe(0)
    expect((await memberList(FIRST())).map((m) => m.name)).toEqual(['k3s-cp1'])
    expect(readState(kubeDir()).objects['/configmaps/default/drill']).toMatchObject({ data: { value: 'kept' } })

    // The others: their old member data is cleared, they join the restored one as new members.
    for (const id of ['k3s-cp2', 'k3s-cp3']) {
      await sh(id, 'rm -rf /var/lib/rancher/k3s/server/db/etcd')
      expect((await sh(id, 'K3S_STANDIN_ONESHOT=1 k3s server')).code).toBe(0)
    }
    expect(await waitHealthy(FIRST())).toBe(true)
    expect((await memberList(FIRST())).map((m) => m.name).sort()).toEqual([...SERVERS])
  }, 300_000)

  test('a joining server whose member was added but never started starts that member instead of adding it twice', async () => {
    await withoutCp3()
    // The add went through (etcdctl timed out under load, or the first start failed): listed, no name.
    await memberAdd(FIRST(), 'k3s-cp3', CP3_PEER())
    expect((await memberList(FIRST())).filter((m) => m.peerUrls.includes(CP3_PEER()))).toEqual([
      expect.objectContaining({ name: '' })
    ])
    const r = await sh('k3s-cp3', 'K3S_STANDIN_ONESHOT=1 k3s server')
    expect(r.stderr).not.toContain('level=fatal')
    expect(r.code).toBe(0)
    expect((await memberList(FIRST())).map((m) => m.name).sort()).toEqual([...SERVERS])
  }, 120_000)

  test('a failed join is retried, as systemd restarts k3s, and each failure is a journal line', async () => {
    await withoutCp3()
    // The peer port is taken for the first attempt: etcd exits, k3s logs it and starts again 5 s later.
    const squatter = createServer()
    await new Promise<void>((resolve) => squatter.listen(2380, addr('k3s-cp3'), resolve))
    setTimeout(() => squatter.close(), 1000)
    const r = await sh('k3s-cp3', 'K3S_STANDIN_ONESHOT=1 k3s server')
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/level=error msg="etcd join failed \(attempt 1 of 8\): .*exited.*; restarting"/)
    expect((await memberList(FIRST())).map((m) => m.name).sort()).toEqual([...SERVERS])
    expect(await waitHealthy(FIRST())).toBe(true)
  }, 120_000)

  test('a server without etcd (SQLite) refuses etcd-snapshot like k3s', async () => {
    await stopK3s('k3s-cp3')
    await sh('k3s-cp3', 'mv /var/lib/rancher/k3s/server/db/etcd /var/lib/rancher/k3s/server/db/etcd.off')
    const r = await sh('k3s-cp3', 'k3s etcd-snapshot save --name x')
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('level=fatal msg="Error: etcd datastore disabled"')
  })
})
