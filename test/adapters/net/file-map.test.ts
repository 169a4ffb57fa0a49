import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createFileAddressMap } from '../../../src/adapters/net/file-map.js'

describe('file address map', () => {
  it('maps host:port entries first, bare hosts keeping the port, others unchanged', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'map-')), 'map.json')
    writeFileSync(file, JSON.stringify({ '10.10.88.73:22': '127.10.0.1:2222', '10.10.88.73': '127.10.0.1' }))
    const map = createFileAddressMap(file)
    expect(map.map('10.10.88.73', 22)).toEqual({ host: '127.10.0.1', port: 2222 })
    expect(map.map('10.10.88.73', 6443)).toEqual({ host: '127.10.0.1', port: 6443 })
    expect(map.map('10.10.88.99', 22)).toEqual({ host: '10.10.88.99', port: 22 })
  })

  it('sees entries added after it was created (nodes that booted later)', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'map-')), 'map.json')
    writeFileSync(file, '{}')
    const map = createFileAddressMap(file)
    expect(map.map('10.10.88.74', 22).host).toBe('10.10.88.74')
    writeFileSync(file, JSON.stringify({ '10.10.88.74:22': '127.10.0.2:2222', pad: 'x' }))
    expect(map.map('10.10.88.74', 22)).toEqual({ host: '127.10.0.2', port: 2222 })
  })
})
