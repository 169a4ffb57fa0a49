// Deps.bmc for the fronts and the lab: one logged-in client per board, created on first use and shared
// (concurrent callers wait for the same login, so a board is never logged into twice in parallel);
// validate and a static plan never call it, so they never log in. The first caller's signal (drift
// giving up on a board) ends that client's requests and retries.
import { TpiError } from '../../core/errors.js'
import type { Reporter } from '../../core/reporter.js'
import type { AddressMap } from '../net/types.js'
import { createBmcClient } from './client.js'
import type { BmcClient } from './types.js'

/** The board fields the factory needs (structurally a BoardSpec from the cluster model). */
export interface BoardBmc {
  name: string
  bmc: { endpoint: string; username: string; tls: { fingerprint?: string; insecure: boolean } }
}

export interface BmcFactoryOptions {
  /** Without one, every board is refused with the input to set (no request is made). */
  password?: string
  /** Overrides the file's bmc.username (the bmc-username input). */
  username?: string
  net?: AddressMap
  reporter?: Reporter
  timeoutMs?: number
  sleep?: (ms: number) => Promise<void>
}

export function bmcFactory(
  options: BmcFactoryOptions
): (board: BoardBmc, call?: { signal?: AbortSignal }) => Promise<BmcClient> {
  const clients = new Map<string, Promise<BmcClient>>()
  return (board, call = {}) => {
    let client = clients.get(board.name)
    if (!client) {
      if (!options.password)
        return Promise.reject(
          new TpiError(
            'BmcPasswordMissing',
            `board ${board.name}: the BMC at ${board.bmc.endpoint} needs the bmc-password input (TPI_BMC_PASSWORD for the CLI)`
          )
        )
      client = createBmcClient({
        endpoint: board.bmc.endpoint,
        username: options.username ?? board.bmc.username,
        password: options.password,
        fingerprint: board.bmc.tls.fingerprint,
        insecure: board.bmc.tls.insecure,
        timeoutMs: options.timeoutMs,
        net: options.net,
        reporter: options.reporter,
        sleep: options.sleep,
        signal: call.signal
      })
      clients.set(board.name, client)
      client.catch(() => clients.delete(board.name))
    }
    return client
  }
}
