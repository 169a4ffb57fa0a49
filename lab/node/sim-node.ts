import { randomUUID } from 'node:crypto'
import type { EventEmitter } from 'node:events'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { readImageFile, readPartitions } from '../images/disk.js'
import { armbianPersonality, writeFacts } from './armbian.js'
import { DDR_LINES } from './boot-log.js'
import { talosConsolePersonality } from './talos-console.js'
import { pickPersonality, type DiskInfo, type NodeRuntime, type OsPersonality } from './personality.js'
import type { NodeSsh, SshFaults } from './ssh-server.js'

// What a node needs from the BMC emulator (lab/bmc).
export interface BmcLike {
  events: EventEmitter
  uart(slot: number): { write(text: string): void }
  diskPath(slot: number): string
}

export interface SimNodeOptions {
  bmc: BmcLike
  board: number
  slot: number
  stateDir: string // per-node folder; the node root lives in <stateDir>/root
  bootDelayMs?: number
  sshPort?: number
  pathDirs?: () => string[] // stand-in folders first on the node's PATH (lab/k3s/standins, ...)
  onAddress?: (node: SimNode, lanIp: string | undefined) => void
  dhcpIp?: string | (() => string | undefined) // DHCP reservation (read at each boot): the address an OS without a static IP gets
  share?: string // host folder all nodes of the lab see at /run/lab-share (TPI_LAB_DIR inside: the k3s store)
  npuDriver?: string | null // RKNPU driver version of the node's kernel (default v0.9.8); null: a kernel without it
}

const K3S_STANDINS = fileURLToPath(new URL('../k3s/standins', import.meta.url))

// Stand-in folders other lab parts provide (k3s, NPU), after the node's own system commands.
export function defaultStandinDirs(): string[] {
  return existsSync(K3S_STANDINS) ? [K3S_STANDINS] : []
}

export type NodeState = 'off' | 'booting' | 'up' | 'stuck' | 'failed'

class PowerLost extends Error {
  constructor() {
    super('power lost')
  }
}

export class SimNode {
  readonly board: number
  readonly slot: number
  readonly host: string
  readonly rootDir: string
  state: NodeState = 'off'
  lanIp: string | undefined
  /** The LAN address the node claimed last (kept while it is off; a reflash clears it). */
  lastLanIp: string | undefined
  os: string | undefined
  /** Tag in the environment of every process the node starts (TPI_LAB_NODE_TAG): all are killed at power off. */
  readonly tag: string
  lastError: Error | undefined
  readonly faults = {
    neverBoot: false,
    slowBootMs: 0,
    empty: false,
    ssh: { dropNextExec: false } as SshFaults,
    // Drops the SSH connection of the next exec after ms (default: at once).
    dropSshAfter: (ms = 0): void => {
      this.faults.ssh.dropNextExec = true
      this.faults.ssh.dropAfterMs = ms
    },
    // Drops the SSH connection of the next exec whose command matches, at once or once its output matches
    // `output`; that command and all it started are killed. `faults.ssh.dropWhen` is cleared when it fires.
    dropSshWhen: (command: RegExp, output?: RegExp): void => {
      this.faults.ssh.dropWhen = { command, ...(output ? { output } : {}) }
    }
  }
  private npu: string | undefined
  private generation = 0
  private personality: OsPersonality | undefined
  private ssh: NodeSsh | undefined
  private running: Promise<void> = Promise.resolve()
  private waiters = new Set<() => void>()
  private readonly onPower = (slot: number, on: boolean): void => {
    if (slot === this.slot) void (on ? this.powerOn() : this.powerOff())
  }
  // The wipe that follows a flash; a power-on waits for it, as a BMC does not boot a slot it is still
  // writing (a boot racing the wipe kept the old root, and with it the old SSH host key).
  private wipe: Promise<void> | undefined
  private readonly onFlashed = (slot: number): void => {
    if (slot !== this.slot) return
    const wipe: Promise<void> = this.reflashed().finally(() => {
      if (this.wipe === wipe) this.wipe = undefined
    })
    this.wipe = wipe
  }

  constructor(private readonly o: SimNodeOptions) {
    this.board = o.board
    this.slot = o.slot
    this.host = `127.10.${o.board}.${o.slot}`
    this.rootDir = join(o.stateDir, 'root')
    this.tag = `${this.host}/${process.pid}/${randomUUID()}`
    this.npu = o.npuDriver === null ? undefined : (o.npuDriver ?? 'v0.9.8')
    o.bmc.events.on('power', this.onPower)
    o.bmc.events.on('flashed', this.onFlashed)
  }

  get sshPort(): number {
    return this.o.sshPort ?? 2222
  }

  /** RKNPU driver version of the node's kernel; undefined: a kernel without the driver (no debugfs file, no render node). */
  get npuDriver(): string | undefined {
    return this.npu
  }

  /** Switches the kernel's RKNPU driver (undefined: none), at once when the node runs and at every boot. */
  async setNpuDriver(version: string | undefined): Promise<void> {
    this.npu = version
    if (this.state === 'up' && this.os === 'armbian') await writeFacts(this.rootDir, version)
  }

  // Drops live SSH connections without powering off (a network blip).
  dropSsh(): void {
    this.ssh?.dropAll()
  }

  // Resolves when the node reaches a state (bounded by timeoutMs).
  async waitFor(state: NodeState, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs
    while (this.state !== state) {
      if (this.state === 'failed' || Date.now() > end)
        throw new Error(
          `node ${this.host} is ${this.state}, expected ${state} within ${timeoutMs} ms${this.lastError ? `: ${this.lastError.message}` : ''}`
        )
      await new Promise<void>((r) => {
        const t = setTimeout(r, 10)
        this.waiters.add(() => {
          clearTimeout(t)
          r()
        })
      })
    }
  }

  private setState(s: NodeState): void {
    this.state = s
    for (const w of this.waiters) w()
    this.waiters.clear()
  }

  powerOn(): Promise<void> {
    if (this.wipe)
      return this.wipe.then(
        () => this.powerOn(),
        () => this.powerOn()
      )
    if (this.state !== 'off') return this.running
    const gen = ++this.generation
    this.setState('booting')
    this.running = this.boot(gen).catch((e: unknown) => {
      if (e instanceof PowerLost) return
      this.lastError = e as Error
      this.setState('failed')
    })
    return this.running
  }

  async powerOff(): Promise<void> {
    this.generation++
    for (const w of this.waiters) w()
    const p = this.personality
    this.personality = undefined
    await p?.stop()
    await this.running
    const hadAddress = this.os !== undefined || this.lanIp !== undefined
    this.lanIp = undefined
    this.os = undefined
    this.setState('off')
    if (hadAddress) this.o.onAddress?.(this, undefined)
  }

  // A flash replaced the disk: what the node wrote since the last flash is gone — including, for a k3s
  // first server, its cluster datastore, which the lab keeps in the shared store under its LAN address.
  async reflashed(): Promise<void> {
    await this.powerOff()
    // A process killed at power-off (an etcd member) may still be writing for a moment: rm retries ENOTEMPTY.
    await rm(this.rootDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 })
    const ip = this.lastLanIp
    this.lastLanIp = undefined
    if (this.o.share && ip) {
      for (const f of [`${ip}.json`, `${ip}.json.lock`, `${ip}.kube`])
        await rm(join(this.o.share, 'k3s', f), { recursive: true, force: true })
    }
  }

  async close(): Promise<void> {
    this.o.bmc.events.off('power', this.onPower)
    this.o.bmc.events.off('flashed', this.onFlashed)
    await this.powerOff()
  }

  private sleepFor(gen: number): (ms: number) => Promise<void> {
    return (ms) =>
      new Promise<void>((resolve, reject) => {
        if (gen !== this.generation) return reject(new PowerLost())
        const t = setTimeout(() => {
          this.waiters.delete(w)
          gen === this.generation ? resolve() : reject(new PowerLost())
        }, ms)
        const w = (): void => {
          if (gen !== this.generation) {
            clearTimeout(t)
            reject(new PowerLost())
          }
        }
        this.waiters.add(w)
      })
  }

  private async boot(gen: number): Promise<void> {
    const uart = (text: string): void => {
      if (gen === this.generation) this.o.bmc.uart(this.slot).write(text)
    }
    const sleep = this.sleepFor(gen)
    if (this.faults.empty) {
      this.setState('off')
      return
    }
    const path = this.o.bmc.diskPath(this.slot)
    const disk: DiskInfo = {
      path,
      partitions: await readPartitions(path),
      readFile: (p, part) => readImageFile(path, p, part)
    }
    if (this.faults.slowBootMs) await sleep(this.faults.slowBootMs)
    const factory =
      this.faults.neverBoot || disk.partitions.length === 0
        ? undefined
        : ((await pickPersonality(disk)) ??
          ((await this.armbian().detect(disk))
            ? this.armbian()
            : (await talosConsolePersonality.detect(disk))
              ? talosConsolePersonality
              : undefined))
    if (!factory) {
      // Blank or garbage disk (or a node that never boots): the boot ROM and DDR init print, then nothing.
      uart(DDR_LINES)
      this.setState('stuck')
      return
    }
    const personality = factory.create()
    this.personality = personality
    this.os = factory.name
    const runtime: NodeRuntime = {
      board: this.board,
      slot: this.slot,
      host: this.host,
      rootDir: this.rootDir,
      disk,
      uart,
      sleep,
      bootDelayMs: this.o.bootDelayMs ?? 200,
      dhcpIp: typeof this.o.dhcpIp === 'function' ? this.o.dhcpIp() : this.o.dhcpIp,
      claimAddress: (ip) => {
        if (gen !== this.generation) return
        this.lanIp = ip
        if (ip) this.lastLanIp = ip
        this.o.onAddress?.(this, ip)
      }
    }
    await personality.boot(runtime)
    if (gen !== this.generation) {
      await personality.stop()
      throw new PowerLost()
    }
    this.setState('up')
  }

  private armbianFactory: ReturnType<typeof armbianPersonality> | undefined
  private armbian(): ReturnType<typeof armbianPersonality> {
    this.armbianFactory ??= armbianPersonality({
      sshPort: this.sshPort,
      pathDirs: () => this.o.pathDirs?.() ?? defaultStandinDirs(),
      faults: this.faults.ssh,
      onSsh: (s) => {
        this.ssh = s
      },
      share: this.o.share,
      tag: this.tag,
      npuDriver: () => this.npu
    })
    return this.armbianFactory
  }
}
