// Hand-built clusters and a fake BMC for drift tests. The fake records every call so tests can prove
// that drift never changes anything.
import type { BmcAbout, BmcClient, NodeInfo, PowerState, Slot } from '../../../src/adapters/bmc/types.js'
import type { BoardSpec, Cluster, NodeSpec } from '../../../src/core/config/model.js'
import type { Deps } from '../../../src/core/deps.js'
import { emptyOutputs, type PhaseContext } from '../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../src/core/reporter.js'
import type { RunSettings } from '../../../src/core/settings.js'
import type { StateStore } from '../../../src/core/state/store.js'
import { kindOf } from '../../../src/core/kinds/index.js'

export function makeCluster(kind: 'k3s' | 'talos', boards = 1, perBoard = 4): Cluster {
  const boardList: BoardSpec[] = []
  const nodes: NodeSpec[] = []
  for (let b = 0; b < boards; b++) {
    const name = boards === 1 ? 'tpi' : `tpi${b + 1}`
    boardList.push({
      name,
      bmc: { endpoint: `https://10.10.${88 + b}.70`, username: 'root', tls: { insecure: true } },
      path: boards === 1 ? ['bmc'] : ['boards', b, 'bmc']
    })
    for (let s = 1; s <= perBoard; s++) {
      const index = nodes.length
      const role = index === 0 ? 'controlplane' : 'worker'
      nodes.push({
        id: `node-${b + 1}-${s}`,
        role,
        board: name,
        slot: s as Slot,
        ip: `10.10.${88 + b}.${70 + s}`,
        hostname: `node-${b + 1}-${s}`,
        has_nvme: false,
        nvme_device: '/dev/nvme0n1',
        nvme_mount: '/var/lib/longhorn',
        labels: {},
        path: role === 'controlplane' ? ['control_plane'] : ['workers', index - 1]
      })
    }
  }
  return { kind, name: 'tpi', ssh: { user: 'root', port: 22 }, nodes, boardList } as unknown as Cluster
}

export interface FakeBmcOptions {
  power?: Partial<PowerState>
  aboutError?: string
  powerError?: string
  hang?: boolean
  nodeInfo?: NodeInfo[] | 'error'
}

export class FakeBmc implements BmcClient {
  readonly calls: string[] = []
  constructor(
    readonly endpoint: string,
    private readonly options: FakeBmcOptions = {}
  ) {}
  private async call<T>(name: string, value: () => T): Promise<T> {
    this.calls.push(name)
    if (this.options.hang) await new Promise(() => {})
    return value()
  }
  about(): Promise<BmcAbout> {
    return this.call('about', () => {
      if (this.options.aboutError) throw new Error(this.options.aboutError)
      return { api: '1.1', version: '2.3.4' }
    })
  }
  power(): Promise<PowerState> {
    return this.call('power', () => {
      if (this.options.powerError) throw new Error(this.options.powerError)
      return { 1: 'on', 2: 'on', 3: 'on', 4: 'on', ...this.options.power } as PowerState
    })
  }
  nodeInfo(): Promise<NodeInfo[]> {
    return this.call('nodeInfo', () => {
      if (this.options.nodeInfo === 'error') throw new Error('404 Not Found')
      return (
        this.options.nodeInfo ??
        ([1, 2, 3, 4] as Slot[]).map((slot) => ({
          slot,
          name: null,
          moduleName: 'RK1',
          powerOnTime: 10,
          uartBaud: 115200
        }))
      )
    })
  }
  private mutating(name: string): Promise<never> {
    this.calls.push(name)
    return Promise.reject(new Error(`${name} must not be called by drift`))
  }
  info = () => this.mutating('info')
  sdcard = () => this.mutating('sdcard')
  setPower = () => this.mutating('setPower')
  reset = () => this.mutating('reset')
  readUart = () => this.mutating('readUart')
  writeUart = () => this.mutating('writeUart')
  startFlash = () => this.mutating('startFlash')
  upload = () => this.mutating('upload')
  flashStatus = () => this.mutating('flashStatus')
  cancelFlash = () => this.mutating('cancelFlash')
}

/** Lab-style addressing: node ip 10.10.(88+b).(70+s) → 127.10.b.s, BMC 10.10.(88+b).70 → 127.20.b.1; ports kept. */
export function labMap(host: string, port: number): { host: string; port: number } {
  const m = /^10\.10\.(\d+)\.(\d+)$/.exec(host)
  if (!m) throw new Error(`test address map: ${host} is not a node or BMC address`)
  if (m[2] === '70') return { host: `127.20.${Number(m[1]) - 88}.1`, port }
  return { host: `127.10.${Number(m[1]) - 88}.${Number(m[2]) - 70}`, port: port === 22 ? 2222 : port }
}

export interface FakeWorld {
  bmcs: Map<string, FakeBmc>
  /** Loopback host:port pairs that answer (SSH banner or TCP connect): every BMC (127.20.b.1:443) and node. */
  up: Set<string>
  probes: string[]
  /** The signal drift handed each BMC client it asked for (aborted = drift gave up on that BMC). */
  signals: AbortSignal[]
  deps: Deps
}

export function makeWorld(cluster: Cluster, bmcOptions: Record<string, FakeBmcOptions> = {}): FakeWorld {
  const bmcs = new Map<string, FakeBmc>()
  for (const board of cluster.boardList) bmcs.set(board.name, new FakeBmc(board.bmc.endpoint, bmcOptions[board.name]))
  const up = new Set<string>()
  for (const [b] of cluster.boardList.entries()) up.add(`127.20.${b}.1:443`)
  for (const node of cluster.nodes) {
    const port = cluster.kind === 'k3s' ? 22 : 50000
    const t = labMap(node.ip, port)
    up.add(`${t.host}:${t.port}`)
  }
  const probes: string[] = []
  const signals: AbortSignal[] = []
  const deps = {
    bmc: async (board: BoardSpec, options?: { signal?: AbortSignal }) => {
      if (options?.signal) signals.push(options.signal)
      return bmcs.get(board.name)!
    },
    net: { map: labMap },
    ssh: {
      connect: () => Promise.reject(new Error('drift must not log in')),
      probe: async (host: string, port: number) => {
        probes.push(`ssh ${host}:${port}`)
        return up.has(`${host}:${port}`) ? 'SSH-2.0-OpenSSH_9.2p1 Debian-2' : undefined
      }
    },
    sleep: async () => {}
  } as unknown as Deps
  return { bmcs, up, probes, signals, deps }
}

export function makeCtx(cluster: Cluster, deps: Deps): PhaseContext & { reporter: MemoryReporter } {
  return {
    cluster,
    kind: kindOf(cluster),
    settings: { command: 'drift', failOnDrift: false } as RunSettings,
    deps,
    reporter: new MemoryReporter(),
    state: {} as StateStore,
    nodes: cluster.nodes,
    outputs: emptyOutputs()
  }
}
