// Backup, restore and destroy of an HA K3s cluster through the shipped bundle (dist/) on lab board 16
// (127.10.16.x; no other test file starts nodes there): examples/k3s-cluster.yaml with three servers
// (embedded etcd: real etcd members in the lab) and one agent, addons and NPU off. In order:
//   1. a ConfigMap is written with the runner's kubectl, then `command: backup` uploads <cluster>-backup,
//      which a user opens with the real `age -d` and `tar`;
//   2. the ConfigMap is deleted (the loss a restore is for);
//   3. restore is refused, before any node is touched, for a wrong confirm, a part changed after the
//      backup, a backup without its token, another cluster's backup, an artifact id that does not exist,
//      and another run's artifact without a token;
//   4. restore by the backup's artifact id (downloaded by the action from the backup's run, through the
//      REST API with the job's token) brings the ConfigMap back, all servers members again, all nodes Ready;
//   4b. a lost board: every node reflashed by a deploy (reflash + confirm) is a new, empty cluster; the
//      same restore brings the ConfigMap back onto it, every node Ready;
//   5. scale down: the agent dropped from the file shows in plan as remove, is only warned about without
//      confirm, and with confirm is drained, removed and powered off; dropping two of three servers is
//      refused before any change;
//   6. destroy without confirm is refused; with it every slot is off and the state is gone, the artifacts stay.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { runLabAction, type ActionRun, type LabActionSetup } from '../../lab/action.js'
import { memberList } from '../../lab/etcd/index.mjs'
import { startLab, type Lab } from '../../lab/lab.js'
import { unpackTar } from '../../src/core/lifecycle/backup/tar.js'
import { bmcApi, onBoard } from './helpers-drift.js'
import { k3sStarts } from './helpers-k3s.js'
import { backupFile as downloadedBackup, editManifest, forgedBackup, labKubectl } from './helpers-lifecycle.js'
import { haK3sOverrides } from '../../lab/clusters.js'

const run = promisify(execFile)
const B = 16
const FILE = 'examples/k3s-cluster.yaml'
const SLOTS = [1, 2, 3, 4]
const HA = haK3sOverrides()

let lab: Lab
let setup: LabActionSetup
let deployRun: ActionRun
let backupRun: ActionRun
let work: string
/** The decrypted tar of the backup, as `age -d` wrote it. */
let tar: Buffer
let recipient: string

const kubectl = (args: string[], stdin?: string): Promise<string> => labKubectl(lab, setup, work)(args, stdin)
const configMap = async (): Promise<string> =>
  kubectl(['get', 'configmap', 'drill', '-n', 'default', '-o', 'json', '--ignore-not-found'])

/** The backup artifact's ciphertext as a user downloads it (unzip of the artifact). */
const backupFile = (): Promise<string> => downloadedBackup(lab, work, 'production')

/** A forged bundle: the real one's files changed by `edit`, encrypted to the same recipient (a public key). */
const forged = (name: string, edit: (files: Map<string, Buffer>) => void): Promise<string> =>
  forgedBackup(tar, recipient, join(work, `${name}.tar.age`), edit)
const starts = (): Promise<number[]> => Promise.all(SLOTS.map((s) => k3sStarts(lab, B, s)))
const restore = (file: string, confirm = 'production'): Promise<ActionRun> =>
  runLabAction(lab, setup, { command: 'restore', backup: file, 'backup-identity': setup.ageIdentity, confirm })
/** Restore as the template does: the artifact id, the job's token (another run's artifact), the identity. */
const restoreById = (id: string, inputs: Record<string, string> = { 'github-token': lab.results.githubToken }) =>
  runLabAction(lab, setup, {
    command: 'restore',
    'backup-artifact-id': id,
    'backup-identity': setup.ageIdentity,
    confirm: 'production',
    ...inputs
  })
const backupId = (): string => backupRun.outputs['backup-artifact-id']!
/** Every node's Ready condition, in the API's order. */
async function readiness(): Promise<(string | undefined)[]> {
  const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
    items: { status: { conditions: { type: string; status: string }[] } }[]
  }
  return nodes.items.map((n) => n.status.conditions.find((c) => c.type === 'Ready')?.status)
}

beforeAll(async () => {
  lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  work = await mkdtemp(join(lab.dir, 'lifecycle-'))
  setup = await onBoard(lab, FILE, B, HA)
  recipient = setup.inputs['artifact-recipients']!
  deployRun = await runLabAction(lab, setup, { command: 'deploy' })
  if (deployRun.code !== 0) throw new Error(`deploy failed:\n${deployRun.log.slice(-3000)}`)
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
  test("uploads <cluster>-backup and names it in the outputs with each part's sha256", () => {
    expect({ code: backupRun.code, tail: backupRun.code ? backupRun.log.slice(-2000) : '' }).toEqual({
      code: 0,
      tail: ''
    })
    expect(backupRun.outputs['backup-artifact']).toBe('production-backup')
    expect(backupRun.outputs['backup-artifact-id']).toMatch(/^\d+$/)
    expect(Object.keys(JSON.parse(backupRun.outputs['backup-sha256']!))).toEqual(['k3s/token', 'etcd/snapshot.db'])
  })

  test('decrypts with the real age CLI into a tar whose manifest names the cluster, versions, nodes and digests', async () => {
    const file = await backupFile()
    await writeFile(join(work, 'key.txt'), setup.ageIdentity + '\n', { mode: 0o600 })
    await run('age', ['-d', '-i', join(work, 'key.txt'), '-o', join(work, 'backup.tar'), file])
    tar = await readFile(join(work, 'backup.tar'))
    const { stdout } = await run('tar', ['-tf', join(work, 'backup.tar')])
    expect(stdout).toBe('manifest.json\nk3s/token\netcd/snapshot.db\n')
    const files = unpackTar(tar)
    const manifest = JSON.parse(files.get('manifest.json')!.toString())
    expect(manifest).toMatchObject({
      format: 'turingpi-cluster-backup/1',
      cluster: 'production',
      kind: 'k3s',
      datastore: 'etcd',
      name: 'production-' + manifest.name.split('-').pop(),
      versions: { k3s: 'v1.31.3+k3s1' }
    })
    expect(manifest.nodes.map((n: { id: string }) => n.id)).toEqual(['k3s-cp1', 'k3s-cp2', 'k3s-cp3', 'k3s-w1'])
    for (const p of manifest.parts) expect(createHash('sha256').update(files.get(p.path)!).digest('hex')).toBe(p.sha256)
    expect(JSON.parse(backupRun.outputs['backup-sha256']!)['etcd/snapshot.db']).toBe(
      manifest.parts.find((p: { kind: string }) => p.kind === 'etcd-snapshot').sha256
    )
    // The token in the bundle is the server's; the log names it only in the runner's ::add-mask:: command.
    const token = files.get('k3s/token')!.toString().trim()
    expect(token).toMatch(/^K10[0-9a-f]+::server:/)
    const shown = backupRun.log
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n')
    expect(shown).not.toContain(token.split('::server:')[1])
  })

  test("leaves no snapshot on the node and no plaintext under the job's temp dir", async () => {
    const { stdout } = await run('find', [
      join(lab.node(B, 1).rootDir, 'var/lib/rancher/k3s/server/db/snapshots'),
      '-type',
      'f'
    ])
    expect(stdout).toBe('')
    await expect(stat(join(backupRun.runnerTemp, 'turingpi-cluster'))).rejects.toMatchObject({ code: 'ENOENT' })
  })
})

describe('2-4. restore', () => {
  let before: number[]
  beforeAll(async () => {
    await kubectl(['delete', 'configmap', 'drill', '-n', 'default'])
    before = await starts()
  }, 150_000)

  test('is refused for a wrong confirm, a changed part, a missing token, another cluster, an unknown artifact id and no token for another run, before any change', async () => {
    const file = await backupFile()
    const cases: [string, Promise<ActionRun>, RegExp][] = [
      [
        'confirm',
        restore(file, 'prod'),
        /confirm is "prod"; a restore replaces the cluster's datastore, so set confirm to the cluster name "production"/
      ],
      [
        'digest',
        restore(
          await forged('tampered', (f) => {
            const s = f.get('etcd/snapshot.db')!
            s[s.length - 100] ^= 0xff
          })
        ),
        /part etcd\/snapshot\.db has sha256 [0-9a-f]{64} \(\d+ bytes\), the manifest says [0-9a-f]{64} \(\d+ bytes\): it was changed after the backup/
      ],
      [
        'token',
        restore(
          await forged('no-token', (f) => {
            f.delete('k3s/token')
            editManifest(f, (m) => {
              m.parts = m.parts.filter((p) => p.kind !== 'k3s-token')
            })
          })
        ),
        /the backup has no K3s server token/
      ],
      [
        'cluster',
        restore(
          await forged('other', (f) =>
            editManifest(f, (m) => {
              m.cluster = 'staging'
            })
          )
        ),
        /the backup is of cluster "staging", the cluster file is "production"/
      ],
      [
        'artifact id',
        restoreById(String(Number(backupId()) + 1000)),
        /backup artifact \d+ cannot be downloaded from lab\/cluster \(.*Not Found.*\); is it the id of a backup artifact of this repository, and not expired\?/
      ],
      [
        'github-token',
        restoreById(backupId(), {}),
        /backup artifact \d+ cannot be downloaded \(.*\); an artifact of another workflow run needs github-token \(actions: read\)/
      ]
    ]
    for (const [what, pending, message] of cases) {
      const r = await pending
      expect([what, r.code]).toEqual([what, 1])
      expect([what, r.log]).toEqual([what, expect.stringMatching(/restore refused before any change/)])
      expect([what, message.test(r.log)]).toEqual([what, true])
    }
    expect(await starts()).toEqual(before)
    expect(await configMap()).toBe('')
  }, 300_000)

  test("by the backup's artifact id brings the ConfigMap back, every server an etcd member again, every node Ready", async () => {
    const r = await restoreById(backupId())
    expect({ code: r.code, tail: r.code ? r.log.slice(-3000) : '' }).toEqual({ code: 0, tail: '' })
    expect(r.log).toContain(`backup artifact ${backupId()}: downloaded backup.tar.age`)
    expect(r.log).toMatch(/k3s-cp1: cluster-reset from the production-\d+ snapshot, started/)
    expect(r.log).toContain('k3s-cp2: datastore cleared, rejoined')
    expect(r.log).toContain('k3s-w1: k3s-agent restarted')
    // No node was flashed since the backup: no node-password Secret to delete.
    expect(r.log).not.toContain('node-password Secrets of')
    expect(r.log).toContain('kubeconfig of the restored cluster published again')
    expect(JSON.parse(await configMap()).data).toEqual({ value: 'kept' })
    const members = await memberList(`http://${lab.node(B, 1).host}:2379`)
    expect(members.map((m) => m.name).sort()).toEqual(['k3s-cp1', 'k3s-cp2', 'k3s-cp3'])
    expect(await readiness()).toEqual(['True', 'True', 'True', 'True'])
    console.log(`restore wall time: ${Math.round(r.ms)} ms`)
  }, 450_000)
})

describe('4b. restore onto freshly flashed nodes (a lost board)', () => {
  test('after a deploy that reflashes every node, the same backup brings the ConfigMap back, every node Ready', async () => {
    const flashed = await runLabAction(lab, setup, { command: 'deploy', reflash: 'true', confirm: 'production' })
    expect({ code: flashed.code, tail: flashed.code ? flashed.log.slice(-3000) : '' }).toEqual({ code: 0, tail: '' })
    // A new cluster on blank eMMCs: a new datastore without the ConfigMap.
    expect(await configMap()).toBe('')
    const r = await restoreById(backupId())
    expect({ code: r.code, tail: r.code ? r.log.slice(-3000) : '' }).toEqual({ code: 0, tail: '' })
    // Every node was flashed after the backup: the restored Secrets hold the old install's node passwords.
    expect(r.log).toContain(
      'k3s-cp1: node-password Secrets of k3s-cp1, k3s-cp2, k3s-cp3, k3s-w1 (flashed after the backup) deleted'
    )
    // The restored datastore brings the backup's CA: the kubeconfig the reflashing deploy uploaded is stale.
    expect(r.log).toMatch(/artifact production-kubeconfig: kubeconfig\.age/)
    expect(r.log).toContain('kubeconfig of the restored cluster published again')
    expect(JSON.parse(await configMap()).data).toEqual({ value: 'kept' })
    expect((await memberList(`http://${lab.node(B, 1).host}:2379`)).map((m) => m.name).sort()).toEqual([
      'k3s-cp1',
      'k3s-cp2',
      'k3s-cp3'
    ])
    expect(await readiness()).toEqual(['True', 'True', 'True', 'True'])
    console.log(`reflash deploy: ${Math.round(flashed.ms)} ms, restore onto it: ${Math.round(r.ms)} ms`)
  }, 420_000)
})

describe('5. scale down', () => {
  let noAgent: string
  beforeAll(async () => {
    noAgent = (await onBoard(lab, FILE, B, { ...HA, workers: [] })).configPath
  })

  test('the agent dropped from the file shows in plan as remove, and a deploy without confirm only warns', async () => {
    const plan = await runLabAction(lab, setup, { command: 'plan', config: noAgent })
    expect(plan.code).toBe(0)
    expect(JSON.parse(plan.outputs.plan!).filter((s: { action: string }) => s.action === 'remove')).toEqual([
      {
        phase: 'join',
        node: 'k3s-w1',
        action: 'remove',
        reason: expect.stringMatching(
          /^no longer in the cluster file: a deploy with confirm: production drains it, removes it from the cluster and powers it off \(board \S+, slot 4\)$/
        )
      }
    ])
    const r = await runLabAction(lab, setup, { command: 'deploy', config: noAgent })
    expect(r.code).toBe(0)
    expect(r.log).toContain(
      'k3s-w1 is no longer in the cluster file; it stays in the cluster and powered until a deploy with confirm: production removes it'
    )
    expect(await bmcApi(lab.boards[B]!.bmc, 'opt=get&type=power')).toContain('"node4":"1"')
  }, 300_000)

  test('with confirm it is drained, removed from the cluster, powered off and forgotten', async () => {
    const r = await runLabAction(lab, setup, { command: 'deploy', config: noAgent, confirm: 'production' })
    expect({ code: r.code, tail: r.code ? r.log.slice(-3000) : '' }).toEqual({ code: 0, tail: '' })
    expect(r.log).toContain('k3s-w1: cordoned and drained')
    expect(r.log).toContain('k3s-w1: Node and node-password secret deleted')
    expect(r.log).toMatch(/k3s-w1: powered off \(board \S+, slot 4\)/)
    expect(await bmcApi(lab.boards[B]!.bmc, 'opt=get&type=power')).toContain(
      '"node1":"1","node2":"1","node3":"1","node4":"0"'
    )
    const nodes = JSON.parse(await kubectl(['get', 'nodes', '-o', 'json'])) as {
      items: { metadata: { name: string } }[]
    }
    expect(nodes.items.map((n) => n.metadata.name)).toEqual(['k3s-cp1', 'k3s-cp2', 'k3s-cp3'])
    expect(
      await kubectl(['get', 'secret', 'k3s-w1.node-password.k3s', '-n', 'kube-system', '--ignore-not-found'])
    ).toBe('')
    const state = JSON.parse(await readFile(join(setup.stateDir, 'production', 'state.json'), 'utf8'))
    expect(Object.keys(state.nodes).sort()).toEqual(['k3s-cp1', 'k3s-cp2', 'k3s-cp3'])
    const again = await runLabAction(lab, setup, { command: 'plan', config: noAgent })
    expect(JSON.parse(again.outputs.plan!).filter((s: { action: string }) => s.action === 'remove')).toEqual([])
  }, 450_000)

  test('dropping two of three servers is refused before any change', async () => {
    const one = (await onBoard(lab, FILE, B, { ...HA, control_plane: HA.control_plane[0], workers: [] })).configPath
    const plan = await runLabAction(lab, setup, { command: 'plan', config: one })
    expect(
      JSON.parse(plan.outputs.plan!)
        .filter((s: { action: string }) => s.action === 'blocked')
        .map((s: { node: string }) => s.node)
    ).toEqual(['k3s-cp2', 'k3s-cp3'])
    const before = await starts()
    const r = await runLabAction(lab, setup, { command: 'deploy', config: one, confirm: 'production' })
    expect(r.code).toBe(1)
    expect(r.log).toContain(
      'removal refused before any change: removing k3s-cp2, k3s-cp3 leaves 1 of 3 etcd members, fewer than the 2 a quorum needs'
    )
    expect(await starts()).toEqual(before)
    expect(await bmcApi(lab.boards[B]!.bmc, 'opt=get&type=power')).toContain('"node1":"1","node2":"1","node3":"1"')
    expect((await memberList(`http://${lab.node(B, 1).host}:2379`)).map((m) => m.name).sort()).toEqual([
      'k3s-cp1',
      'k3s-cp2',
      'k3s-cp3'
    ])
  }, 300_000)
})

describe('6. destroy', () => {
  test('without confirm is refused and changes nothing', async () => {
    const r = await runLabAction(lab, setup, { command: 'destroy' })
    expect(r.code).toBe(1)
    expect(r.log).toContain('destroy refused before any change: confirm is not set')
    expect(await bmcApi(lab.boards[B]!.bmc, 'opt=get&type=power')).toContain('"node1":"1"')
  })

  test('powers every node off, deletes the state and keeps the artifacts', async () => {
    const r = await runLabAction(lab, setup, { command: 'destroy', confirm: 'production' })
    expect({ code: r.code, tail: r.code ? r.log.slice(-3000) : '' }).toEqual({ code: 0, tail: '' })
    for (const n of ['k3s-cp1', 'k3s-cp2', 'k3s-cp3', 'k3s-w1'])
      expect(r.log).toMatch(new RegExp(`${n}: powered off \\(board \\S+, slot \\d\\)`))
    expect(await bmcApi(lab.boards[B]!.bmc, 'opt=get&type=power')).toContain(
      '"node1":"0","node2":"0","node3":"0","node4":"0"'
    )
    await expect(stat(join(setup.stateDir, 'production'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(lab.results.artifacts().map((a) => a.name)).toEqual(
      expect.arrayContaining(['production-backup', 'production-kubeconfig'])
    )
  }, 150_000)
})
