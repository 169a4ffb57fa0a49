// What drift needs beyond Deps: a plain TCP connect (the Talos API on 50000 speaks gRPC/TLS, so "it
// accepts a connection" is the read-only reachability check) and the time limit per observation.
import { tcpOpen } from '../phases/boot/detect.js'

export interface DriftObservers {
  /** True when a TCP connection to host:port opens within timeoutMs. Never throws. */
  tcpConnect(host: string, port: number, timeoutMs: number): Promise<boolean>
  /** Limit for each single observation (BMC call, probe); default 5000 ms. */
  timeoutMs?: number
}

export const DEFAULT_OBSERVATION_TIMEOUT_MS = 5000

/** The same TCP probe the boot phase uses (one implementation). */
export const tcpConnect = tcpOpen

export const defaultDriftObservers: DriftObservers = { tcpConnect }
