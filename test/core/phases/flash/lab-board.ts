// One lab board for the flash/boot phase tests: the real BMC emulator (lab/bmc) over HTTPS with its
// certificate pinned in the cluster file, the real client through bmcFactory, and tiny simulated Talos
// nodes that react to the emulator's power events (print to the UART, open the Talos API port). Runs
// the real flash + boot phase modules, pipelined as run.ts does, with one state dir shared by re-runs.
import { createHash } from 'node:crypto'
import { existsSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBmc, type BmcEmulator, type BmcEmulatorOptions, type PowerEventInfo } from '../../../../lab/bmc/index.js'
import { bmcFactory } from '../../../../src/adapters/bmc/factory.js'
import type { Slot } from '../../../../src/adapters/bmc/types.js'
import { parseCluster } from '../../../../src/core/config/load.js'
import type { Cluster } from '../../../../src/core/config/model.js'
import type { Deps } from '../../../../src/core/deps.js'
import { bootPhase } from '../../../../src/core/phases/boot/module.js'
import { flashPhase } from '../../../../src/core/phases/flash/module.js'
import { pipelinedNodeSteps } from '../../../../src/core/phases/flash/pipeline.js'
import { emptyOutputs, type PhaseContext } from '../../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { StateStore } from '../../../../src/core/state/store.js'
import { kindOf } from '../../../../src/core/kinds/index.js'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'
import { testSettings } from '../../context.js'

/** What a simulated node does after a normal power-on (not the flash worker's USB boot). */
export type NodeBehaviour = 'boots' | 'silent' | 'panics'

export const BMC_LAN = '10.10.88.70'
export const nodeLan = (slot: Slot): string => `10.10.88.${72 + slot}`

export interface LabBoardOptions {
  /** Third octet of the loopback addresses (127.20.N.1 for the BMC, 127.10.N.slot for nodes); unique per test file. */
  net: number
  slots?: Slot[]
  imageBytes?: number
  bootMs?: number
  bmc?: BmcEmulatorOptions
}

export interface LabBoard {
  bmc: BmcEmulator
  dir: string
  image: string
  behaviour: Record<Slot, NodeBehaviour>
  /** Slots in the order the emulator reported a finished flash ('flashed' events). */
  flashed: Slot[]
  /** Fresh run: new outputs, reporter and BMC client factory; the same state dir as earlier runs. */
  context(tune?: Partial<Cluster>): Promise<PhaseContext>
  /** flash + boot for every node, pipelined like run.ts. */
  run(ctx: PhaseContext): Promise<void>
  logins(): number
  uploads(): number
  statuses(match: (path: string, query: Record<string, string>) => boolean): number[]
  sha256(data: Buffer | string): string
  stop(): Promise<void>
}

const hostnames: Record<Slot, string> = { 1: 'cp', 2: 'w1', 3: 'w2', 4: 'w3' }

function clusterFile(fingerprint: string, slots: Slot[]): string {
  const [first, ...rest] = slots as [Slot, ...Slot[]]
  const node = (s: Slot) => `{ node: ${s}, ip: ${nodeLan(s)}, hostname: ${hostnames[s]} }`
  return `kind: talos
name: labflash
bmc: { endpoint: https://${BMC_LAN}, tls: { fingerprint: "${fingerprint}" } }
network: { prefix: 24, gateway: 10.10.88.1 }
image_source: local
image_path: metal-arm64.raw
boot_timeout: 1
flash_timeout: 60
control_plane: ${node(first)}
workers:
${rest.map((s) => `  - ${node(s)}`).join('\n') || '  []'}
`
}

/** A simulated Talos node: console lines after power-on, the API port open while booted. */
class SimNode {
  private timer?: NodeJS.Timeout
  private server?: Server
  constructor(
    private readonly board: { bmc: BmcEmulator; behaviour: Record<Slot, NodeBehaviour> },
    private readonly slot: Slot,
    private readonly host: string,
    private readonly bootMs: number
  ) {}

  power(on: boolean, info?: PowerEventInfo): void {
    clearTimeout(this.timer)
    this.down()
    if (!on || info?.usbBoot) return
    const uart = this.board.bmc.uart(this.slot)
    // A blank eMMC holds no loader: the SoC prints its DDR init and stops (as lab/node does).
    if (!existsSync(this.board.bmc.diskPath(this.slot)) || statSync(this.board.bmc.diskPath(this.slot)).size === 0)
      return void uart.write('DDR 9fa84341ce typ 24/09/06\r\nout\r\n')
    uart.write('U-Boot SPL 2024.01 (rk3588)\r\nStarting kernel ...\r\n')
    this.timer = setTimeout(() => {
      const how = this.board.behaviour[this.slot]
      if (how === 'boots') {
        uart.write(`[    9.851478] [talos] entering maintenance service {"component": "controller-runtime"}\r\n`)
        this.up()
      } else if (how === 'panics') {
        uart.write(
          '[    2.104410] VFS: Cannot open root device "mmcblk0p6"\r\n[    2.104713] Kernel panic - not syncing: VFS: Unable to mount root fs\r\n'
        )
      }
    }, this.bootMs)
  }

  private up(): void {
    const server = createServer((socket) => socket.end())
    server.on('error', () => undefined)
    server.listen(50000, this.host)
    this.server = server
  }

  down(): void {
    this.server?.close()
    this.server = undefined
  }

  stop(): void {
    clearTimeout(this.timer)
    this.down()
  }
}

export const fastSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.min(ms, 5)))

export async function startLabBoard(o: LabBoardOptions): Promise<LabBoard> {
  const slots = o.slots ?? ([1, 2, 3] as Slot[])
  const dir = await mkdtemp(join(tmpdir(), 'lab-flash-'))
  const image = join(dir, 'metal-arm64.raw')
  // Patterned, not zeros, so a disk that holds stale or partial data cannot pass as the image.
  const data = Buffer.alloc(o.imageBytes ?? 256 * 1024)
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, i)
  await writeFile(image, data)
  const bmc = await startBmc({
    host: `127.20.${o.net}.1`,
    port: 0,
    usbDetectMs: 10,
    resetDelayMs: 20,
    writeBytesPerSec: 64 * 2 ** 20,
    ...o.bmc
  })
  const behaviour = { 1: 'boots', 2: 'boots', 3: 'boots', 4: 'boots' } as Record<Slot, NodeBehaviour>
  const sims = new Map<Slot, SimNode>()
  for (const s of slots) sims.set(s, new SimNode({ bmc, behaviour }, s, `127.10.${o.net}.${s}`, o.bootMs ?? 15))
  bmc.events.on('power', (slot: Slot, on: boolean, info?: PowerEventInfo) => sims.get(slot)?.power(on, info))
  const flashed: Slot[] = []
  bmc.events.on('flashed', (slot: Slot) => flashed.push(slot))

  const net = {
    map: (host: string, port: number) => {
      if (host === BMC_LAN) return { host: bmc.host, port: bmc.port }
      const slot = slots.find((s) => nodeLan(s) === host)
      if (slot === undefined) throw new Error(`lab board: no loopback address for ${host}:${port}`)
      return { host: `127.10.${o.net}.${slot}`, port }
    }
  }
  const parsed = parseCluster(clusterFile(bmc.fingerprint, slots), 'cluster.yaml')
  const errors = parsed.issues.filter((i) => i.severity === 'error')
  if (!parsed.cluster || errors.length) throw new Error(`lab board cluster file invalid: ${JSON.stringify(errors)}`)
  const cluster = parsed.cluster

  const board: LabBoard = {
    bmc,
    dir,
    image,
    behaviour,
    flashed,
    async context(tune = {}) {
      const reporter = new MemoryReporter()
      const settings = testSettings(dir)
      const deps = {
        bmc: bmcFactory({ password: bmc.password, net, reporter, sleep: fastSleep, timeoutMs: 10_000 }),
        net,
        ssh: {
          probe: async () => undefined,
          connect: async () => {
            throw new Error('no SSH in the Talos flash tests')
          }
        },
        exec: async () => {
          throw new Error('no local programs in the Talos flash tests')
        },
        downloads: {
          fetch: async () => {
            throw new Error('no downloads for a local image')
          }
        },
        ...plainAdapters(createLocalExec()),
        sleep: fastSleep
      } as unknown as Deps
      const c = { ...cluster, ...tune } as Cluster
      return {
        cluster: c,
        kind: kindOf(c),
        settings,
        deps,
        reporter,
        state: await StateStore.open(settings.stateDir, c.name),
        nodes: c.nodes,
        outputs: emptyOutputs()
      }
    },
    run: (ctx) =>
      pipelinedNodeSteps(ctx.nodes, [
        { phase: 'flash', run: async (n) => void (await flashPhase.runNode!(ctx, n)) },
        { phase: 'boot', run: async (n) => void (await bootPhase.runNode!(ctx, n)) }
      ]),
    logins: () => bmc.requests.filter((r) => r.path === '/api/bmc/authenticate' && r.status === 200).length,
    uploads: () => bmc.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/bmc/upload/')).length,
    statuses: (match) => bmc.requests.filter((r) => match(r.path, r.query)).map((r) => r.status),
    sha256: (d) => createHash('sha256').update(d).digest('hex'),
    async stop() {
      for (const s of sims.values()) s.stop()
      await bmc.stop()
      await rm(dir, { recursive: true, force: true })
    }
  }
  return board
}

/** The disk file of a slot as the emulator wrote it. */
export const diskOf = (board: LabBoard, slot: Slot): Promise<Buffer> => readFile(board.bmc.diskPath(slot))
