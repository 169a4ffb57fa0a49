// A rolling K3s patch upgrade of an HA cluster (three servers, one agent: examples/k3s-cluster.yaml made
// HA, addons and NPU off) on the lab, through the shipped bundle, against the sum of its per-node floors.
// The floor of a node is what it cannot go faster than: its drain, its upgrade (binary and images pushed,
// install.sh, restart) and its wait until Ready at the new version, as the wave itself timed them
// (the job summary's upgrade table). The wall time is the upgrade phase's, from the same run's phase
// times; the difference is the wave's own cost: the before-gate, observing each node, cordon and uncordon,
// the etcd gate after each node. Target: ratio ≤ 1.2, with the API probed every 250 ms and 0 failures.
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { runLabAction, setupLabAction, type ActionRun, type LabActionSetup } from '../lab/action.js'
import { startLab, type Lab } from '../lab/lab.js'
// @ts-expect-error lab modules are plain ESM JavaScript
import { readState } from '../lab/kube/store.mjs'
import { probeReadyz } from '../lab/upgrade/api-probe.js'
import type { BenchResult } from './lib/result.js'
import { haK3sOverrides } from '../lab/clusters.js'

const B = 19
const HA = haK3sOverrides({ agentNvme: true })
const VERSIONS = ['v1.31.3+k3s1', 'v1.31.4+k3s1', 'v1.31.5+k3s1', 'v1.31.6+k3s1']

/** setupLabAction, with the single-board cluster moved to lab board `board` (test/e2e's onBoard, without jest). */
async function onBoard(
  lab: Lab,
  file: string,
  board: number,
  overrides: Record<string, unknown>
): Promise<LabActionSetup> {
  const setup = await setupLabAction(lab, file, overrides)
  lab.mapBmc(setup.cluster.boardList[0]!.bmc.endpoint, board)
  for (const n of setup.cluster.nodes) lab.reserve(board, n.slot, n.ip)
  return setup
}

const fail = (what: string, r: ActionRun): never => {
  throw new Error(`${what} failed (exit ${r.code}):\n${r.log.split('\n').slice(-30).join('\n')}`)
}

/** Seconds of a cell like "1.3 s". */
const sec = (cell: string): number => Number(cell.replace(/ s$/, '')) || 0

function upgradeRows(summary: string): { node: string; drain: number; upgrade: number; ready: number }[] {
  return [
    ...summary.matchAll(
      /<tr><td>(k3s-\w+)<\/td><td>v[^<]+<\/td><td>v[^<]+<\/td><td>upgraded<\/td><td>([^<]+)<\/td><td>([^<]+)<\/td><td>([^<]+)<\/td><td>([^<]+)<\/td>/g
    )
  ].map((m) => ({
    node: m[1]!,
    drain: sec(m[3]!),
    upgrade: sec(m[4]!),
    ready: sec(m[5]!)
  }))
}

function phaseSeconds(summary: string, phase: string): number {
  const m = new RegExp(`<tr><td>${phase}</td><td>([\\d.]+)`).exec(summary)
  if (!m) throw new Error(`no ${phase} row in the phase times`)
  return Number(m[1])
}

export async function bench(): Promise<BenchResult[]> {
  const lab = await startLab({ boards: B + 1, bootDelayMs: 100 })
  try {
    const setup = await onBoard(lab, 'examples/k3s-cluster.yaml', B, HA)
    const first = await runLabAction(lab, setup, { command: 'deploy' })
    if (first.code) fail('deploy', first)
    const token = (readState(join(lab.dir, 'share', 'k3s', '10.10.88.73.kube')) as { token: string }).token
    const to = lab.net.map('10.10.88.73', 6443)
    const rounds: { wall: number; floor: number; probes: number; failed: number; errors: string[] }[] = []
    for (const version of VERSIONS.slice(1)) {
      const other = await onBoard(lab, 'examples/k3s-cluster.yaml', B, { ...HA, k3s_version: version })
      const merged = {
        ...JSON.parse(await readFile(setup.catalogPath, 'utf8')),
        ...JSON.parse(await readFile(other.catalogPath, 'utf8'))
      }
      await writeFile(setup.catalogPath, JSON.stringify(merged))
      const probe = probeReadyz(to, token)
      const t0 = Date.now()
      const stamped: string[] = []
      const r = await runLabAction(lab, setup, { command: 'deploy', config: other.configPath }, (chunk) => {
        if (process.env.BENCH_DUMP)
          for (const line of chunk.split('\n')) if (line) stamped.push(`${Date.now() - t0} ${line}`)
      })
      if (process.env.BENCH_DUMP)
        await writeFile(`${process.env.BENCH_DUMP}-${version}.txt`, stamped.join('\n') + '\n\n' + r.summary)
      const tally = await probe.stop()
      if (r.code) fail(`upgrade to ${version}`, r)
      const rows = upgradeRows(r.summary)
      if (rows.length !== 4) throw new Error(`expected 4 upgraded nodes in the summary, found ${rows.length}`)
      const floor = rows.reduce((a, n) => a + n.drain + n.upgrade + n.ready, 0)
      rounds.push({
        wall: phaseSeconds(r.summary, 'upgrade'),
        floor,
        probes: tally.ok + tally.failed,
        failed: tally.failed,
        errors: tally.errors
      })
    }
    const sorted = [...rounds].sort((a, b) => a.wall / a.floor - b.wall / b.floor)
    const median = sorted[Math.floor(sorted.length / 2)]!
    const failed = rounds.reduce((a, r) => a + r.failed, 0)
    const probes = rounds.reduce((a, r) => a + r.probes, 0)
    return [
      {
        name: 'upgrade-k3s-ha-vs-floor',
        figure: Math.round(median.wall * 1000),
        unit: 'ms',
        baseline: {
          name: 'Σ per-node floors (drain + upgrade + Ready at the new version)',
          figure: Math.round(median.floor * 1000)
        },
        ratio: median.wall / median.floor,
        target: 'ratio <= 1.2; failed API probes 0',
        notes: `median of ${rounds.length} patch upgrades (${rounds.map((r) => `${r.wall.toFixed(1)}/${r.floor.toFixed(1)} s`).join(', ')} wall/floor) of 3 servers + 1 agent on the lab through dist/; API probed every 250 ms: ${probes} probes, ${failed} failed. Floors are the wave's own step times; the lab's restart is near-instant and its API (served by the lab, not by k3s) stays up through the first server's restart, so the probes show the wave never took the API down, not a real endpoint's behaviour. Since 1.247 (2026-12-07): one get-nodes read serves each gate (the share window counted from the answer), the next node is looked at while the last is uncordoned (its drain still waits), the first read starts while the nodes' versions are still being observed, and the lab's quorum check is one linearizable etcdctl read instead of a health call and a read.`
      },
      {
        name: 'upgrade-k3s-ha-failed-probes',
        figure: failed,
        unit: 'failed probes',
        notes: `${probes} probes every 250 ms during ${rounds.length} HA upgrades${
          failed
            ? `; failures: ${rounds
                .flatMap((r) => r.errors)
                .slice(0, 5)
                .join(' | ')}`
            : ''
        }`
      }
    ]
  } finally {
    await lab.stop()
  }
}
