// Phase os-bootstrap (K3s on Armbian, per node): hostname, static address, packages, kernel modules and
// sysctl, swap off, time sync, NVMe. Each step is an idempotent script; a rerun on a converged node
// changes nothing and says so.
import type { NodeSpec } from '../../../config/model.js'
import { type K3sCluster } from '../config.js'
import { runChecked, withPool } from '../../../remote/shells.js'
import type { PhaseContext, PhaseModule, PlanStep, StepResult } from '../../../phases/types.js'
import { osDrift } from './drift.js'
import { nvmeScript } from './nvme-script.js'
import { BOOTSTRAP_PACKAGES_KEY } from '../../../phases/handover.js'
import { changing, checkedSection, observeK3s } from '../observation.js'
import { installedPackages, pendingSteps } from './check-script.js'
import {
  BOOTSTRAP_PACKAGES,
  hostnameScript,
  kernelScript,
  packagesScript,
  staticAddressScript,
  swapScript,
  timeSyncScript
} from './system-scripts.js'
import { gatewayOf } from '../../../config/net.js'

export interface BootstrapStep {
  name: string
  script: string
  timeoutMs: number
}

/** The scripts for one node, in order; pure. */
export function bootstrapSteps(cluster: K3sCluster, node: NodeSpec, mirror?: string): BootstrapStep[] {
  const steps: BootstrapStep[] = [
    { name: 'hostname', script: hostnameScript(node.hostname), timeoutMs: 30_000 },
    {
      name: 'static address',
      script: staticAddressScript({
        ip: node.ip,
        prefix: cluster.network.prefix,
        gateway: gatewayOf(cluster.network, node.ip),
        dns: cluster.network.dns
      }),
      timeoutMs: 30_000
    },
    { name: 'packages', script: packagesScript(mirror), timeoutMs: 900_000 },
    { name: 'kernel modules and sysctl', script: kernelScript(), timeoutMs: 60_000 },
    { name: 'swap', script: swapScript(), timeoutMs: 60_000 },
    { name: 'time sync', script: timeSyncScript(), timeoutMs: 60_000 }
  ]
  if (node.has_nvme)
    steps.push({
      name: 'nvme',
      script: nvmeScript({ device: node.nvme_device, mount: node.nvme_mount, allowFormat: node.nvme_format === true }),
      timeoutMs: 600_000
    })
  return steps
}

async function runNode(ctx: PhaseContext, node: NodeSpec): Promise<StepResult> {
  const cluster = ctx.cluster as K3sCluster
  return withPool(ctx, 'os-bootstrap', async (pool) => {
    const steps = bootstrapSteps(cluster, node, ctx.settings.mirror)
    // The run's observation of the node says which steps would change something; none: nothing to exec.
    const seen = await observeK3s(ctx, node, { phase: 'os-bootstrap', shell: () => pool.shell(node) })
    const check = checkedSection(seen, 'bootstrap', 'os-bootstrap', 'checking the bootstrap steps')
    if (!pendingSteps(check.stdout).length) {
      recordPackages(ctx, node, installedPackages(check.stdout))
      for (const step of steps) ctx.reporter.debug(`${node.id}: ${step.name}: unchanged`)
      return { changed: false, summary: 'already bootstrapped' }
    }
    changing(ctx, node)
    const shell = await pool.shell(node)
    const changes: string[] = []
    for (const step of steps) {
      const { result } = await runChecked(shell, 'os-bootstrap', node, `step "${step.name}"`, step.script, {
        timeoutMs: step.timeoutMs
      })
      if (result?.changed) changes.push(`${step.name} (${result.details})`)
      ctx.reporter.debug(`${node.id}: ${step.name}: ${result?.changed ? `changed ${result.details}` : 'unchanged'}`)
    }
    // The packages step installs whatever was missing, or fails the phase.
    recordPackages(ctx, node, [...BOOTSTRAP_PACKAGES])
    return {
      changed: changes.length > 0,
      summary: changes.length ? `changed: ${changes.join('; ')}` : 'already bootstrapped'
    }
  })
}

function recordPackages(ctx: PhaseContext, node: NodeSpec, packages: string[]): void {
  const recorded = ctx.outputs.values[BOOTSTRAP_PACKAGES_KEY]
  const byNode = recorded && typeof recorded === 'object' && !Array.isArray(recorded) ? recorded : {}
  ctx.outputs.values[BOOTSTRAP_PACKAGES_KEY] = { ...byNode, [node.id]: packages }
}

export const osBootstrapPhase: PhaseModule = {
  name: 'os-bootstrap',
  scope: 'node',
  appliesTo: (cluster) => cluster.kind === 'k3s',
  async plan(ctx): Promise<PlanStep[]> {
    return ctx.nodes.map((node) => ({
      phase: 'os-bootstrap',
      node: node.id,
      action: 'run',
      reason: `idempotent scripts: ${bootstrapSteps(ctx.cluster as K3sCluster, node, ctx.settings.mirror)
        .map((s) => s.name)
        .join(', ')}`
    }))
  },
  runNode,
  drift: osDrift
}
