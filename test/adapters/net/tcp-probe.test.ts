import { describe, expect, it } from '@jest/globals'
import { createServer, type AddressInfo } from 'node:net'
import { tcpOpen } from '../../../src/adapters/net/tcp-probe.js'

describe('tcpOpen', () => {
  it('is true when a loopback port accepts and false once it is closed', async () => {
    const server = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    expect(await tcpOpen('127.0.0.1', port, 1000)).toBe(true)
    await new Promise<void>((resolve) => server.close(() => resolve()))
    expect(await tcpOpen('127.0.0.1', port, 1000)).toBe(false)
  })
})
