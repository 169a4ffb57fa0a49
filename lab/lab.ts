// startLab: one BMC emulator per board (127.20.b.1), four simulated RK1 nodes on each, the mirror and
// results service (with the Talos factory routes), and the AddressMap that leads cluster-file LAN addresses there.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LabAddressMap } from './address-map.js'
import { registerPersonality } from './node/personality.js'
import { SimNode, type BmcLike } from './node/sim-node.js'
import { startMirror, type Mirror } from './mirror/index.js'
import { startResultsService, type ResultsService } from './results/index.js'
import { registerTalosLab, registerTalosPersonality, type LabFactory } from './talos/index.js'
import { startTalosctlServer } from './talos/lib/index.mjs'
import { startBmc as startBmcEmulator } from './bmc/index.js'
import { startK3sKube } from './k3s/kube-bridge.js'

export interface BmcHandle extends BmcLike {
  host?: string
  port?: number
  url?: string
  password?: string
  fingerprint?: string
  stop?(): Promise<void>
  close?(): Promise<void>
}
export type StartBmc = (options: {
  board: number
  host: string
  port: number
  dir: string
  writeBytesPerSec?: number
  password?: string
}) => Promise<BmcHandle>

export interface LabOptions {
  boards?: number
  bootDelayMs?: number
  writeBytesPerSec?: number
  bmcPassword?: string // default turing, the BMC's factory password
  dhcp?: { board: number; slot: number; ip: string }[] // reservations for nodes without a static IP
  dir?: string
  startBmc?: StartBmc // default: startBmc of lab/bmc
}

export interface LabBoard {
  index: number
  bmc: BmcHandle
  nodes: SimNode[]
}

export interface Lab {
  dir: string
  boards: LabBoard[]
  net: LabAddressMap
  mirror: Mirror
  /** The Image Factory the mirror answers for (lab/talos). */
  factory: LabFactory
  results: ResultsService
  node(board: number, slot: number): SimNode
  mapBmc(endpointUrlFromFile: string, boardIndex: number): void
  /** The lab DHCP server's reservation: the address a node without a static IP gets at its next boot. */
  reserve(board: number, slot: number, ip: string): void
  env(): Record<string, string>
  stop(): Promise<void>
}

export async function startLab(options: LabOptions = {}): Promise<Lab> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'tpi-lab-')))
  const ownsDir = options.dir === undefined
  await mkdir(dir, { recursive: true })
  const net = new LabAddressMap(join(dir, 'address-map.json'))
  const startBmc: StartBmc = options.startBmc ?? startBmcEmulator
  // Nodes boot Talos disks into lab/talos's emulated API (port 50000).
  registerTalosPersonality(registerPersonality)
  const boards: LabBoard[] = []
  // What every simulated node sees at /run/lab-share: the k3s stand-ins' shared cluster store.
  const share = join(dir, 'share')
  await mkdir(join(share, 'k3s'), { recursive: true })
  const dhcp = [...(options.dhcp ?? [])]
  const reservation = (board: number, slot: number): string | undefined =>
    dhcp.find((r) => r.board === board && r.slot === slot)?.ip
  const stopAll = async (): Promise<void> => {
    for (const b of boards) await Promise.all(b.nodes.map((n) => n.close()))
    for (const b of boards) await (b.bmc.stop ?? b.bmc.close)?.call(b.bmc)
  }
  const onAddress = (n: SimNode, ip: string | undefined): void => {
    const reserved = reservation(n.board, n.slot)
    const lan = ip ?? (n.state === 'off' ? undefined : reserved)
    if (lan) net.setNode(lan, n.board, n.slot)
    else net.removeNode(n.board, n.slot)
  }
  try {
    for (let b = 0; b < (options.boards ?? 1); b++) {
      const bdir = join(dir, `board${b}`)
      await mkdir(bdir, { recursive: true })
      const bmc = await startBmc({
        board: b,
        host: `127.20.${b}.1`,
        port: 0,
        dir: bdir,
        writeBytesPerSec: options.writeBytesPerSec,
        password: options.bmcPassword
      })
      const board: LabBoard = { index: b, bmc, nodes: [] }
      boards.push(board)
      for (let s = 1; s <= 4; s++) {
        // The reservation is read at each boot, so one made after the lab started (lab.reserve) applies.
        board.nodes.push(
          new SimNode({
            bmc,
            board: b,
            slot: s,
            stateDir: join(bdir, `node${s}`),
            bootDelayMs: options.bootDelayMs,
            onAddress,
            share,
            dhcpIp: () => reservation(b, s)
          })
        )
      }
    }
  } catch (e) {
    await stopAll()
    throw e
  }
  const mirror = await startMirror({ dir: join(dir, 'mirror') })
  const results = await startResultsService({ dir: join(dir, 'results') })
  // The Image Factory and talosctl release assets are answered by lab/talos routes on the mirror.
  const { factory } = registerTalosLab({ mirror, dir: join(dir, 'talos') })
  // K3s clusters get the lab Kubernetes API on their first server once it runs (lab/k3s/kube-bridge).
  const nodeWith = (ip: string): SimNode | undefined =>
    boards.flatMap((b) => b.nodes).find((n) => n.lanIp === ip && n.state === 'up')
  const k3sKube = await startK3sKube({ labDir: share, hostFor: (ip) => nodeWith(ip)?.host })
  // talosctl calls run in this process (lab/talos/lib/serve.mjs): a node process per call cost more CPU than the nodes.
  const talosctl = await startTalosctlServer()
  return {
    dir,
    boards,
    net,
    mirror,
    factory,
    results,
    node: (b, s) => {
      const n = boards[b]?.nodes[s - 1]
      if (!n)
        throw new Error(`lab has no node at board ${b} slot ${s}, expected board 0..${boards.length - 1}, slot 1..4`)
      return n
    },
    reserve: (board, slot, ip) => {
      const i = dhcp.findIndex((r) => r.board === board && r.slot === slot)
      if (i >= 0) dhcp.splice(i, 1)
      dhcp.push({ board, slot, ip })
    },
    mapBmc: (endpoint, b) => {
      const bmc = boards[b]?.bmc
      if (!bmc) throw new Error(`lab has no board ${b}, expected 0..${boards.length - 1}`)
      const port = bmc.port ?? (bmc.url ? Number(new URL(bmc.url).port) : undefined)
      if (!port) throw new Error(`BMC emulator of board ${b} exposes no port, expected port or url`)
      net.setBmc(endpoint, bmc.host ?? `127.20.${b}.1`, port)
    },
    env: () => ({
      TPI_LAB_DIR: dir,
      TPI_ADDRESS_MAP: net.file,
      TPI_LAB_TALOSCTL: talosctl.address,
      ...mirror.env(),
      ...results.env()
    }),
    stop: async () => {
      await k3sKube.stop()
      await talosctl.stop()
      await stopAll()
      await mirror.stop()
      await results.stop()
      if (ownsDir) await rm(dir, { recursive: true, force: true })
    }
  }
}
