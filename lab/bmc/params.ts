// Query parameter parsing with bmcd's exact messages.
import { LegacyError } from './envelope.js'

/** `node=0..3` → slot 1..4. bmcd parses an i32 and casts it to u8, so 256 wraps to node 0. */
export function parseNode(q: URLSearchParams): number {
  const raw = q.get('node')
  if (raw === null) throw new LegacyError(400, 'Missing `node` parameter')
  if (!/^[+-]?\d+$/.test(raw) || Math.abs(Number(raw)) > 2 ** 31)
    throw new LegacyError(400, 'Parameter `node` is not a number')
  const u8 = ((Number(raw) % 256) + 256) % 256
  if (u8 > 3) throw new LegacyError(400, 'Parameter `node` is out of range 0..3 of node IDs')
  return u8 + 1
}

export function requireParam(q: URLSearchParams, name: string): string {
  const v = q.get(name)
  if (v === null) throw new LegacyError(400, `Missing \`${name}\` parameter`)
  return v
}

export function parseNumber(q: URLSearchParams, name: string): number {
  const v = requireParam(q, name)
  if (!/^\d+$/.test(v)) throw new LegacyError(400, `Parameter \`${name}\` is not a number`)
  return Number(v)
}
