// The settings and the PhaseContext tests build around a cluster, as run.ts would: a deploy without
// reflash, with state and temp folders of the test's own.
import { join } from 'node:path'
import type { Cluster } from '../../src/core/config/model.js'
import type { Deps } from '../../src/core/deps.js'
import { kindOf } from '../../src/core/kinds/index.js'
import { emptyOutputs, type PhaseContext } from '../../src/core/phases/types.js'
import { MemoryReporter } from '../../src/core/reporter.js'
import type { RunSettings } from '../../src/core/settings.js'
import { StateStore } from '../../src/core/state/store.js'

export function testSettings(dir: string, overrides: Partial<RunSettings> = {}): RunSettings {
  return {
    command: 'deploy',
    configPath: 'cluster.yaml',
    workingDirectory: dir,
    reflash: false,
    failOnDrift: false,
    stateDir: join(dir, 'state'),
    tempDir: join(dir, 'tmp'),
    secrets: { artifactRecipients: [] },
    ...overrides
  }
}

export async function testPhaseContext(
  cluster: Cluster,
  deps: Deps,
  settings: RunSettings
): Promise<PhaseContext & { reporter: MemoryReporter }> {
  return {
    cluster,
    kind: kindOf(cluster),
    deps,
    reporter: new MemoryReporter(),
    state: await StateStore.open(settings.stateDir, cluster.name),
    nodes: cluster.nodes,
    outputs: emptyOutputs(),
    settings
  }
}
