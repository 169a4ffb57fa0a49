// Board-level drift: the BMC answers, every slot that holds a cluster node is powered on, and the module
// in the slot is an RK1. Read-only: only about, power and node_info are called.
import type { BmcClient, NodeInfo, PowerState } from '../../adapters/bmc/types.js'
import type { BoardSpec, NodeSpec } from '../config/model.js'
import type { Deps } from '../deps.js'
import type { Reporter } from '../reporter.js'
import { bounded, reason } from './bounded.js'
import type { DriftFinding } from './types.js'

export interface BoardObservation {
  findings: DriftFinding[]
  /** Node ids whose slot the BMC reports as not on: not probed further (the power row explains them). */
  poweredOff: string[]
}

export function boardSubject(board: BoardSpec): string {
  return `board ${board.name}`
}

export async function observeBoard(
  deps: Pick<Deps, 'bmc'>,
  reporter: Reporter,
  board: BoardSpec,
  nodes: NodeSpec[],
  timeoutMs: number
): Promise<BoardObservation> {
  const subject = boardSubject(board)
  const endpoint = board.bmc.endpoint
  const unreachable = (field: string, wanted: string, error: unknown): BoardObservation => ({
    findings: [{ subject, field, wanted, found: reason(error), kind: 'unreachable', fixedBy: [], path: [...board.path] }],
    poweredOff: []
  })

  let client: BmcClient
  try {
    client = await bounded(`the BMC of board ${board.name} at ${endpoint}`, timeoutMs, () => deps.bmc(board))
    await bounded(`the BMC of board ${board.name} at ${endpoint}`, timeoutMs, () => client.about())
  } catch (error) {
    return unreachable('bmc', `reachable at ${endpoint}`, error)
  }

  // Both are plain reads: ask at once, so a board costs two BMC round trips rather than three.
  const [powerRead, infoRead] = await Promise.allSettled([
    bounded(`power state from the BMC of board ${board.name}`, timeoutMs, () => client.power()),
    bounded(`node info from the BMC of board ${board.name}`, timeoutMs, () => client.nodeInfo())
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
