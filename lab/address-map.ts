// The lab's AddressMap: LAN addresses from cluster files → loopback addresses of simulated nodes and BMCs.
// Kept in memory and mirrored to <labDir>/address-map.json in the format of src/adapters/net/file-map.ts,
// so stand-in CLIs and spawned fronts (TPI_LAB_DIR / TPI_ADDRESS_MAP) see the same table.
import { renameSync, writeFileSync } from 'node:fs'
import { parseHostPort } from '../src/adapters/net/file-map.js'
import type { AddressMap } from '../src/adapters/net/types.js'

export const NODE_PORTS: Record<number, number> = { 22: 2222, 50000: 50000, 6443: 6443 }

export class LabAddressMap implements AddressMap {
  private table: Record<string, string> = {}
  constructor(readonly file: string) {
    this.flush()
  }

  map(host: string, port: number): { host: string; port: number } {
    const to = this.table[`${host}:${port}`] ?? this.table[host]
    if (!to) return { host, port }
    const t = parseHostPort(to)
    return { host: t.host, port: t.port ?? port }
  }

  // A booted node claims a LAN address: its SSH, Talos and Kubernetes ports lead to its loopback address.
  setNode(lanIp: string, board: number, slot: number): void {
    this.clearTarget(`127.10.${board}.${slot}`)
    for (const [from, to] of Object.entries(NODE_PORTS))
      this.table[`${lanIp}:${from}`] = `127.10.${board}.${slot}:${to}`
    this.table[lanIp] = `127.10.${board}.${slot}`
    this.flush()
  }

  removeNode(board: number, slot: number): void {
    this.clearTarget(`127.10.${board}.${slot}`)
    this.flush()
  }

  // A BMC endpoint from a cluster file ("https://10.0.0.5", "10.0.0.5:443") → that board's emulator.
  setBmc(endpoint: string, host: string, port: number): void {
    const url = /^[a-z]+:\/\//.test(endpoint) ? new URL(endpoint) : new URL(`https://${endpoint}`)
    const lanHost = url.hostname.replace(/^\[|\]$/g, '')
    const lanPort = url.port ? Number(url.port) : url.protocol === 'http:' ? 80 : 443
    this.table[`${lanHost}:${lanPort}`] = `${host}:${port}`
    this.table[lanHost] ??= `${host}:${port}`
    this.flush()
  }

  // A service of the LAN that is no node (e.g. a load balancer in front of the API): one host:port.
  setService(lanHost: string, lanPort: number, host: string, port: number): void {
    this.table[`${lanHost}:${lanPort}`] = `${host}:${port}`
    this.flush()
  }

  entries(): Record<string, string> {
    return { ...this.table }
  }

  private clearTarget(prefix: string): void {
    for (const [k, v] of Object.entries(this.table))
      if (v === prefix || v.startsWith(`${prefix}:`)) delete this.table[k]
  }

  private flush(): void {
    // Write-then-rename: readers never see half a file.
    const tmp = `${this.file}.tmp`
    writeFileSync(tmp, JSON.stringify(this.table, null, 2) + '\n')
    renameSync(tmp, this.file)
  }
}
