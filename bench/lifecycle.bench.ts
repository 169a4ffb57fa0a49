// Backup and restore of examples/k3s-cluster.yaml made HA (three servers with embedded etcd, one agent;
// addons and NPU off — the lab cannot snapshot the example's single-server SQLite datastore) on the lab,
// through the shipped bundle: a whole `backup` job per round (median of 3) against a converged `deploy`
// rerun measured in the same run (the fixed cost of a job that talks to every node); the artifact's size
// against the etcd snapshot inside it (tar + age + armor overhead); one `restore` job's wall time against
// the backup's. Then the same for examples/talos-cluster.yaml's shape (one control plane with a real etcd
// member, three workers; addons off): backup (etcd snapshot, secrets bundle, machine configs), artifact size,
// restore (EPHEMERAL reset, bootstrap --recover-from, health). LIFECYCLE_KINDS=k3s|talos runs one of them.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLabAction, setupLabAction, type ActionRun } from '../lab/action.js'
import { startLab } from '../lab/lab.js'
import type { BenchResult } from './lib/result.js'
import { haK3sOverrides } from '../lab/clusters.js'

const ROUNDS = 3
const HA = haK3sOverrides()

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const must = (r: ActionRun, what: string): ActionRun => {
  if (r.code !== 0)
    throw new Error(
      `${what} failed:\n${r.log
        .split('\n')
        .filter((l) => !l.startsWith('::debug'))
        .slice(-30)
        .join('\n')}`
    )
  return r
}

export async function bench(): Promise<BenchResult[]> {
  const kinds = (process.env.LIFECYCLE_KINDS ?? 'k3s,talos').split(',')
  return [...(kinds.includes('k3s') ? await benchK3s() : []), ...(kinds.includes('talos') ? await benchTalos() : [])]
}

async function benchK3s(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-lifecycle-'))
  const lab = await startLab({ boards: 1, bootDelayMs: 100, dir })
  try {
    const setup = await setupLabAction(lab, 'examples/k3s-cluster.yaml', HA)
    must(await runLabAction(lab, setup, { command: 'deploy' }), 'deploy')
    const rerun: number[] = []
    const backup: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      rerun.push(must(await runLabAction(lab, setup, { command: 'deploy' }), 'deploy rerun').ms)
      backup.push(must(await runLabAction(lab, setup, { command: 'backup' }), 'backup').ms)
    }
    const artifact = lab.results.artifacts().findLast((a) => a.name === `${setup.cluster.name}-backup`)!
    const last = must(await runLabAction(lab, setup, { command: 'backup' }), 'backup')
    const snapshotBytes = Number(/etcd\/snapshot\.db (\d+) B/.exec(last.log)?.[1] ?? NaN)
    const restore = must(
      await runLabAction(lab, setup, {
        command: 'restore',
        'backup-artifact-id': last.outputs['backup-artifact-id']!,
        'github-token': lab.results.githubToken,
        'backup-identity': setup.ageIdentity,
        confirm: setup.cluster.name
      }),
      'restore'
    )
    const backupMs = median(backup)
    const rerunMs = median(rerun)
    const note =
      'lab, dist bundle, examples/k3s-cluster.yaml made HA (3 servers with real etcd 3.4 members, 1 agent; addons and NPU off)'
    return [
      {
        name: 'backup-k3s-ha-4-nodes',
        figure: backupMs / 1000,
        unit: 's',
        baseline: { name: 'k3s-converged-deploy-rerun-4-nodes', figure: rerunMs / 1000 },
        ratio: backupMs / rerunMs,
        target: '<= a converged deploy rerun',
        notes: `${note}: a whole backup job per round, median of ${ROUNDS}; rounds ${JSON.stringify(backup.map(Math.round))} ms, reruns ${JSON.stringify(rerun.map(Math.round))} ms`
      },
      {
        name: 'backup-artifact-size-k3s-ha',
        figure: artifact.bytes.length,
        unit: 'bytes',
        baseline: { name: 'etcd-snapshot-bytes', figure: snapshotBytes },
        ratio: artifact.bytes.length / snapshotBytes,
        target: '<= 2 (armor is 4/3 of the ciphertext)',
        notes: `${note}: the uploaded zip holding backup.tar.age (manifest, token, etcd snapshot; tar, age, ASCII armor)`
      },
      {
        name: 'restore-k3s-ha-4-nodes',
        figure: restore.ms / 1000,
        unit: 's',
        baseline: { name: 'backup-k3s-ha-4-nodes', figure: backupMs / 1000 },
        ratio: restore.ms / backupMs,
        notes: `${note}: one restore job (the artifact downloaded by id, checks, 3 servers stopped, cluster-reset, 2 servers rejoin one by one, agent restarted, every node Ready)`
      }
    ]
  } finally {
    await lab.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const TALOS_SHAPE = {
  addons: { metallb: false, traefik: false, longhorn: false, prometheus: false },
  longhorn_enabled: false
}

async function benchTalos(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-lifecycle-talos-'))
  const lab = await startLab({ boards: 1, bootDelayMs: 100, dir })
  try {
    const setup = await setupLabAction(lab, 'examples/talos-cluster.yaml', TALOS_SHAPE)
    must(await runLabAction(lab, setup, { command: 'deploy' }), 'deploy')
    const rerun: number[] = []
    const backup: number[] = []
    let last: ActionRun | undefined
    for (let i = 0; i < ROUNDS; i++) {
      rerun.push(must(await runLabAction(lab, setup, { command: 'deploy' }), 'deploy rerun').ms)
      last = must(await runLabAction(lab, setup, { command: 'backup' }), 'backup')
      backup.push(last.ms)
    }
    const snapshotBytes = Number(/etcd snapshot, (\d+) bytes/.exec(last!.log)?.[1] ?? NaN)
    const artifact = lab.results.artifacts().findLast((a) => a.name === `${setup.cluster.name}-backup`)!
    const { execFile } = await import('node:child_process')
    const { promisify } = await import('node:util')
    const { writeFile } = await import('node:fs/promises')
    await writeFile(join(dir, 'artifact.zip'), artifact.bytes)
    await promisify(execFile)('unzip', ['-o', '-q', join(dir, 'artifact.zip'), '-d', dir])
    const restore = must(
      await runLabAction(lab, setup, {
        command: 'restore',
        backup: join(dir, 'backup.tar.age'),
        'backup-identity': setup.ageIdentity,
        confirm: setup.cluster.name
      }),
      'restore'
    )
    const backupMs = median(backup)
    const rerunMs = median(rerun)
    const note =
      'lab, dist bundle, examples/talos-cluster.yaml shape (1 control plane with a real etcd 3.4 member, 3 workers; addons off)'
    return [
      {
        name: 'backup-talos-4-nodes',
        figure: backupMs / 1000,
        unit: 's',
        baseline: { name: 'talos-converged-deploy-rerun-4-nodes', figure: rerunMs / 1000 },
        ratio: backupMs / rerunMs,
        target: '<= a converged deploy rerun',
        notes: `${note}: a whole backup job per round (etcd snapshot, secrets bundle, 4 rendered machine configs), median of ${ROUNDS}; rounds ${JSON.stringify(backup.map(Math.round))} ms, reruns ${JSON.stringify(rerun.map(Math.round))} ms`
      },
      {
        name: 'backup-artifact-size-talos',
        figure: artifact.bytes.length,
        unit: 'bytes',
        baseline: { name: 'etcd-snapshot-bytes', figure: snapshotBytes },
        ratio: artifact.bytes.length / snapshotBytes,
        notes: `${note}: the uploaded zip holding backup.tar.age (manifest, etcd snapshot, secrets bundle, 4 machine configs; tar, age, ASCII armor)`
      },
      {
        name: 'restore-talos-4-nodes',
        figure: restore.ms / 1000,
        unit: 's',
        baseline: { name: 'backup-talos-4-nodes', figure: backupMs / 1000 },
        ratio: restore.ms / backupMs,
        notes: `${note}: one restore job (checks, EPHEMERAL reset and reboot of the control plane, etcd Preparing, bootstrap --recover-from, talosctl health)`
      }
    ]
  } finally {
    await lab.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
