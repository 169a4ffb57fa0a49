// What each node is right now, seen through talosctl: in maintenance mode (fresh image, waiting for a
// config), configured (its secure API answers), or unreachable. Read-only. With this cluster's
// talosconfig, one `get machineconfig` over all nodes sees every configured node and its applied config
// at once; only the nodes it does not return are asked one by one over the maintenance service.
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import type { NodeSpec } from '../../config/model.js'
import type { Deps } from '../../deps.js'
import { PhaseError } from '../../errors.js'
import { modeFromDisks, parseMachineConfigs, parseMachineStatus, type AppliedConfig, type NodeMode } from './answers.js'
import { getDisksInsecureArgv, machineConfigsArgv, machineStatusArgv } from './argv.js'

export interface Observed {
  node: NodeSpec
  mode: NodeMode
  /** The last line talosctl printed when the node did not answer as expected. */
  detail: string
  /** A configured node's machine config as it holds it (when the node returned it). */
  applied?: AppliedConfig
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1)?.slice(0, 300) ?? ''

export async function observeNode(talosctl: Talosctl, node: NodeSpec): Promise<Observed> {
  const r = await talosctl.run(getDisksInsecureArgv(node.ip), { timeoutMs: 30_000 })
  return { node, mode: modeFromDisks(r), detail: r.code === 0 ? '' : lastLine(r.stderr || r.stdout) }
}

export async function observeAll(talosctl: Talosctl, nodes: NodeSpec[], talosconfig?: string): Promise<Observed[]> {
  const applied = new Map<string, AppliedConfig>()
  if (talosconfig && nodes.length) {
    // A node that does not answer fails only its own part (or, the first node, the whole call): either way
    // the documents that came back are each from a node that holds a config of this cluster's PKI.
    const r = await talosctl.run(
      machineConfigsArgv(
        nodes.map((n) => n.ip),
        talosconfig
      ),
      { timeoutMs: 30_000 }
    )
    for (const [ip, config] of parseMachineConfigs(r.stdout)) applied.set(ip, config)
  }
  return Promise.all(
    nodes.map((n) => {
      const config = applied.get(n.ip)
      return config
        ? Promise.resolve<Observed>({ node: n, mode: 'configured', detail: '', applied: config })
        : observeNode(talosctl, n)
    })
  )
}

/**
 * Waits until a node's secure API reports the machine running (after an install or a reboot). Bounded
 * by timeoutMs; the error names the stage and unmet conditions last seen.
 */
export async function waitRunning(o: {
  talosctl: Talosctl
  deps: Pick<Deps, 'sleep'>
  node: NodeSpec
  talosconfig: string
  timeoutMs: number
  phase: string
  pollMs?: number
}): Promise<void> {
  const end = Date.now() + o.timeoutMs
  let seen: string
  for (;;) {
    const r = await o.talosctl.run(machineStatusArgv(o.node.ip, o.talosconfig), { timeoutMs: 30_000 })
    if (r.code === 0) {
      const s = parseMachineStatus(r.stdout)
      if (s?.stage === 'running') return
      seen = s
        ? `stage ${s.stage}${s.unmet.length ? ` (${s.unmet.join('; ')})` : ''}`
        : `unreadable machinestatus: ${lastLine(r.stdout)}`
    } else {
      seen = lastLine(r.stderr || r.stdout)
    }
    if (Date.now() >= end) {
      throw new PhaseError(
        o.phase,
        o.node.id,
        `Talos on ${o.node.ip} did not reach stage running within ${Math.round(o.timeoutMs / 1000)} s; last seen: ${seen}`,
        're-run the workflow; nodes already configured are not touched again',
        { code: 'TalosNotRunning' }
      )
    }
    await o.deps.sleep(o.pollMs ?? 3000)
  }
}
