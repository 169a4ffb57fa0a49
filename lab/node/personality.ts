// OS personalities: what a node does with the disk it finds at power on. lab/talos registers Talos.
import type { Partition } from '../images/disk.js'

export interface DiskInfo {
  path: string
  partitions: Partition[]
  // Reads a file from a named ext4 partition (default: rootfs, else the last one).
  readFile(pathInFs: string, partName?: string): Promise<Buffer | undefined>
}

export interface NodeRuntime {
  board: number
  slot: number
  host: string // loopback address the node's services bind (127.10.b.s)
  rootDir: string // the node's own state folder; wiped on reflash
  disk: DiskInfo
  uart(text: string): void
  sleep(ms: number): Promise<void> // resolves early-rejected when the node loses power
  bootDelayMs: number
  dhcpIp?: string // the lab's DHCP reservation for this slot, if any
  claimAddress(lanIp: string | undefined): void // the LAN IP the booted OS claims (static or DHCP)
}

export interface OsPersonality {
  name: string
  detect(disk: DiskInfo): Promise<boolean> | boolean
  boot(node: NodeRuntime): Promise<void>
  stop(): Promise<void>
}

export type PersonalityFactory = {
  name: string
  detect(disk: DiskInfo): Promise<boolean> | boolean
  create(): OsPersonality
}

const registry: PersonalityFactory[] = []

// Later registrations win, so lab/talos can override a default.
export function registerPersonality(factory: PersonalityFactory): void {
  const i = registry.findIndex((f) => f.name === factory.name)
  if (i >= 0) registry.splice(i, 1)
  registry.unshift(factory)
}

export async function pickPersonality(disk: DiskInfo): Promise<PersonalityFactory | undefined> {
  for (const f of registry) if (await f.detect(disk)) return f
  return undefined
}
