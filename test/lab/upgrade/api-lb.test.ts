import { afterEach, describe, expect, it } from '@jest/globals'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { startApiLb, type ApiLb } from '../../../lab/upgrade/api-lb.js'

// Backends are plain TCP servers on 127.0.0.1: each answers "<name>:" followed by what it received.
const closers: (() => Promise<unknown>)[] = []
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  for (const close of closers.splice(0).reverse()) await close()
})

interface Echo {
  host: string
  port: number
  server: Server
  received: string[]
  conns: Socket[]
}
async function echo(name: string): Promise<Echo> {
  const e: Echo = { host: '127.0.0.1', port: 0, server: createServer(), received: [], conns: [] }
  e.server.on('connection', (s) => {
    e.conns.push(s)
    sockets.push(s)
    s.on('error', () => undefined)
    s.on('data', (d) => {
      e.received.push(d.toString())
      s.write(`${name}:${d.toString()}`)
    })
  })
  await new Promise<void>((r) => e.server.listen(0, '127.0.0.1', r))
  e.port = (e.server.address() as { port: number }).port
  closers.push(() => new Promise((r) => e.server.close(r)))
  return e
}
/** A port nothing listens on: connects to it are refused. */
async function refused(): Promise<{ host: string; port: number }> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return { host: '127.0.0.1', port }
}
async function lb(backends: { host: string; port: number }[]): Promise<ApiLb> {
  const l = await startApiLb({ host: '127.0.0.2', port: 0, backends, connectTimeoutMs: 2000 })
  closers.push(() => l.stop())
  return l
}

/** Connects through the LB, sends `say`, and resolves with what came back until the connection closed or `until` matched. */
function exchange(l: ApiLb, say: string, until?: RegExp): Promise<{ got: string; closed: boolean; socket: Socket }> {
  return new Promise((resolve) => {
    const s = connect({ host: l.host, port: l.port })
    sockets.push(s)
    let got = ''
    s.on('error', () => undefined)
    s.on('connect', () => s.write(say))
    s.on('data', (d) => {
      got += d.toString()
      if (until?.test(got)) resolve({ got, closed: false, socket: s })
    })
    s.on('close', () => resolve({ got, closed: true, socket: s }))
  })
}

describe('the lab’s TCP load balancer for the Kubernetes API', () => {
  it('pipes a connection both ways to a backend, taking the backends in turn', async () => {
    const [a, b] = [await echo('a'), await echo('b')]
    const l = await lb([a, b])
    const one = await exchange(l, 'hello', /:hello$/)
    const two = await exchange(l, 'again', /:again$/)
    expect([one.got, two.got]).toEqual(['a:hello', 'b:again'])
    expect(l.stats.served).toEqual({ [`127.0.0.1:${a.port}`]: 1, [`127.0.0.1:${b.port}`]: 1 })
  })

  it('passes over a backend that refuses the connect and tries the next one', async () => {
    const dead = await refused()
    const live = await echo('live')
    const l = await lb([dead, live])
    const got = [await exchange(l, 'x', /:x$/), await exchange(l, 'y', /:y$/)].map((r) => r.got)
    expect(got).toEqual(['live:x', 'live:y'])
    expect(l.stats.passedOver).toEqual({ [`127.0.0.1:${dead.port}`]: 1 })
    expect(l.stats.served).toEqual({ [`127.0.0.1:${live.port}`]: 2 })
  })

  it('closes the client’s connection, sending nothing, when no backend accepts', async () => {
    const l = await lb([await refused(), await refused()])
    const r = await exchange(l, 'anyone?')
    expect(r).toMatchObject({ got: '', closed: true })
    expect(l.stats.noBackend).toBe(1)
  })

  it('breaks an established connection when its backend dies, replaying nothing to another backend', async () => {
    const [a, b] = [await echo('a'), await echo('b')]
    const l = await lb([a, b])
    const r = await exchange(l, 'first', /:first$/)
    expect(r.got).toBe('a:first')
    const closed = new Promise((done) => r.socket.on('close', done))
    // The backend dies with unread bytes in flight: its kernel resets the connection.
    a.conns[0]!.pause()
    r.socket.write('lost')
    await new Promise((done) => setTimeout(done, 100))
    a.conns[0]!.resetAndDestroy()
    await closed
    expect(r.socket.destroyed).toBe(true)
    expect(b.received).toEqual([])
    expect(l.stats.broken).toBe(1)
  })

  it('ends the client’s connection when its backend closes it, and a new connection goes to a live backend', async () => {
    const [a, b] = [await echo('a'), await echo('b')]
    const l = await lb([a, b])
    const r = await exchange(l, 'one', /:one$/)
    const ended = new Promise((done) => r.socket.on('end', done))
    a.conns[0]!.end()
    await ended
    a.server.close()
    const next = await exchange(l, 'two', /:two$/)
    const third = await exchange(l, 'three', /:three$/)
    expect([next.got, third.got]).toEqual(['b:two', 'b:three'])
  })
})
