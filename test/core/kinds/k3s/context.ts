// A PhaseContext over the k3s harness, as run.ts would build it.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Cluster } from '../../../../src/core/config/model.js'
import type { Deps } from '../../../../src/core/deps.js'
import type { PhaseContext } from '../../../../src/core/phases/types.js'
import type { MemoryReporter } from '../../../../src/core/reporter.js'
import { testPhaseContext, testSettings } from '../../context.js'

// Not a key: placeholder text in the key's framing (built, so no key-shaped literal sits in the repo).
const FRAME = (word: string): string => `-----${word} ${'OPENSSH'} PRIVATE KEY-----`
export const SSH_KEY = `${FRAME('BEGIN')}\nlab-test-key-material-not-real\n${FRAME('END')}\n`

export async function phaseContext(
  cluster: Cluster,
  deps: Deps,
  stateDir = mkdtempSync(join(tmpdir(), 'tpi-k3s-state-'))
): Promise<PhaseContext & { reporter: MemoryReporter }> {
  const settings = testSettings(stateDir, {
    stateDir,
    tempDir: stateDir,
    secrets: { sshPrivateKey: SSH_KEY, artifactRecipients: [] }
  })
  return testPhaseContext(cluster, deps, settings)
}
