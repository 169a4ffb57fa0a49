// Drift of 8 boards × 4 nodes against 1 board × 4 nodes. Observations run in parallel, so the big
// cluster should cost about what the small one does, not eight times as much.
//
// What this measures today: the drift framework with in-process BMC clients (fixed latency per call,
// like a BMC on the LAN) and real TCP connects to loopback listeners standing in for the Talos API.
// TODO(lab): once lab/lab.ts (startLab) exists, run the same comparison against lab boards and nodes.
import { createServer, type AddressInfo, type Server } from 'node:net'
import type { BmcClient, NodeInfo, PowerState, Slot } from '../src/adapters/bmc/types.js'
import type { BoardSpec, Cluster, NodeSpec } from '../src/core/config/model.js'
import type { Deps } from '../src/core/deps.js'
import { runDrift } from '../src/core/drift/run-drift.js'
import { defaultDriftObservers } from '../src/core/drift/observers.js'
import { emptyOutputs, type PhaseContext } from '../src/core/phases/types.js'
import { MemoryReporter } from '../src/core/reporter.js'
import type { RunSettings } from '../src/core/settings.js'
import type { StateStore } from '../src/core/state/store.js'
import type { BenchResult } from './lib/result.js'

const BMC_LATENCY_MS = 15
const ROUNDS = 5

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function bmcClient(endpoint: string): BmcClient {
  const slots: Slot[] = [1, 2, 3, 4]
  const read = async <T>(value: T): Promise<T> => (await delay(BMC_LATENCY_MS), value)
  const never = () => Promise.reject(new Error('not used by drift'))
  return {
    endpoint,
    about: () => read({ api: '1.1', version: '2.3.4' }),
    power: () => read({ 1: 'on', 2: 'on', 3: 'on', 4: 'on' } as PowerState),
    nodeInfo: () => read(slots.map((slot): NodeInfo => ({ slot, name: null, moduleName: 'RK1', powerOnTime: 1, uartBaud: 115200 }))),
    info: never, sdcard: never, setPower: never, reset: never, readUart: never, writeUart: never,
    startFlash: never, upload: never, flashStatus: never, cancelFlash: never
  }
}

async function world(boards: number): Promise<{ ctx: PhaseContext; close: () => Promise<void> }> {
  const boardList: BoardSpec[] = []
  const nodes: NodeSpec[] = []
  const ports = new Map<string, number>()
  const servers: Server[] = []
  for (let b = 0; b < boards; b++) {
    boardList.push({ name: `tpi${b}`, bmc: { endpoint: `https://10.10.${88 + b}.70`, username: 'root', tls: { insecure: true } }, path: ['boards', b] })
    for (let s = 1; s <= 4; s++) {
      const server = createServer((socket) => socket.end())
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      servers.push(server)
      const ip = `10.10.${88 + b}.${70 + s}`
      ports.set(ip, (server.address() as AddressInfo).port)
      nodes.push({ id: `n${b}-${s}`, role: nodes.length ? 'worker' : 'controlplane', board: `tpi${b}`, slot: s as Slot, ip, hostname: `n${b}-${s}`, has_nvme: false, nvme_device: '', nvme_mount: '', labels: {}, path: [] })
    }
  }
  const cluster = { kind: 'talos', name: 'bench', nodes, boardList } as unknown as Cluster
  const deps = {
    bmc: async (board: BoardSpec) => bmcClient(board.bmc.endpoint),
    // Loopback only: every node address maps to its listener on 127.0.0.1.
    net: { map: (host: string) => ({ host: '127.0.0.1', port: ports.get(host)! }) },
    sleep: delay
  } as unknown as Deps
  const ctx: PhaseContext = {
    cluster, deps, nodes, reporter: new MemoryReporter(), outputs: emptyOutputs(),
    settings: { command: 'drift' } as RunSettings, state: {} as StateStore
  }
  return { ctx, close: async () => void (await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))) }
}

async function median(boards: number): Promise<number> {
  const { ctx, close } = await world(boards)
  const times: number[] = []
  try {
    for (let i = 0; i < ROUNDS; i++) {
      const started = performance.now()
      const findings = await runDrift(ctx, [], defaultDriftObservers)
      times.push(performance.now() - started)
      if (findings.length) throw new Error(`bench world drifted: ${JSON.stringify(findings[0])}`)
    }
  } finally {
    await close()
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)]
}

export async function bench(): Promise<BenchResult[]> {
  const one = await median(1)
  const eight = await median(8)
  return [
    {
      name: 'drift-8x4-vs-1x4',
      figure: Math.round(eight * 10) / 10,
      unit: 'ms',
      baseline: { name: 'drift-1x4', figure: Math.round(one * 10) / 10 },
      ratio: eight / one,
      target: 'ratio < 2 (observations run in parallel)',
      notes: `median of ${ROUNDS}; in-process BMC clients with ${BMC_LATENCY_MS} ms per call, real loopback TCP connects for the Talos API; lab version TODO`
    }
  ]
}
