// A command that ends at once: its exit status can reach the client in the same read as the channel's
// opening (a loaded runner, a fast node). The exit code must still be the command's, never read as a lost
// connection. The peer here is an ssh2 server that answers every exec in one write: success, output,
// exit status, EOF and close together.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import ssh2 from 'ssh2'
import type { AddressInfo } from 'node:net'
import { createSshConnector } from '../../../src/adapters/ssh/ssh2-connector.js'
import { validEd25519 } from '../../../lab/node/armbian.js'

const hostKey = validEd25519()
const clientKey = validEd25519()
let server: ssh2.Server
let port: number

beforeAll(async () => {
  server = new ssh2.Server({ hostKeys: [hostKey.private] }, (client) => {
    client.on('authentication', (ctx) => (ctx.method === 'publickey' ? ctx.accept() : ctx.reject(['publickey'])))
    client.on('ready', () =>
      client.on('session', (acceptSession) => {
        const session = acceptSession()
        session.on('exec', (accept, _reject, info) => {
          const stream = accept()
          // Everything in the same tick: one TCP write with the channel's success reply.
          stream.write(`ran ${info.command.length > 0 ? 'it' : ''}\n`)
          stream.exit(7)
          stream.end()
        })
      })
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

describe('an exec whose exit status arrives with the channel opening', () => {
  test("returns the command's exit code and output, every time", async () => {
    const { shell } = await createSshConnector({ connectAttempts: 1 }).connect({
      node: 'fast',
      host: '127.0.0.1',
      port,
      user: 'root',
      privateKey: clientKey.private,
      connectTimeoutMs: 5000
    })
    try {
      const codes: number[] = []
      for (let i = 0; i < 20; i++) {
        const r = await shell.exec('true', { timeoutMs: 5000 })
        expect(r.stdout).toBe('ran it\n')
        codes.push(r.code)
      }
      expect(codes).toEqual(Array(20).fill(7))
    } finally {
      await shell.close()
    }
  })
})
