// Drift of 8 boards × 4 nodes against 1 board × 4 nodes, on the lab, through the shipped bundle (a new
// `drift` job each round, as a schedule runs it): emulated BMCs over HTTPS, simulated Talos nodes, the
// talosctl/helm/kubectl stand-ins. Boards, nodes and modules are observed in parallel, so the big cluster
// should cost about what the small one does, not eight times as much (target: ratio ≤ 2). talosctl calls
// run in the lab process (lab/talos/lib/serve.mjs), as cheap to start as the real binary, so the figure is
// the action's parallelism, not this machine starting 130 node processes.
//
// The two clusters are the same Talos file shape as examples/talos-cluster.yaml (one control plane,
// the rest workers with NVMe, the example's addons), generated for 1 and for 8 boards. Each is deployed
// once on its own lab, checked to be in sync, then timed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { runLabAction, setupLabAction, type ActionRun } from '../lab/action.js'
import { startLab } from '../lab/lab.js'
import type { BenchResult } from './lib/result.js'

const ROUNDS = 3
const BIG = 8

/** A Talos cluster file over `boards` boards, 4 slots each: board b slot s is 10.10.88.(100 + 4b + s). */
export function clusterFile(boards: number): string {
  const ip = (b: number, s: number): string => `10.10.88.${100 + 4 * b + s}`
  const nodes = Array.from({ length: boards * 4 }, (_, i) => ({ b: Math.floor(i / 4), s: (i % 4) + 1 }))
  const node = ({ b, s }: { b: number; s: number }, hostname: string) => ({
    board: `tpi${b}`,
    node: s,
    ip: ip(b, s),
    hostname,
    install_disk: '/dev/mmcblk0'
  })
  const [cp, ...workers] = nodes
  return stringify({
    kind: 'talos',
    name: `drift-bench-${boards}x4`,
    endpoint: `https://${ip(0, 1)}:6443`,
    // The fingerprints are placeholders: setupLabAction pins each lab BMC's certificate in its copy.
    boards: Array.from({ length: boards }, (_, b) => ({
      name: `tpi${b}`,
      bmc: { endpoint: `https://10.10.88.${70 + b}`, tls: { fingerprint: '0'.repeat(64) } }
    })),
    talos_version: 'v1.9.0',
    image_source: 'factory',
    image_factory: {
      overlay: 'siderolabs/sbc-rockchip',
      extensions: ['siderolabs/iscsi-tools', 'siderolabs/util-linux-tools']
    },
    network: { prefix: 24, gateway: '10.10.88.1' },
    control_plane: node(cp!, 'cp'),
    workers: workers.map((n) => ({
      ...node(n, `w${n.b}-${n.s}`),
      has_nvme: true,
      nvme_device: '/dev/nvme0n1',
      nvme_mount: '/var/lib/longhorn'
    })),
    pod_cidr: '10.244.0.0/16',
    service_cidr: '10.96.0.0/12',
    metallb_ip_range: '10.10.88.80-10.10.88.89',
    longhorn_enabled: true,
    longhorn_replicas: 2,
    addons: { metallb: true, traefik: true, longhorn: true, prometheus: true },
    allow_scheduling_on_controlplane: true
  })
}

const tail = (r: ActionRun): string =>
  r.log
    .split('\n')
    .filter((l) => !l.startsWith('::debug') && !l.startsWith('::add-mask'))
    .slice(-30)
    .join('\n')

/**
 * CPU time (ms) of this process and its reaped children: the lab's servers (BMCs, Talos node APIs) run
 * here; the action and every talosctl/helm/kubectl stand-in it starts are children. On 2 cores, a round
 * can be no faster than this divided by the cores: the floor the wall time is compared with.
 */
function cpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')
  // utime, stime, cutime, cstime: fields 14-17 of stat(5), i.e. 11-14 after the comm field; USER_HZ is 100.
  return fields.slice(11, 15).reduce((sum, v) => sum + Number(v), 0) * 10
}

/** Deploys the cluster of `boards` boards on a fresh lab, then times ROUNDS drift jobs; their median. */
async function driftMs(
  boards: number
): Promise<{ median: number; all: number[]; cpu: number[]; deployMs: number; notInSync: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'drift-bench-'))
  const lab = await startLab({ boards, bootDelayMs: 100 })
  try {
    const file = join(dir, `drift-bench-${boards}x4.yaml`)
    await writeFile(file, clusterFile(boards))
    const setup = await setupLabAction(lab, file)
    const deploy = await runLabAction(lab, setup, { command: 'deploy' })
    if (deploy.code !== 0)
      throw new Error(`deploy of ${boards} board(s) failed (exit ${deploy.code}):\n${tail(deploy)}`)
    const all: number[] = []
    const cpu: number[] = []
    // A round that finds something is still a drift job's time; it is kept and named in the notes
    // (a cluster that never gets in sync fails the bench).
    const notInSync: string[] = []
    for (let i = 0; i < ROUNDS; i++) {
      const before = cpuMs()
      const r = await runLabAction(lab, setup, { command: 'drift' })
      cpu.push(cpuMs() - before)
      if (r.outputs.drift === undefined)
        throw new Error(`drift of ${boards} board(s) set no output (exit ${r.code}):\n${tail(r)}`)
      if (r.code !== 0 || r.outputs.drift !== '[]') {
        const rows = JSON.parse(r.outputs.drift) as { subject: string; field: string; found: string }[]
        notInSync.push(`round ${i + 1}: ${rows.map((f) => `${f.subject} ${f.field} ${f.found}`).join('; ')}`)
      }
      all.push(r.ms)
    }
    if (notInSync.length === ROUNDS)
      throw new Error(`bench cluster of ${boards} board(s) never in sync: ${notInSync.join(' | ')}`)
    return { median: median(all), all, cpu, deployMs: deploy.ms, notInSync }
  } finally {
    await lab.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function bench(): Promise<BenchResult[]> {
  const one = await driftMs(1)
  const eight = await driftMs(BIG)
  const r1 = (x: number): number => Math.round(x)
  const cores = cpus().length
  return [
    {
      name: 'drift-8x4-vs-1x4',
      figure: r1(eight.median),
      unit: 'ms',
      baseline: { name: 'drift-1x4', figure: r1(one.median) },
      ratio: eight.median / one.median,
      target: 'ratio <= 2 (boards, nodes and modules observed in parallel)',
      notes:
        `lab, dist bundle: one \`drift\` job (main + post step) per round, median of ${ROUNDS}; Talos clusters shaped like examples/talos-cluster.yaml, ` +
        `1 board x 4 nodes vs ${BIG} boards x 4 nodes, each in sync after one deploy; ` +
        `rounds 1x4 [${one.all.map(r1).join(', ')}] ms, ${BIG}x4 [${eight.all.map(r1).join(', ')}] ms; ` +
        `CPU per round (lab + action + stand-ins) 1x4 [${one.cpu.join(', ')}] ms, ${BIG}x4 [${eight.cpu.join(', ')}] ms, so the ${BIG}x4 floor on ${cores} cores is ${r1(median(eight.cpu) / cores)} ms; deploys ${r1(one.deployMs)} / ${r1(eight.deployMs)} ms` +
        [
          ...one.notInSync.map((n) => `; 1x4 not in sync ${n}`),
          ...eight.notInSync.map((n) => `; ${BIG}x4 not in sync ${n}`)
        ].join('')
    },
    {
      name: 'drift-8x4-cpu-vs-1x4',
      figure: median(eight.cpu),
      unit: 'ms CPU',
      baseline: { name: 'drift-1x4-cpu', figure: median(one.cpu) },
      ratio: median(eight.cpu) / median(one.cpu),
      notes: `CPU of one drift round, lab and stand-ins included (the lab emulates all ${BIG * 4} nodes on this machine); wall / (CPU / ${cores} cores) for ${BIG}x4 is ${(eight.median / (median(eight.cpu) / cores)).toFixed(2)}: near 1 means the round is bound by this machine's CPU, not by waiting`
    }
  ]
}
