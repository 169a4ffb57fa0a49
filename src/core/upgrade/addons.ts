// An addon's chart upgrade that cannot leave a release half-upgraded: when `helm upgrade` to the new
// pinned chart fails, the release is rolled back to the revision it ran before, and the error says both
// what failed and that (or whether) the rollback worked.
import type { ChartSpec } from '../phases/addons/charts.js'

type Helm = (what: string, args: string[]) => Promise<unknown>

export const rollbackArgs = (spec: ChartSpec, timeoutSeconds: number): string[] => [
  'rollback',
  spec.release,
  '--namespace',
  spec.namespace,
  '--wait',
  '--timeout',
  `${timeoutSeconds}s`
]

export class AddonUpgradeFailed extends Error {}

/** Runs the upgrade; on failure rolls the release back (helm rollback with no revision = the previous one). */
export async function upgradeOrRollBack(
  helm: Helm,
  spec: ChartSpec,
  upgradeArgs: string[],
  timeoutSeconds: number
): Promise<void> {
  try {
    await helm(`helm upgrade --install ${spec.release}`, upgradeArgs)
  } catch (error) {
    const why = (error as Error).message
    try {
      await helm(`rolling back ${spec.release}`, rollbackArgs(spec, timeoutSeconds))
    } catch (rollback) {
      throw new AddonUpgradeFailed(
        `${why}; the rollback of ${spec.release} failed too: ${(rollback as Error).message}`,
        { cause: error }
      )
    }
    throw new AddonUpgradeFailed(
      `${why}; ${spec.release} was rolled back to the revision it ran before ${spec.chart} ${spec.version}`,
      { cause: error }
    )
  }
}
