// How a lab stand-in reaches a node: the LAN address from argv is looked up in the lab's address map
// ($TPI_ADDRESS_MAP, else $TPI_LAB_DIR/address-map.json) and only ever dialled on loopback. An address
// the map does not know fails like an unreachable host; nothing is ever sent to a LAN address.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export function mapAddress(ip, port, env = process.env) {
  const file = env.TPI_ADDRESS_MAP || (env.TPI_LAB_DIR ? join(env.TPI_LAB_DIR, 'address-map.json') : undefined)
  let table = {}
  if (file) {
    try {
      table = JSON.parse(readFileSync(file, 'utf8'))
    } catch {
      table = {}
    }
  }
  const to = table[`${ip}:${port}`] ?? table[ip]
  if (!to && /^127\./.test(ip)) return { host: ip, port }
  if (!to) return undefined
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(to)
  const host = m?.[1]
  if (!host || !/^127\./.test(host)) return undefined
  return { host, port: m[2] ? Number(m[2]) : port }
}
