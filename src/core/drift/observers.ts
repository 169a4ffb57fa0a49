// What drift needs beyond Deps: a plain TCP connect (the Talos API on 50000 speaks gRPC/TLS, so "it
// accepts a connection" is the read-only reachability check) and the time limit per observation.
import { connect } from 'node:net'

export interface DriftObservers {
  /** True when a TCP connection to host:port opens within timeoutMs. Never throws. */
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<boolean>
  /** Limit for each single observation (BMC call, probe); default 5000 ms. */
  timeoutMs?: number
}

export const DEFAULT_OBSERVATION_TIMEOUT_MS = 5000

export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    const done = (ok: boolean): void => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export const defaultDriftObservers: DriftObservers = { tcpConnect }
