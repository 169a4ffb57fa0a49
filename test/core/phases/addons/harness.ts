// The addons phase against the lab Kubernetes API, with the kubectl and helm stand-ins run as real child
// processes through createLocalExec (the lab's TPI_LAB_DIR in their environment).
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createKube } from '../../../../src/adapters/kube/exec-kube.js'
import { identityAddressMap } from '../../../../src/adapters/net/types.js'
import { createLocalExec } from '../../../../src/adapters/exec/local-exec.js'
import type { Cluster } from '../../../../src/core/config/model.js'
import type { Deps } from '../../../../src/core/deps.js'
import { createAddonsPhase, type AddonsPhaseOptions } from '../../../../src/core/phases/addons/index.js'
import { emptyOutputs, type PhaseContext, type PhaseModule } from '../../../../src/core/phases/types.js'
import { MemoryReporter } from '../../../../src/core/reporter.js'
import { StateStore } from '../../../../src/core/state/store.js'
import { startStandinEnv, type StandinEnv } from '../../../lab/kube/standin-env.js'
import { StandinDownloads } from './fake-downloads.js'
import { kindOf } from '../../../../src/core/kinds/index.js'
import { plainAdapters } from '../../../../src/compose/real-adapters.js'
import { testSettings } from '../../context.js'

export interface Harness {
  lab: StandinEnv
  phase: PhaseModule
  downloads: StandinDownloads
  context(
    cluster: Cluster,
    options?: { kubeconfig?: boolean; packages?: string[] }
  ): Promise<PhaseContext & { reporter: MemoryReporter }>
  helmUpgrades(): number
  stop(): Promise<void>
}

const refuse = (what: string) => () => {
  throw new Error(`the addons phase must not use ${what}`)
}

/** onSleep runs whenever the phase pauses (before the pause), so a test can change the lab at that point. */
export async function startHarness(
  options: Partial<AddonsPhaseOptions> = {},
  labEnv: Record<string, string> = {},
  onSleep?: () => void
): Promise<Harness> {
  const lab = await startStandinEnv()
  const work = join(lab.labDir, 'work')
  mkdirSync(work, { recursive: true })
  const downloads = new StandinDownloads(join(lab.labDir, 'tool-cache'))
  const labExec = createLocalExec({ ...lab.env, ...labEnv })
  const deps: Deps = {
    bmc: refuse('a BMC') as Deps['bmc'],
    ssh: { connect: refuse('SSH') } as unknown as Deps['ssh'],
    net: identityAddressMap,
    downloads,
    exec: labExec,
    ...plainAdapters(labExec),
    sleep: (ms) => {
      onSleep?.()
      return new Promise((r) => setTimeout(r, ms))
    }
  }
  const phase = createAddonsPhase({ createKube, arch: 'x64', retryDelayMs: 50, ...options })
  return {
    lab,
    phase,
    downloads,
    async context(cluster, o = {}) {
      const outputs = emptyOutputs()
      if (o.kubeconfig !== false) outputs.kubeconfigPath = lab.kubeconfig
      if (o.packages) outputs.values['os-bootstrap.packages'] = o.packages
      return {
        cluster,
        kind: kindOf(cluster),
        deps,
        outputs,
        reporter: new MemoryReporter(),
        nodes: cluster.nodes,
        state: await StateStore.open(join(lab.labDir, 'state'), cluster.name),
        settings: testSettings(work, { stateDir: join(lab.labDir, 'state'), tempDir: join(lab.labDir, 'tmp') })
      }
    },
    helmUpgrades: () => lab.calls('helm').filter((a) => a[0] === 'upgrade').length,
    stop: () => lab.stop()
  }
}
