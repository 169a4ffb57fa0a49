// Gathering the evidence the live-member rule decides on, for a node with no flash record that does not
// answer: (a) ask the cluster of the file whether it counts the node (K3s: its Node object on a server
// that answers), else (b) look at the node itself through its BMC: powered on, does it boot anything
// beyond the SoC's DDR init within a bounded window? Read-only in the plan; the deploy may power the
// node on (or power-cycle a silent one) to look, never anything more.
import type { BmcClient } from '../../adapters/bmc/types.js'
import type { NodeSpec } from '../config/model.js'
import { newUartText, probeNode } from '../phases/boot/detect.js'
import { topology } from '../kinds/k3s/config.js'
import { withPool } from '../remote/shells.js'
import { perRun } from '../phases/per-run.js'
import type { PhaseContext } from '../phases/types.js'
import { installedSystemLine, member, notMember, unknown, type Membership } from './live-member.js'

export const osOf = (ctx: PhaseContext): 'armbian' | 'talos' => (ctx.cluster.kind === 'k3s' ? 'armbian' : 'talos')
export const sshPortOf = (ctx: PhaseContext): number => (ctx.cluster.kind === 'k3s' ? ctx.cluster.ssh.port : 22)

/** What the node would answer on, for the messages. */
export function answerPoint(ctx: PhaseContext, node: NodeSpec): string {
  return ctx.cluster.kind === 'k3s' ? `SSH on ${node.ip}:${sshPortOf(ctx)}` : `the Talos API on ${node.ip}:50000`
}

type NodeList = { server: string; names: Set<string> } | { why: string }
const nodeLists = perRun<NodeList>()

/** `k3s kubectl get nodes` on the first server of the file that answers (once per run). */
async function k3sNodeList(ctx: PhaseContext): Promise<NodeList> {
  if (!ctx.settings.secrets.sshPrivateKey) return { why: 'no SSH private key to ask the cluster' }
  const servers = topology(ctx.cluster).servers
  const answering = (
    await Promise.all(servers.map(async (s) => ((await probeNode(ctx.deps, 'armbian', s.ip, sshPortOf(ctx)).catch(() => false)) ? s : undefined)))
  ).filter((s): s is NodeSpec => s !== undefined)
  if (!answering.length) return { why: `no control plane of the file answers (${servers.map((s) => s.id).join(', ')})` }
  const seen: string[] = []
  for (const server of answering) {
    try {
      const out = await withPool(ctx, 'flash', async (pool) => (await pool.shell(server)).exec('k3s kubectl get nodes -o json', { timeoutMs: 20_000 }))
      if (out.code !== 0) {
        seen.push(`${server.id}: k3s kubectl exited ${out.code}`)
        continue
      }
      const items = (JSON.parse(out.stdout) as { items?: { metadata?: { name?: string } }[] }).items ?? []
      return { server: server.id, names: new Set(items.map((i) => i.metadata?.name ?? '')) }
    } catch (error) {
      seen.push(`${server.id}: ${(error as Error).message.split('\n')[0]}`)
    }
  }
  return { why: `no control plane of the file lists its nodes (${seen.join('; ')})` }
}

/** (a) The cluster's own answer. Talos membership is not read from the cluster: 'unknown', and (b) decides. */
export async function clusterMembership(ctx: PhaseContext, node: NodeSpec): Promise<Membership> {
  if (ctx.cluster.kind !== 'k3s') return unknown('the Talos cluster is not asked for its members')
  const list = await nodeLists(ctx.outputs, () => k3sNodeList(ctx), 'k3s-nodes')
  if ('why' in list) return unknown(list.why)
  return list.names.has(node.hostname)
    ? member(`the k3s API on ${list.server} lists Node "${node.hostname}"`)
    : notMember(`the k3s API on ${list.server} answers and lists no Node "${node.hostname}"`)
}

/** The answer of (b): a verdict, or the node came up and answers (it is then not flashed at all). */
export type BootEvidence = { membership: Membership } | { answers: true; line: string } | { wouldProbe: string }

const POLL_MS = 500

/** How long a powered-on node may print only DDR-init lines before it counts as booting nothing. */
export function blankWindowMs(bootTimeoutS: number): number {
  return Math.min(10_000, Math.max(2_000, Math.round((bootTimeoutS * 1000) / 30)))
}

async function bmcOf(ctx: PhaseContext, node: NodeSpec): Promise<BmcClient> {
  const board = ctx.cluster.boardList.find((b) => b.name === node.board)
  if (!board) throw new Error(`board "${node.board}" is not in the cluster file`)
  return ctx.deps.bmc(board)
}

/**
 * (b) The node itself. A node powered on whose console already shows an installed system but that does
 * not answer is never touched: unknown. Otherwise, when `act` (deploy), it is powered on (a silent
 * powered node power-cycled) and watched: nothing beyond DDR init within the window → nothing to
 * destroy; a boot loader or system → wait for it to answer (then it is not flashed), else unknown.
 */
export async function bootEvidence(ctx: PhaseContext, node: NodeSpec, act: boolean): Promise<BootEvidence> {
  let bmc: BmcClient
  let power: string
  let ring: string
  try {
    bmc = await bmcOf(ctx, node)
    power = (await bmc.power())[node.slot]
    ring = await bmc.readUart(node.slot)
  } catch (error) {
    return { membership: unknown(`its BMC cannot be asked: ${(error as Error).message.split('\n')[0]}`) }
  }
  const shown = power === 'on' ? installedSystemLine(ring) : undefined
  if (shown) return { membership: unknown(`it is powered on and its console shows "${shown}", but ${answerPoint(ctx, node)} does not answer`) }
  if (!act) return { wouldProbe: power === 'on' ? 'it is powered on with no system on its console' : `it is powered ${power}` }

  try {
    return await look(ctx, node, bmc, power, ring)
  } catch (error) {
    return { membership: unknown(`looking at it through its BMC failed: ${(error as Error).message.split('\n')[0]}`) }
  }
}

/** Powers the node on (or cycles it) and watches its console: the deploy half of bootEvidence. */
async function look(ctx: PhaseContext, node: NodeSpec, bmc: BmcClient, power: string, ring: string): Promise<BootEvidence> {
  const window = blankWindowMs(ctx.cluster.boot_timeout)
  if (power === 'on') await bmc.reset(node.slot)
  else await bmc.setPower(node.slot, true)
  ctx.reporter.info(`${node.id}: no flash record and not answering; ${power === 'on' ? 'power-cycled' : 'powered on'} to see whether it boots an installed system`)
  let line: string | undefined
  for (let i = 0; i < Math.ceil(window / POLL_MS) && !line; i++) {
    await ctx.deps.sleep(POLL_MS)
    line = installedSystemLine(newUartText(ring, await bmc.readUart(node.slot)))
  }
  if (!line) {
    await bmc.setPower(node.slot, false)
    return { membership: notMember(`powered on, it booted nothing beyond DDR init within ${window / 1000} s (blank eMMC)`) }
  }
  // A boot loader is there: wait (bounded by boot_timeout) for what it boots.
  const deadline = Date.now() + ctx.cluster.boot_timeout * 1000
  for (let i = 0; i < Math.max(1, Math.ceil((ctx.cluster.boot_timeout * 1000) / POLL_MS)) && Date.now() < deadline; i++) {
    const fresh = newUartText(ring, await bmc.readUart(node.slot))
    const talos = /machine is running and ready|entering maintenance service|maintenance mode/.exec(fresh)
    if (talos) {
      return talos[0] === 'machine is running and ready'
        ? { membership: member(`powered on, it boots a configured Talos ("${talos[0]}")`) }
        : { membership: notMember(`powered on, it boots Talos in maintenance mode ("${talos[0]}"): no machine config to lose`) }
    }
    if (await probeNode(ctx.deps, osOf(ctx), node.ip, sshPortOf(ctx), 2000).catch(() => false)) return { answers: true, line }
    await ctx.deps.sleep(POLL_MS)
  }
  return {
    membership: unknown(`powered on, it boots an installed system ("${line}") but ${answerPoint(ctx, node)} did not answer within boot_timeout ${ctx.cluster.boot_timeout} s`)
  }
}
