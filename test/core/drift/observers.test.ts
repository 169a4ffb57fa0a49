import { describe, expect, it } from '@jest/globals'
import { createServer, type AddressInfo } from 'node:net'
import { tcpConnect } from '../../../src/core/drift/observers.js'

describe('tcpConnect', () => {
  it('is true when a loopback port accepts and false once it is closed', async () => {
    const server = createServer((socket) => socket.end())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    expect(await tcpConnect('127.0.0.1', port, 1000)).toBe(true)
    await new Promise<void>((resolve) => server.close(() => resolve()))
    expect(await tcpConnect('127.0.0.1', port, 1000)).toBe(false)
  })
})
