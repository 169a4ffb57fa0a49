// A TCP load balancer for the Kubernetes API, as users put in front of Talos control planes (HAProxy in
// `mode tcp` with `retries` and `option redispatch`, or nginx's stream module): for each client
// connection it picks the next backend in turn and connects; a backend that refuses, or does not accept
// within the connect time-out, is passed over for the next one, each tried at most once. Once connected it
// only pipes bytes: a backend that then dies breaks the client's connection (nothing is replayed), and a
// client no backend accepts is closed. It never looks inside TLS, so the API's certificate (and its SANs)
// is what the client checks, as through a real TCP load balancer.
import { connect, createServer, type Socket } from 'node:net'

export interface Backend {
  host: string
  port: number
}

export interface ApiLbOptions {
  /** Loopback address and port to listen on (the lab maps the LAN address of the cluster file here). */
  host: string
  port: number
  backends: Backend[]
  /** How long a backend may take to accept a connection before the next is tried (HAProxy `timeout connect`). */
  connectTimeoutMs?: number
}

export interface ApiLbStats {
  /** Client connections piped to each backend, by "host:port". */
  served: Record<string, number>
  /** Connect attempts a backend refused or let time out, by "host:port". */
  passedOver: Record<string, number>
  /** Client connections closed because no backend accepted them. */
  noBackend: number
  /** Piped connections a backend broke (reset or died), so the client's connection was broken too. */
  broken: number
}

export interface ApiLb {
  host: string
  port: number
  stats: ApiLbStats
  stop(): Promise<void>
}

const key = (b: Backend): string => `${b.host}:${b.port}`

export async function startApiLb(o: ApiLbOptions): Promise<ApiLb> {
  if (!o.backends.length) throw new Error('api-lb: no backends')
  const timeoutMs = o.connectTimeoutMs ?? 1000
  const stats: ApiLbStats = { served: {}, passedOver: {}, noBackend: 0, broken: 0 }
  const sockets = new Set<Socket>()
  const track = (s: Socket): void => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  }
  let turn = 0

  // allowHalfOpen: a FIN from one side is passed on as a FIN to the other (pipe ends it), as a TCP
  // proxy does, instead of Node ending the socket on its own.
  const server = createServer({ pauseOnConnect: true, allowHalfOpen: true }, (client) => {
    track(client)
    client.on('error', () => undefined)
    const first = turn++ % o.backends.length
    let upstream: Socket | undefined
    client.on('close', () => upstream?.destroy())

    const attempt = (k: number): void => {
      if (client.destroyed) return
      if (k === o.backends.length) {
        stats.noBackend++
        client.destroy()
        return
      }
      const b = o.backends[(first + k) % o.backends.length]!
      const up = connect({ host: b.host, port: b.port, allowHalfOpen: true })
      upstream = up
      track(up)
      let piped = false
      const timer = setTimeout(() => up.destroy(new Error('connect timeout')), timeoutMs)
      up.once('connect', () => {
        clearTimeout(timer)
        if (client.destroyed) return void up.destroy()
        piped = true
        stats.served[key(b)] = (stats.served[key(b)] ?? 0) + 1
        client.pipe(up)
        up.pipe(client)
      })
      up.on('error', () => {
        clearTimeout(timer)
        if (piped) return
        stats.passedOver[key(b)] = (stats.passedOver[key(b)] ?? 0) + 1
        attempt(k + 1)
      })
      up.on('close', (hadError) => {
        clearTimeout(timer)
        if (!piped) return
        // An established connection the backend broke: the client's breaks too (nothing replayed).
        if (hadError) {
          stats.broken++
          client.destroy()
        } else if (!client.writableEnded) client.end()
      })
    }
    attempt(0)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(o.port, o.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : o.port
  return {
    host: o.host,
    port,
    stats,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
  }
}
