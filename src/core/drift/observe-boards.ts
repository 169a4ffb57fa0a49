// Board-level drift: the BMC answers, every slot that holds a cluster node is powered on, and the module
// in the slot is an RK1. Read-only: only about, power and node_info are called. A BMC whose port takes no
// connection is told apart first with one TCP connect: the client's login would retry a refused
// connection for seconds (right for a deploy), and the run would then wait for those retries to end.
import type { BmcClient, NodeInfo, PowerState } from '../../adapters/bmc/types.js'
import type { BoardSpec, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import type { Reporter } from '../reporter.js'
import { bounded, ObservationTimeout, reason } from './bounded.js'
import type { TcpProbe } from '../../adapters/net/tcp-probe.js'
import type { DriftFinding } from './types.js'

export interface BoardObservation {
  findings: DriftFinding[]
  /** Node ids whose slot the BMC reports as not on: not probed further (the power row explains them). */
  poweredOff: string[]
}

export function boardSubject(board: BoardSpec): string {
  return `board ${board.name}`
}

/** The LAN host and port of a BMC endpoint (https://10.10.88.70 → 10.10.88.70:443), as the BMC client connects. */
export function bmcAddress(endpoint: string): { host: string; port: number } {
  const url = new URL(/^[a-z]+:\/\//i.test(endpoint) ? endpoint : `https://${endpoint}`)
  return { host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || (url.protocol === 'http:' ? 80 : 443)) }
}

export async function observeBoard(
  deps: Pick<Deps, 'bmc' | 'net'>,
  reporter: Reporter,
  board: BoardSpec,
  nodes: NodeSpec[],
  timeoutMs: number,
  tcpConnect?: TcpProbe
): Promise<BoardObservation> {
  const subject = boardSubject(board)
  const endpoint = board.bmc.endpoint
  const unreachable = (field: string, wanted: string, error: unknown): BoardObservation => ({
    findings: [
      { subject, field, wanted, found: reason(error), kind: 'unreachable', fixedBy: [], path: [...board.path] }
    ],
    poweredOff: []
  })

  if (tcpConnect) {
    const lan = bmcAddress(endpoint)
    const target = deps.net.map(lan.host, lan.port)
    const open = await bounded(`the BMC of board ${board.name} at ${endpoint}`, timeoutMs + 1000, () =>
      tcpConnect(target.host, target.port, timeoutMs)
    ).catch(() => false)
    if (!open)
      return unreachable(
        'bmc',
        `reachable at ${endpoint}`,
        `no connection to ${lan.host}:${lan.port} (refused, or no answer within ${timeoutMs / 1000} s)`
      )
  }

  // Giving up on the BMC (a time limit passed) also ends the client's requests and backoff, which would
  // otherwise keep the job alive long after this board's row is written.
  const giveUp = new AbortController()
  const within = <T>(what: string, work: () => Promise<T>): Promise<T> =>
    bounded(what, timeoutMs, work).catch((error: unknown) => {
      if (error instanceof ObservationTimeout) giveUp.abort()
      throw error
    })
  let client: BmcClient
  try {
    client = await within(`the BMC of board ${board.name} at ${endpoint}`, () =>
      deps.bmc(board, { signal: giveUp.signal })
    )
    await within(`the BMC of board ${board.name} at ${endpoint}`, () => client.about())
  } catch (error) {
    return unreachable('bmc', `reachable at ${endpoint}`, error)
  }

  // Both are plain reads: ask at once, so a board costs two BMC round trips rather than three.
  const [powerRead, infoRead] = await Promise.allSettled([
    within(`power state from the BMC of board ${board.name}`, () => client.power()),
    within(`node info from the BMC of board ${board.name}`, () => client.nodeInfo())
  ])
  if (powerRead.status === 'rejected') return unreachable('power', 'power state readable', powerRead.reason)
  const power: PowerState = powerRead.value

  const findings: DriftFinding[] = []
  const poweredOff: string[] = []
  for (const node of nodes) {
    const state = power[node.slot] ?? 'unknown'
    if (state === 'on') continue
    poweredOff.push(node.id)
    findings.push({
      subject: node.id,
      field: 'power',
      wanted: 'on',
      found: `${state} (board ${board.name} slot ${node.slot})`,
      kind: 'drift',
      fixedBy: ['boot'],
      path: [...node.path, 'node']
    })
  }

  // node_info first shipped in firmware 2.3.x; on older firmware the check is skipped, not failed.
  let info: NodeInfo[] | undefined
  if (infoRead.status === 'fulfilled') info = infoRead.value
  else reporter.debug(`board ${board.name}: node info not available (${reason(infoRead.reason)}); module check skipped`)
  for (const node of nodes) {
    const module = info?.find((i) => i.slot === node.slot)?.moduleName
    if (module && !/rk1/i.test(module))
      findings.push({
        subject: node.id,
        field: 'module',
        wanted: 'RK1',
        found: `${module} (board ${board.name} slot ${node.slot})`,
        kind: 'drift',
        fixedBy: [],
        path: [...node.path, 'node']
      })
  }
  return { findings, poweredOff }
}
