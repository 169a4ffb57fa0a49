// Wires the real adapters and the engine for a front. The action and the CLI differ only in where
// downloads are cached and where encrypted artifacts go; the lab runs this same
// wiring through the bundle (lab/action.ts), with its address map and mirror in the environment.
import type { ArtifactSink } from '../adapters/artifacts/types.js'
import {
  countedDownloads,
  countedExec,
  sshExecCounter,
  zeroCounts,
  type AdapterCounts
} from '../adapters/counts/counts.js'
import { bmcFactory } from '../adapters/bmc/factory.js'
import { createLocalExec } from '../adapters/exec/local-exec.js'
import { createFileAddressMap } from '../adapters/net/file-map.js'
import { identityAddressMap, type AddressMap } from '../adapters/net/types.js'
import { createSshConnector } from '../adapters/ssh/ssh2-connector.js'
import type { Cluster } from '../core/config/model.js'
import type { Deps } from '../core/deps.js'
import { driftAnnotations, type DriftAnnotation } from '../core/drift/render.js'
import { summarizeDrift } from '../core/drift/summary.js'
import type { Reporter } from '../core/reporter.js'
import type { Engine, RunResult } from '../core/run.js'
import type { RunSettings } from '../core/settings.js'
import { createEngine } from './engine.js'
import { createDownloads, plainAdapters } from './real-adapters.js'

export type Front = 'action' | 'cli'

export interface Runtime {
  makeDeps(cluster: Cluster): Promise<Deps>
  engine: Engine
  /** Why the run failed, or undefined when it did not (the front decides how to fail). */
  failed(result: RunResult): string | undefined
  /** Warnings and errors to show on the cluster file's lines (drift findings). */
  annotations(result: RunResult): DriftAnnotation[]
  /** SSH commands, runner processes and downloaded bytes of this runtime's runs, as the adapters counted them. */
  counts: AdapterCounts
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
      return settings.failOnDrift
        ? `drift found (${result.findings?.length ?? 0} finding(s)); fail-on-drift is set`
        : undefined
    case 'error':
      return `drift check could not run: ${result.error?.message ?? result.findings?.find((f) => f.kind === 'unreachable')?.found ?? 'unreachable'}`
    case 'failed':
      return result.error?.message ?? 'deploy failed'
  }
}

export function driftNotes(result: RunResult): DriftAnnotation[] {
  if (!result.findings) return []
  return driftAnnotations(summarizeDrift(result.findings), result.load?.locate)
}

export interface RuntimeParts {
  artifacts?: ArtifactSink
  runId: string
  /** Where downloads are cached (RUNNER_TOOL_CACHE for the action). */
  toolCache: string
}

export async function createRuntime(
  settings: RunSettings,
  reporter: Reporter,
  front: Front,
  parts?: Partial<RuntimeParts>
): Promise<Runtime> {
  const runId =
    parts?.runId ??
    (front === 'action'
      ? `github run ${process.env.GITHUB_RUN_ID ?? '?'} attempt ${process.env.GITHUB_RUN_ATTEMPT ?? '1'}`
      : `cli pid ${process.pid}`)
  const toolCache = parts?.toolCache ?? process.env.RUNNER_TOOL_CACHE ?? `${settings.stateDir}/tool-cache`
  // TPI_ADDRESS_MAP: where LAN addresses really are (the lab, or port forwards); see file-map.ts.
  const net: AddressMap = process.env.TPI_ADDRESS_MAP
    ? createFileAddressMap(process.env.TPI_ADDRESS_MAP)
    : identityAddressMap
  const counts = zeroCounts()
  return {
    counts,
    makeDeps: async () => {
      const exec = countedExec(createLocalExec(), counts)
      return {
        bmc: bmcFactory({ password: settings.secrets.bmcPassword, username: settings.bmcUsername, net, reporter }),
        ssh: createSshConnector({ onExec: sshExecCounter(counts) }),
        net,
        downloads: countedDownloads(
          createDownloads({
            toolCache,
            tempDir: settings.tempDir,
            reporter,
            front,
            catalog: settings.digestCatalog
          }),
          counts
        ),
        exec,
        ...plainAdapters(exec),
        artifacts: parts?.artifacts,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms))
      }
    },
    engine: createEngine({ runId }),
    failed: (result) => failureMessage(result, settings),
    annotations: driftNotes
  }
}
