// What drift may be given beyond Deps: another TCP probe (tests count or fake the connections) and the
// time limit per observation.
import type { TcpProbe } from '../../adapters/net/tcp-probe.js'

export interface DriftObservers {
  /** Replaces deps.tcp for drift's reachability checks (BMC, Talos API). Never throws. */
  tcpConnect?: TcpProbe
  /** Limit for each single observation (BMC call, probe); default 5000 ms. */
  timeoutMs?: number
}

export const DEFAULT_OBSERVATION_TIMEOUT_MS = 5000
