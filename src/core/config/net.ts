// IPv4 helpers for validation: addresses as unsigned 32-bit numbers, CIDRs and "first-last" ranges.

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)
  if (!m) return undefined
  const parts = m.slice(1).map(Number)
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return undefined
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3]
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

export interface Cidr {
  base: number
  prefix: number
  /** First and last address covered. */
  first: number
  last: number
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text)
  if (!m) return undefined
  const ip = parseIPv4(m[1])
  const prefix = Number(m[2])
  if (ip === undefined || prefix > 32) return undefined
  const size = 2 ** (32 - prefix)
  const first = Math.floor(ip / size) * size
  if (first !== ip) return undefined // host bits set: 10.0.0.1/8 is a typo more often than intent
  return { base: ip, prefix, first, last: first + size - 1 }
}

export const cidrContains = (c: Cidr, ip: number): boolean => ip >= c.first && ip <= c.last
export const cidrsOverlap = (a: Cidr, b: Cidr): boolean => a.first <= b.last && b.first <= a.last

export interface IpRange {
  first: number
  last: number
}

/** "10.10.88.80-10.10.88.89"; also accepts a CIDR, as MetalLB does. */
export function parseRange(text: string): { range?: IpRange; problem?: string } {
  if (text.includes('/')) {
    const c = parseCidr(text)
    return c ? { range: { first: c.first, last: c.last } } : { problem: 'is not a valid CIDR' }
  }
  const parts = text.split('-')
  if (parts.length !== 2) return { problem: 'is not of the form first-last, e.g. 10.10.88.80-10.10.88.89' }
  const [a, b] = parts.map(parseIPv4)
  if (a === undefined || b === undefined) return { problem: 'has an address that is not a valid IPv4 address' }
  if (a > b) return { problem: 'starts after it ends' }
  return { range: { first: a, last: b } }
}

export const inRange = (r: IpRange, ip: number): boolean => ip >= r.first && ip <= r.last

/** The default gateway: the first usable host of the network `ip` sits in (the usual router address). */
export function defaultGateway(ip: string, prefix: number): string | undefined {
  const n = parseIPv4(ip)
  if (n === undefined) return undefined
  const size = 2 ** (32 - prefix)
  return formatIPv4(Math.floor(n / size) * size + 1)
}

/** The node's gateway: the file's, else the default rule. */
export const gatewayOf = (network: { gateway?: string; prefix: number }, ip: string): string =>
  network.gateway ?? defaultGateway(ip, network.prefix) ?? ip
