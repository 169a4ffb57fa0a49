// Longhorn needs iSCSI on every node. Where the image decides it (Talos: the siderolabs/iscsi-tools
// extension in the schematic) the kind answers; otherwise (K3s) it is the open-iscsi package: os-bootstrap
// installs it and its result is read when this run has it, else each node is asked with dpkg-query over SSH.
import { q } from '../../remote/script.js'
import type { NodeSpec } from '../../config/model.js'
import { withPool } from '../../remote/shells.js'
import { BOOTSTRAP_PACKAGES_KEY } from '../handover.js'
import type { PhaseContext } from '../types.js'

export const ISCSI_PACKAGE = 'open-iscsi'
export { BOOTSTRAP_PACKAGES_KEY }

/** Asks a node whether a Debian package is installed. */
export type PackageProbe = (ctx: PhaseContext, node: NodeSpec, pkg: string) => Promise<boolean>

export const dpkgProbe: PackageProbe = (ctx, node, pkg) =>
  withPool(ctx, 'addons', async (pool) => {
    const out = await (await pool.shell(node)).exec(`dpkg-query -W -f='\${Status}' ${q(pkg)}`, { timeoutMs: 30_000 })
    return out.code === 0 && /\binstall ok installed\b/.test(out.stdout)
  })

function fromBootstrap(ctx: PhaseContext, node: NodeSpec): boolean | undefined {
  const recorded = ctx.outputs.values[BOOTSTRAP_PACKAGES_KEY]
  if (Array.isArray(recorded)) return recorded.includes(ISCSI_PACKAGE)
  if (recorded && typeof recorded === 'object') {
    const list = (recorded as Record<string, unknown>)[node.id]
    if (Array.isArray(list)) return list.includes(ISCSI_PACKAGE)
  }
  return undefined
}

/** Why Longhorn cannot be installed, or undefined when every node (of `nodes`: all by default) has iSCSI. */
export async function longhornRefusal(
  ctx: PhaseContext,
  probe: PackageProbe,
  nodes: NodeSpec[] = ctx.cluster.nodes
): Promise<string | undefined> {
  const fromImage = ctx.kind.longhorn.iscsiFromImage(ctx.cluster)
  if (fromImage !== 'ask-nodes') return fromImage.refusal
  const observed = (node: NodeSpec): Promise<boolean | undefined> =>
    ctx.kind.longhorn.iscsiObserved?.(ctx, node).catch(() => undefined) ?? Promise.resolve(undefined)
  const present = await Promise.all(
    nodes.map(
      async (node) => fromBootstrap(ctx, node) ?? (await observed(node)) ?? (await probe(ctx, node, ISCSI_PACKAGE))
    )
  )
  const missing = nodes.filter((_, i) => !present[i]).map((n) => n.id)
  if (!missing.length) return undefined
  return `Longhorn needs iSCSI, but ${ISCSI_PACKAGE} is not installed on ${missing.join(', ')}; run the os-bootstrap phase (it installs ${ISCSI_PACKAGE}) and re-run`
}
