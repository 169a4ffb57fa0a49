// Backup, restore, scale down and destroy of a Talos cluster through the shipped bundle (dist/) on lab
// board 25 (127.10.25.1-4; no other test file uses it: board 23's 127.10.23.1 is kube-bridge.test.ts's API,
// which this suite's API collided with when both ran at once): the shape of examples/talos-cluster.yaml
// (one control plane, three workers; addons off to keep it short). The control plane runs a real etcd
// (lab/talos/lib/etcd-ops.mjs) that holds the cluster's ConfigMaps. In order:
//   1. a ConfigMap is written with the runner's kubectl, then `command: backup` uploads <cluster>-backup
//      (etcd snapshot, secrets bundle, machine configs), which a user opens with the real `age -d` and `tar`;
//   2. the control plane's etcd is destroyed behind the action's back (process killed, data deleted);
//   3. restore is refused, before any node is touched, for a wrong confirm, a part changed after the backup,
//      a backup without its secrets bundle and another cluster's backup;
//   4. restore with the real backup resets EPHEMERAL, recovers etcd from the snapshot: the ConfigMap is back
//      and every node Ready;
//   5. scale down: dropping the control plane is refused (quorum) before any change; a worker dropped from the
//      file is, with confirm, reset gracefully, its Node deleted, its slot powered off and its state forgotten;
//   6. destroy with wipe: true resets every node (maintenance mode on the next boot), powers every slot off
//      and deletes the state; the artifacts stay.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { startLab, type Lab } from '../../lab/lab.js'
import { unpackTar } from '../../src/core/lifecycle/backup/tar.js'
import { bmcApi, onBoard } from './helpers-drift.js'
import { backupFile, editManifest, forgedBackup, labKubectl } from './helpers-lifecycle.js'

const run = promisify(execFile)
const B = 25
const FILE = 'examples/talos-cluster.yaml'
const NAME = 'talos-cluster'
const SHAPE = {
  addons: { metallb: false, traefik: false, longhorn: false, prometheus: false },
  longhorn_enabled: false,
  bootstrap_timeout: 120,
  boot_timeout: 60
}
const WORKERS = [
  { node: 2, ip: '10.10.88.74', hostname: 'talos-w1', install_disk: '/dev/mmcblk0' },
  { node: 3, ip: '10.10.88.75', hostname: 'talos-w2', install_disk: '/dev/mmcblk0' },
  { node: 4, ip: '10.10.88.76', hostname: 'talos-w3', install_disk: '/dev/mmcblk0' }
]

let lab: Lab
let setup: LabActionSetup
let backupRun: ActionRun
let work: string
/** The decrypted tar of the backup, as `age -d` wrote it. */
let tar: Buffer
let kubectl: (args: string[], stdin?: string) => Promise<string>

const talosDir = (slot: number): string => join(lab.node(B, slot).rootDir, 'talos')
const configMap = (): Promise<string> =>
  kubectl(['get', 'configmap', 'drill', '-n', 'default', '-o', 'json', '--ignore-not-found'])
const restore = (file: string, confirm = NAME): Promise<ActionRun> =>
  runLabAction(lab, setup, { command: 'restore', backup: file, 'backup-identity': setup.ageIdentity, confirm })
const power = (): Promise<string> => bmcApi(lab.boards[B]!.bmc, 'opt=get&type=power')
const ok = (r: ActionRun): { code: number; tail: string } => ({ code: r.code, tail: r.code ? r.log.slice(-3000) : '' })

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  work = await mkdtemp(join(lab.dir, 'lifecycle-talos-'))
  setup = await onBoard(lab, FILE, B, { ...SHAPE, workers: WORKERS })
  kubectl = labKubectl(lab, setup, work)
  const deploy = await runLabAction(lab, setup, { command: 'deploy' })
  if (deploy.code !== 0) throw new Error(`deploy failed:\n${deploy.log.slice(-3000)}`)
  await kubectl(
    ['apply', '-f', '-'],
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: drill\n  namespace: default\ndata:\n  value: kept\n'
  )
  backupRun = await runLabAction(lab, setup, { command: 'backup' })
}, 300_000)
afterAll(async () => {
  await lab?.stop()
})

describe('1. backup', () => {
  test("uploads <cluster>-backup and names each part's sha256 in the outputs", () => {
    expect(ok(backupRun)).toEqual({ code: 0, tail: '' })
    expect(backupRun.outputs['backup-artifact']).toBe(`${NAME}-backup`)
    expect(Object.keys(JSON.parse(backupRun.outputs['backup-sha256']!))).toEqual([
      'etcd/snapshot.db',
      'talos/secrets.yaml',
      'talos/talos-cp.yaml',
      'talos/talos-w1.yaml',
      'talos/talos-w2.yaml',
      'talos/talos-w3.yaml'
    ])
    expect(backupRun.log).toMatch(/talos-cp: etcd snapshot, \d+ bytes \(hash [0-9a-f]{8}, revision \d+, \d+ keys\)/)
  })

  test('decrypts with the real age CLI; the snapshot is a real etcd snapshot holding the ConfigMap', async () => {
    const file = await backupFile(lab, work, NAME)
    await writeFile(join(work, 'key.txt'), setup.ageIdentity + '\n', { mode: 0o600 })
    await run('age', ['-d', '-i', join(work, 'key.txt'), '-o', join(work, 'backup.tar'), file])
    tar = await readFile(join(work, 'backup.tar'))
    const files = unpackTar(tar)
    const manifest = JSON.parse(files.get('manifest.json')!.toString())
    expect(manifest).toMatchObject({
      format: 'turingpi-cluster-backup/1',
      cluster: NAME,
      kind: 'talos',
      datastore: 'etcd',
      versions: { talos: 'v1.9.0' }
    })
    expect(manifest.nodes.map((n: { id: string }) => n.id)).toEqual(['talos-cp', 'talos-w1', 'talos-w2', 'talos-w3'])
    for (const p of manifest.parts) expect(createHash('sha256').update(files.get(p.path)!).digest('hex')).toBe(p.sha256)
    // etcd's own tool reads it; the ConfigMap's key and value are in it.
    await writeFile(join(work, 'db.snapshot'), files.get('etcd/snapshot.db')!)
    const { stdout } = await run('etcdctl', ['snapshot', 'status', join(work, 'db.snapshot'), '-w', 'json'], {
      env: { PATH: process.env.PATH!, ETCDCTL_API: '3' }
    })
    expect(JSON.parse(stdout).totalKey).toBeGreaterThan(0)
    expect(files.get('etcd/snapshot.db')!.includes('/registry/configmaps/default/drill')).toBe(true)
    // The secrets bundle is the one the deploy generated (the talos-secrets input of later runs).
    const secrets = files.get('talos/secrets.yaml')!.toString()
    expect(secrets).toMatch(/^cluster:\n\s+id: /m)
    const shown = backupRun.log
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n')
    const secret = /secret: (\S{16,})/.exec(secrets)![1]!
    expect(shown).not.toContain(secret)
    await expect(stat(join(backupRun.runnerTemp, 'turingpi-cluster'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('2-4. restore', () => {
  let before: { state: number; power: string }
  const seen = async (): Promise<{ state: number; power: string }> => ({
    state: (await stat(join(talosDir(1), 'state.json'))).mtimeMs,
    power: await power()
  })

  beforeAll(async () => {
    // The datastore is lost: the control plane's etcd process killed, its data deleted.
    const pid = Number(await readFile(join(talosDir(1), 'etcd.pid'), 'utf8'))
    process.kill(-pid, 'SIGKILL')
    await new Promise((r) => setTimeout(r, 300))
    await rm(join(talosDir(1), 'etcd'), { recursive: true, force: true })
    before = await seen()
  }, 150_000)

  test('with the datastore gone the ConfigMap cannot be read', async () => {
    await expect(configMap()).rejects.toThrow()
  })

  test('is refused for a wrong confirm, a changed part, a missing secrets bundle and another cluster, before any change', async () => {
    const file = await backupFile(lab, work, NAME)
    const forged = (name: string, edit: (f: Map<string, Buffer>) => void): Promise<string> =>
      forgedBackup(tar, setup.inputs['artifact-recipients']!, join(work, `${name}.tar.age`), edit)
    const cases: [string, string, string, RegExp][] = [
      ['confirm', file, 'talos', /confirm is "talos"; a restore replaces the cluster's datastore/],
      [
        'digest',
        await forged('tampered', (f) => {
          const s = f.get('etcd/snapshot.db')!
          s[s.length - 100] ^= 0xff
        }),
        NAME,
        /part etcd\/snapshot\.db has sha256 [0-9a-f]{64} \(\d+ bytes\), the manifest says [0-9a-f]{64} \(\d+ bytes\): it was changed after the backup/
      ],
      [
        'secrets',
        await forged('no-secrets', (f) => {
          f.delete('talos/secrets.yaml')
          editManifest(f, (m) => {
            m.parts = m.parts.filter((p) => p.kind !== 'talos-secrets')
          })
        }),
        NAME,
        /the backup has no Talos secrets bundle/
      ],
      [
        'cluster',
        await forged('other', (f) =>
          editManifest(f, (m) => {
            m.cluster = 'staging'
          })
        ),
        NAME,
        /the backup is of cluster "staging", the cluster file is "talos-cluster"/
      ]
    ]
    for (const [what, path, confirm, message] of cases) {
      const r = await restore(path, confirm)
      expect([what, r.code]).toEqual([what, 1])
      expect([what, r.log]).toEqual([what, expect.stringMatching(/restore refused before any change/)])
      expect([what, message.test(r.log)]).toEqual([what, true])
    }
    expect(await seen()).toEqual(before)
    await expect(stat(join(talosDir(1), 'etcd'))).rejects.toMatchObject({ code: 'ENOENT' })
  }, 300_000)

  test('with the backup resets EPHEMERAL, recovers etcd from the snapshot: the ConfigMap is back, every node Ready', async () => {
    const r = await restore(await backupFile(lab, work, NAME))
    expect(ok(r)).toEqual({ code: 0, tail: '' })
    expect(r.log).toContain('talos-cp: EPHEMERAL reset, etcd Preparing')
    expect(r.log).toMatch(
      /talos-cp: etcd recovered from the talos-cluster-\S+ snapshot \(hash [0-9a-f]{8}, revision \d+, total keys \d+, total size \d+\)/
    )
    expect(r.log).toContain('cluster healthy: 1 control plane(s) in etcd, 4 node(s) ready')
    expect(JSON.parse(await configMap()).data).toEqual({ value: 'kept' })
    const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[]
    }
    expect(
      nodes.items.map((n) => [n.metadata.name, n.status.conditions.find((c) => c.type === 'Ready')?.status])
    ).toEqual([
      ['talos-cp', 'True'],
      ['talos-w1', 'True'],
      ['talos-w2', 'True'],
      ['talos-w3', 'True']
    ])
    console.log(`talos restore wall time: ${Math.round(r.ms)} ms`)
  }, 450_000)
})

describe('5. scale down', () => {
  test('dropping the control plane (another node named instead) is refused before any change: quorum', async () => {
    const swapped = (
      await onBoard(lab, FILE, B, {
        ...SHAPE,
        endpoint: 'https://10.10.88.74:6443',
        control_plane: { node: 2, ip: '10.10.88.74', hostname: 'talos-cp2', install_disk: '/dev/mmcblk0' },
        workers: WORKERS.slice(1)
      })
    ).configPath
    const before = await power()
    const r = await runLabAction(lab, setup, { command: 'deploy', config: swapped, confirm: NAME })
    expect(r.code).toBe(1)
    expect(r.log).toContain(
      'removal refused before any change: removing talos-cp leaves 1 of 2 etcd members, fewer than the 2 a quorum needs'
    )
    expect(await power()).toBe(before)
    expect(JSON.parse(await configMap()).data).toEqual({ value: 'kept' })
  }, 300_000)

  test('a worker dropped from the file is reset gracefully, its Node deleted, powered off and forgotten', async () => {
    const fewer = (await onBoard(lab, FILE, B, { ...SHAPE, workers: WORKERS.slice(0, 2) })).configPath
    const plan = await runLabAction(lab, setup, { command: 'plan', config: fewer })
    expect(JSON.parse(plan.outputs.plan!).filter((s: { action: string }) => s.action === 'remove')).toEqual([
      expect.objectContaining({ node: 'talos-w3', action: 'remove' })
    ])
    const r = await runLabAction(lab, setup, { command: 'deploy', config: fewer, confirm: NAME })
    expect(ok(r)).toEqual({ code: 0, tail: '' })
    expect(r.log).toContain('talos-w3: reset gracefully (cordoned, drained, wiped, shut down)')
    expect(r.log).toContain('talos-w3: Node talos-w3 deleted')
    expect(r.log).toMatch(/talos-w3: powered off \(board \S+, slot 4\)/)
    expect(await power()).toContain('"node1":"1","node2":"1","node3":"1","node4":"0"')
    const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string } }[]
    }
    expect(nodes.items.map((n) => n.metadata.name)).toEqual(['talos-cp', 'talos-w1', 'talos-w2'])
    // The reset wiped its disk's STATE: the next boot is maintenance mode.
    expect(JSON.parse(await readFile(join(talosDir(4), 'state.json'), 'utf8')).config).toBeUndefined()
    const state = JSON.parse(await readFile(join(setup.stateDir, NAME, 'state.json'), 'utf8'))
    expect(Object.keys(state.nodes).sort()).toEqual(['talos-cp', 'talos-w1', 'talos-w2'])
    setup = { ...setup, configPath: fewer }
  }, 450_000)
})

describe('6. destroy', () => {
  test('with wipe: true resets every node, powers every slot off, deletes the state and keeps the artifacts', async () => {
    const r = await runLabAction(lab, setup, { command: 'destroy', confirm: NAME, wipe: 'true' })
    expect(ok(r)).toEqual({ code: 0, tail: '' })
    for (const n of ['talos-cp', 'talos-w1', 'talos-w2']) {
      expect(r.log).toContain(`${n}: Talos reset (every partition wiped), shut down`)
      expect(r.log).toMatch(new RegExp(`${n}: powered off \\(board \\S+, slot \\d\\)`))
    }
    expect(await power()).toContain('"node1":"0","node2":"0","node3":"0","node4":"0"')
    for (const s of [1, 2, 3])
      expect(JSON.parse(await readFile(join(talosDir(s), 'state.json'), 'utf8')).config).toBeUndefined()
    await expect(stat(join(talosDir(1), 'etcd'))).rejects.toMatchObject({ code: 'ENOENT' })
    await expect(stat(join(setup.stateDir, NAME))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(lab.results.artifacts().map((a) => a.name)).toEqual(
      expect.arrayContaining([`${NAME}-backup`, `${NAME}-kubeconfig`])
    )
  }, 300_000)
})
