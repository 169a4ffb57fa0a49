// A plain TCP connect: "something accepts at host:port". The Talos API (gRPC over TLS) and a BMC are
// probed this way, read-only. Callers map the address through deps.net first.
import { connect } from 'node:net'

export type TcpProbe = (host: string, port: number, timeoutMs: number) => Promise<boolean>

/** True when something accepts within timeoutMs. Never throws. */
export const tcpOpen: TcpProbe = (host, port, timeoutMs) =>
  new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
