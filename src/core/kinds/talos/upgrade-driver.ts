// The wave's hands on a Talos cluster, all through talosctl against each node's own IP: the node's
// version (`talosctl version`) and readiness (`get machinestatus`), etcd health (`etcd status` on every
// control plane), and the upgrade itself (`talosctl upgrade --image … --wait` with the talosctl of the
// version the node runs, as Talos asks). Talos cordons and drains a node itself when it upgrades and
// uncordons it when it is back (its upgrade sequence), so cordon, drain and uncordon are no-ops here.
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import type { NodeSpec } from '../../config/model.js'
import type { NodeStep } from '../../upgrade/order.js'
import type { NodeObservation, WaveDriver } from '../../upgrade/wave.js'
import { parseMachineStatus, serverTag } from './answers.js'
import { machineStatusArgv, serverVersionArgv } from './argv.js'
import { etcdStatusArgv, parseEtcdStatus, upgradeArgv } from './upgrade-argv.js'

export interface TalosDriverInput {
  nodes: NodeSpec[]
  talosconfig: string
  /** talosctl of a given Talos version (the tool cache holds one per version). */
  talosctlFor(version: string): Promise<Talosctl>
  /** Any talosctl, for reads (version, machinestatus, etcd status). */
  reader: Talosctl
  /** The installer image of a version (factory.talos.dev/…installer/<schematic>:<version>). */
  image(version: string): string
  timeoutSeconds: number
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1)?.slice(0, 300) ?? ''

export function talosDriver(i: TalosDriverInput): WaveDriver {
  const byId = new Map(i.nodes.map((n) => [n.id, n]))
  const ipOf = (step: NodeStep): string => byId.get(step.node)?.ip ?? step.ip
  const controlPlanes = i.nodes.filter((n) => n.role === 'controlplane')

  const observe = async (step: NodeStep): Promise<NodeObservation> => {
    const ip = ipOf(step)
    const [v, s] = await Promise.all([
      i.reader.run(serverVersionArgv(ip, i.talosconfig), { timeoutMs: 15_000 }),
      i.reader.run(machineStatusArgv(ip, i.talosconfig), { timeoutMs: 15_000 })
    ])
    const version = v.code === 0 ? serverTag(v.stdout) : undefined
    const status = s.code === 0 ? parseMachineStatus(s.stdout) : undefined
    return {
      ready: status?.stage === 'running' && status.ready,
      ...(version ? { version } : {}),
      cordoned: false
    }
  }

  const etcd = async (): Promise<{ ok: boolean; seen: string }> => {
    const problems: string[] = []
    await Promise.all(
      controlPlanes.map(async (cp) => {
        const r = await i.reader.run(etcdStatusArgv(cp.ip, i.talosconfig), { timeoutMs: 15_000 })
        const row = parseEtcdStatus(r.stdout).find((x) => x.node === cp.ip)
        if (r.code !== 0 || !row) problems.push(`${cp.id}: ${lastLine(r.stderr || r.stdout) || `exit ${r.code}`}`)
        else if (row.learner) problems.push(`${cp.id} is a learner, not a voting member`)
        else if (row.errors) problems.push(`${cp.id}: ${row.errors}`)
      })
    )
    return problems.length
      ? { ok: false, seen: `talosctl etcd status: ${problems.sort().join('; ')}` }
      : { ok: true, seen: `etcd: ${controlPlanes.length} healthy member(s)` }
  }

  return {
    observe,
    ...(controlPlanes.length ? { etcd } : {}),
    drainCordons: true,
    cordon: async () => undefined,
    drain: async () => ({ ok: true }),
    uncordon: async () => undefined,
    upgrade: async (step, hop) => {
      const talosctl = await i.talosctlFor(hop.from)
      const argv = upgradeArgv({
        ip: ipOf(step),
        talosconfig: i.talosconfig,
        image: i.image(hop.to),
        timeoutSeconds: i.timeoutSeconds
      })
      const r = await talosctl.run(argv, { timeoutMs: (i.timeoutSeconds + 30) * 1000 })
      if (r.code !== 0)
        throw new Error(
          `talosctl upgrade --image ${i.image(hop.to)} on ${ipOf(step)}: ${lastLine(r.stderr || r.stdout)}`
        )
    }
  }
}
