import { describe, expect, it } from '@jest/globals'
import {
  cidrContains,
  cidrsOverlap,
  formatIPv4,
  parseCidr,
  parseIPv4,
  parseRange
} from '../../../src/core/config/net.js'

describe('IPv4 helpers', () => {
  it.each([
    ['10.10.88.73', true],
    ['255.255.255.255', true],
    ['10.10.88.256', false],
    ['10.10.88', false],
    ['010.1.1.1', false],
    ['a.b.c.d', false]
  ])('parseIPv4(%s) valid=%s', (text, ok) => {
    expect(parseIPv4(text) !== undefined).toBe(ok)
  })

  it('round-trips addresses', () => {
    expect(formatIPv4(parseIPv4('192.168.1.200')!)).toBe('192.168.1.200')
  })

  it('parses CIDRs, refusing host bits', () => {
    expect(parseCidr('10.96.0.0/12')).toMatchObject({ prefix: 12 })
    expect(parseCidr('10.96.0.1/12')).toBeUndefined()
    expect(parseCidr('10.96.0.0/33')).toBeUndefined()
  })

  it('tells containment and overlap', () => {
    const svc = parseCidr('10.96.0.0/12')!
    expect(cidrContains(svc, parseIPv4('10.96.0.10')!)).toBe(true)
    expect(cidrContains(svc, parseIPv4('10.112.0.0')!)).toBe(false)
    expect(cidrsOverlap(svc, parseCidr('10.244.0.0/16')!)).toBe(false)
    expect(cidrsOverlap(svc, parseCidr('10.100.0.0/16')!)).toBe(true)
  })

  it('parses first-last ranges and CIDR pools', () => {
    expect(parseRange('10.10.88.80-10.10.88.89').range).toEqual({
      first: parseIPv4('10.10.88.80'),
      last: parseIPv4('10.10.88.89')
    })
    expect(parseRange('10.10.88.80/29').range?.last).toBe(parseIPv4('10.10.88.87'))
    expect(parseRange('10.10.88.89-10.10.88.80').problem).toBe('starts after it ends')
  })
})
