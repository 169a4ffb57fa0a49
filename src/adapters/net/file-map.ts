// An AddressMap read from a JSON file, re-read when the file changes. The lab writes one (LAN address
// of each simulated node and BMC → its loopback address) and points TPI_ADDRESS_MAP at it, so the
// action's real bundle reaches the lab without knowing it is one. Operators can use the same file to
// reach a board through port forwards.
//
// Format: { "10.10.88.73:22": "127.10.0.1:2222", "10.10.88.73": "127.10.0.1", ... }
// A "host:port" entry wins over a bare "host" entry; a bare entry keeps the port.
import { readFileSync, statSync } from 'node:fs'
import type { AddressMap } from './types.js'

export function parseHostPort(text: string): { host: string; port?: number } {
  const m = /^(.*):(\d+)$/.exec(text)
  return m ? { host: m[1], port: Number(m[2]) } : { host: text }
}

export function createFileAddressMap(file: string): AddressMap {
  let cached: { mtimeMs: number; size: number; table: Record<string, string> } | undefined
  const table = (): Record<string, string> => {
    const st = statSync(file)
    if (!cached || cached.mtimeMs !== st.mtimeMs || cached.size !== st.size)
      cached = {
        mtimeMs: st.mtimeMs,
        size: st.size,
        table: JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
      }
    return cached.table
  }
  return {
    map(host, port) {
      const t = table()
      const exact = t[`${host}:${port}`]
      if (exact) {
        const to = parseHostPort(exact)
        return { host: to.host, port: to.port ?? port }
      }
      const bare = t[host]
      if (bare) {
        const to = parseHostPort(bare)
        return { host: to.host, port: to.port ?? port }
      }
      return { host, port }
    }
  }
}
