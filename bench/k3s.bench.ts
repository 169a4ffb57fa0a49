// A converged rerun of a 4-node K3s cluster (os-bootstrap, install, join) against the first deploy:
// the rerun must observe every node, change nothing, download nothing, and take <= 5 s.
//
// Runs on the k3s lab harness (test/core/phases/k3s/harness.ts: real bash scripts and the k3s
// stand-ins in a private mount namespace per node; needs root for unshare). TODO(lab): switch to
// lab/lab.ts startLab once lab/node is available, so the SSH round-trips are real too.
import { osBootstrapPhase } from '../src/core/phases/os-bootstrap/index.js'
import { k3sInstallPhase } from '../src/core/phases/k3s/install-phase.js'
import { k3sJoinPhase } from '../src/core/phases/k3s/join-phase.js'
import { phaseContext } from '../test/core/phases/k3s/context.js'
import { k3sCluster } from '../test/core/phases/k3s/fixtures.js'
import { startHarness } from '../test/core/phases/k3s/harness.js'
import type { BenchResult } from './lib/result.js'

async function deploy(cluster: ReturnType<typeof k3sCluster>, lab: ReturnType<typeof startHarness>, stateDir?: string) {
  const ctx = await phaseContext(cluster, lab.deps, stateDir)
  const started = performance.now()
  let changed = false
  for (const node of cluster.nodes) changed = (await osBootstrapPhase.runNode!(ctx, node)).changed || changed
  changed = (await k3sInstallPhase.run!(ctx)).changed || changed
  changed = (await k3sJoinPhase.run!(ctx)).changed || changed
  return { seconds: (performance.now() - started) / 1000, changed, stateDir: ctx.settings.stateDir }
}

export async function bench(): Promise<BenchResult[]> {
  const cluster = k3sCluster()
  const lab = startHarness(cluster.nodes)
  try {
    const fresh = await deploy(cluster, lab)
    const bytesBefore = lab.downloads.bytes
    const requestsBefore = lab.downloads.requests.length
    const rerun = await deploy(cluster, lab, fresh.stateDir)
    const downloaded = lab.downloads.bytes - bytesBefore
    if (rerun.changed) throw new Error('the converged rerun changed something')
    if (downloaded !== 0 || lab.downloads.requests.length !== requestsBefore) throw new Error(`the converged rerun fetched artifacts (${downloaded} bytes)`)
    return [
      {
        name: 'k3s-converged-rerun-4-nodes',
        figure: Math.round(rerun.seconds * 100) / 100,
        unit: 's',
        baseline: { name: 'k3s-fresh-deploy-4-nodes', figure: Math.round(fresh.seconds * 100) / 100 },
        ratio: rerun.seconds / fresh.seconds,
        target: '<= 5 s, 0 bytes downloaded',
        notes: `rerun downloaded ${downloaded} bytes in ${lab.downloads.requests.length - requestsBefore} requests; lab harness (local shells, no SSH handshake)`
      }
    ]
  } finally {
    lab.stop()
  }
}
