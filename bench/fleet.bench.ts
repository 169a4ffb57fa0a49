// Fleet drift: one `drift` job over a folder of 4 cluster files (each K3s cluster spread over 2 boards,
// 2 nodes per board: 8 boards, 16 nodes) against the same job over a folder holding 1 of them (2 boards,
// 4 nodes), on one lab, through the shipped bundle. The clusters of a fleet are checked at once, so 4
// should cost about what 1 does, not four times as much (target: ratio <= 2). Both folders are timed
// in the same run, alternating, after one deploy of every cluster.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { runLabAction, setupLabAction, type ActionRun, type LabActionSetup } from '../lab/action.js'
import { startLab, type Lab } from '../lab/lab.js'
import type { BenchResult } from './lib/result.js'

const CLUSTERS = 4
const BOARDS = 2
const ROUNDS = 3

/** Cluster i: boards b0/b1 with BMCs 10.10.(90+i).(70+b); slot s of board b is 10.10.(90+i).(100+4b+s). */
export function fleetBenchCluster(i: number): string {
  const net = `10.10.${90 + i}`
  const ip = (b: number, s: number) => `${net}.${100 + 4 * b + s}`
  const lines = [
    'kind: k3s',
    `name: fleet-${i}`,
    'boards:',
    ...Array.from(
      { length: BOARDS },
      (_, b) => `  - { name: f${i}-b${b}, bmc: { endpoint: "https://${net}.${70 + b}", tls: { fingerprint: "00" } } }`
    ),
    'armbian_image: { source: url, url: https://dl.armbian.com/turing-rk1/Bookworm_vendor_minimal }',
    `network: { prefix: 24, gateway: ${net}.1 }`,
    `control_plane: { board: f${i}-b0, node: 1, ip: ${ip(0, 1)}, hostname: f${i}-cp }`,
    'workers:',
    `  - { board: f${i}-b0, node: 2, ip: ${ip(0, 2)}, hostname: f${i}-w0 }`,
    ...Array.from({ length: BOARDS - 1 }, (_, k) =>
      [1, 2].map(
        (s) => `  - { board: f${i}-b${k + 1}, node: ${s}, ip: ${ip(k + 1, s)}, hostname: f${i}-w${k + 1}-${s} }`
      )
    ).flat(),
    'k3s_version: v1.31.3+k3s1',
    'addons: { metallb: false, traefik: false, longhorn: false, prometheus: false }',
    'npu_config: { install_rknn: false, install_rkllm: false, deploy_rkllama: false }',
    ''
  ]
  return lines.join('\n')
}

const tail = (r: ActionRun): string =>
  r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
    .slice(-30)
    .join('\n')
/** The same, split: this process (the lab: BMCs, node SSH servers) and its children (action, shells, stand-ins). */
function cpuSplit(): { lab: number; children: number } {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ').map(Number)
  return { lab: (f[11]! + f[12]!) * 10, children: (f[13]! + f[14]!) * 10 }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

async function prepare(lab: Lab, dir: string): Promise<LabActionSetup[]> {
  const setups: LabActionSetup[] = []
  for (let i = 0; i < CLUSTERS; i++) {
    const file = join(dir, `fleet-${i}.source.yaml`)
    await writeFile(file, fleetBenchCluster(i))
    const own = await setupLabAction(lab, file)
    const first = setups[0]
    const setup = first
      ? {
          ...own,
          inputs: {
            ...own.inputs,
            'ssh-private-key': first.inputs['ssh-private-key']!,
            'artifact-recipients': first.inputs['artifact-recipients']!
          }
        }
      : own
    // Cluster i's boards are lab boards 2i and 2i+1.
    own.cluster.boardList.forEach((b, k) => lab.mapBmc(b.bmc.endpoint, BOARDS * i + k))
    const index = new Map(own.cluster.boardList.map((b, k) => [b.name, BOARDS * i + k]))
    for (const n of own.cluster.nodes) lab.reserve(index.get(n.board)!, n.slot, n.ip)
    setups.push(setup)
  }
  return setups
}

export async function bench(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-bench-'))
  const lab = await startLab({ boards: CLUSTERS * BOARDS, bootDelayMs: 100 })
  try {
    const setups = await prepare(lab, dir)
    // One after another, as one self-hosted runner takes matrix jobs (two jobs filling one tool cache at
    // once can collide; see the report of issue 18).
    const deploys: ActionRun[] = []
    for (const [i, s] of setups.entries()) {
      const d = await runLabAction(lab, s, { command: 'deploy' })
      if (d.code !== 0) throw new Error(`deploy of fleet-${i} failed (exit ${d.code}):\n${tail(d)}`)
      deploys.push(d)
    }
    for (const [name, count] of [
      ['one', 1],
      ['four', CLUSTERS]
    ] as const) {
      await mkdir(join(dir, name))
      for (let i = 0; i < count; i++) await copyFile(setups[i]!.configPath, join(dir, name, `fleet-${i}.yaml`))
    }
    const times: Record<'one' | 'four', number[]> = { one: [], four: [] }
    const cpu: Record<'one' | 'four', number[]> = { one: [], four: [] }
    const labCpu: Record<'one' | 'four', number[]> = { one: [], four: [] }
    const notInSync: string[] = []
    for (let round = 0; round < ROUNDS; round++)
      for (const name of ['one', 'four'] as const) {
        // A folder of one file is that one cluster's ordinary drift job (drift output); four, the fleet's (fleet output).
        const before = cpuSplit()
        const r = await runLabAction(lab, setups[0]!, { command: 'drift', config: join(dir, name) })
        const after = cpuSplit()
        cpu[name].push(after.lab + after.children - before.lab - before.children)
        labCpu[name].push(after.lab - before.lab)
        const rows =
          r.outputs.fleet ??
          (r.outputs.drift === undefined
            ? undefined
            : JSON.stringify([{ name: 'fleet-0', status: r.outputs.drift === '[]' ? 'in-sync' : r.outputs.drift }]))
        if (rows === undefined) throw new Error(`fleet drift (${name}) set no output (exit ${r.code}):\n${tail(r)}`)
        const off = (JSON.parse(rows) as { name: string; status: string }[]).filter((c) => c.status !== 'in-sync')
        if (off.length)
          notInSync.push(`${name} round ${round + 1}: ${off.map((c) => `${c.name} ${c.status}`).join(', ')}`)
        times[name].push(r.ms)
      }
    const r0 = (x: number) => Math.round(x)
    return [
      {
        name: 'fleet-drift-4x2-vs-1x2',
        figure: r0(median(times.four)),
        unit: 'ms',
        baseline: { name: 'fleet-drift-1x2', figure: r0(median(times.one)) },
        ratio: median(times.four) / median(times.one),
        target: 'ratio <= 2 (the clusters of a fleet drift-checked at once)',
        notes:
          `lab, dist bundle: one \`drift\` job (main + post) with config = a folder of ${CLUSTERS} cluster files vs a folder of 1, median of ${ROUNDS}, alternating; ` +
          `K3s clusters of ${BOARDS} boards x 2 nodes each (${CLUSTERS * BOARDS} boards, ${CLUSTERS * BOARDS * 2} nodes in all), no addons, no NPU; ` +
          `rounds 1 cluster [${times.one.map(r0).join(', ')}] ms, ${CLUSTERS} clusters [${times.four.map(r0).join(', ')}] ms; ` +
          `CPU per round (lab + action + stand-ins) 1 cluster [${cpu.one.join(', ')}] ms, ${CLUSTERS} clusters [${cpu.four.join(', ')}] ms, so the ${CLUSTERS}-cluster floor on ${cpus().length} cores is ${r0(median(cpu.four) / cpus().length)} ms; ` +
          `per cluster ${r0((median(cpu.four) - median(cpu.one)) / (CLUSTERS - 1))} ms of CPU (medians: (4 clusters - 1 cluster) / ${CLUSTERS - 1}) on top of ${r0(median(cpu.one) - (median(cpu.four) - median(cpu.one)) / (CLUSTERS - 1))} ms per job (its two node processes, bundle load, post step); ` +
          `of that the lab process (BMC emulators, simulated nodes' SSH) 1 cluster [${labCpu.one.join(', ')}] ms, ${CLUSTERS} clusters [${labCpu.four.join(', ')}] ms; load average at the end ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}; ` +
          `deploys (one after another) ${deploys.map((d) => r0(d.ms)).join(' / ')} ms` +
          (notInSync.length ? `; not in sync: ${notInSync.join(' | ')}` : '')
      }
    ]
  } finally {
    await lab.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
