// A fixed deploy of a three-node K3s cluster on one board (slot 4 empty), with wall-clock step spans
// laid out as the pipelined scheduler runs them: flashes one after the other on the board, each node's
// boot and bootstrap as soon as its own flash is done, then the cluster phases.
import type { Cluster } from '../../src/core/config/model.js'
import { parseCluster } from '../../src/core/config/load.js'
import type { RunResult, StepSpan } from '../../src/core/run.js'
import { emptyOutputs } from '../../src/core/phases/types.js'

export const FIXED_K3S = `kind: k3s
name: lab
bmc:
  endpoint: https://10.10.88.70
  tls: { insecure: true }
armbian_image: { path: armbian.img }
control_plane: { node: 1, ip: 10.10.88.73, hostname: cp }
workers:
  - { node: 2, ip: 10.10.88.74, hostname: w1, has_nvme: true }
  - { node: 3, ip: 10.10.88.75, hostname: w2, has_nvme: true }
metallb_ip_range: 10.10.88.80-10.10.88.89
addons: { metallb: true }
`

export function cluster(text = FIXED_K3S): Cluster {
  const loaded = parseCluster(text, 'cluster.yaml')
  if (!loaded.cluster) throw new Error(JSON.stringify(loaded.issues))
  return loaded.cluster
}

/** 2026-12-07T10:00:00Z: the run's first step. */
export const T0 = Date.UTC(2026, 11, 7, 10, 0, 0)

const at = (s: number): number => T0 + s * 1000

export const FIXED_STEPS: StepSpan[] = [
  { phase: 'flash', node: 'cp', start: at(0), end: at(41.5), outcome: 'changed' },
  { phase: 'flash', node: 'w1', start: at(41.5), end: at(80), outcome: 'changed' },
  { phase: 'boot', node: 'cp', start: at(41.5), end: at(62), outcome: 'changed' },
  { phase: 'os-bootstrap', node: 'cp', start: at(62), end: at(75.2), outcome: 'changed' },
  { phase: 'flash', node: 'w2', start: at(80), end: at(80.01), outcome: 'unchanged' },
  { phase: 'boot', node: 'w1', start: at(80), end: at(99), outcome: 'changed' },
  { phase: 'boot', node: 'w2', start: at(80.01), end: at(80.4), outcome: 'unchanged' },
  { phase: 'os-bootstrap', node: 'w2', start: at(80.4), end: at(81), outcome: 'unchanged' },
  { phase: 'os-bootstrap', node: 'w1', start: at(99), end: at(112), outcome: 'changed' },
  { phase: 'install', start: at(112), end: at(131), outcome: 'changed' },
  { phase: 'join', start: at(131), end: at(140), outcome: 'changed' },
  { phase: 'addons', start: at(140), end: at(152.3), outcome: 'changed' }
]

export function deployResult(overrides: Partial<RunResult> = {}): RunResult {
  const outputs = emptyOutputs()
  outputs.addons = [{ name: 'metallb', chart: 'metallb/metallb', version: '0.14.9', status: 'installed' }]
  for (const [node, ip, role] of [
    ['cp', '10.10.88.73', 'controlplane'],
    ['w1', '10.10.88.74', 'worker'],
    ['w2', '10.10.88.75', 'worker']
  ])
    outputs.nodeStatus[node] = { node, role, ip, ready: true, version: 'v1.31.3+k3s1' }
  for (const s of FIXED_STEPS) outputs.timings[s.phase] = (outputs.timings[s.phase] ?? 0) + (s.end - s.start) / 1000
  return { status: 'ok', issues: [], cluster: cluster(), outputs, steps: FIXED_STEPS, ...overrides }
}
