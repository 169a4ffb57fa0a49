// How a lifecycle command reaches the Talos API: talosctl of the cluster's version and a talosconfig
// rendered from the secrets bundle (the talos-secrets input, or for a restore the backup's own bundle), both
// under the run's temp folder (0600, removed by the post step), the talosconfig masked. Not written to the
// credentials folder: a backup or a destroy hands out no talosconfig artifact.
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Talosctl } from '../../../../adapters/talosctl/types.js'
import { maskCredential } from '../../../crypto/mask.js'
import { PhaseError } from '../../../errors.js'
import { perRun } from '../../../phases/per-run.js'
import type { PhaseContext } from '../../../phases/types.js'
import { writeTalosconfig } from '../configs.js'
import { storedBundle, workDir } from '../secrets.js'
import { ensureTalosctl } from '../tool.js'

export interface TalosAccess {
  talosctl: Talosctl
  talosconfig: string
  /** The secrets bundle the talosconfig was made from (a 0600 file). */
  bundlePath: string
}

// One per run and phase for the input's bundle (destroy wipes node after node with the same talosconfig).
const fromInput = perRun<TalosAccess>()

/** `bundle`: the backup's secrets bundle (restore); otherwise the talos-secrets input, which is required. */
export function talosAccess(ctx: PhaseContext, phase: string, bundle?: string): Promise<TalosAccess> {
  return bundle !== undefined ? open(ctx, phase, bundle) : fromInput(ctx.outputs, () => open(ctx, phase), phase)
}

async function open(ctx: PhaseContext, phase: string, bundle?: string): Promise<TalosAccess> {
  let bundlePath: string
  if (bundle !== undefined) {
    maskCredential(ctx.reporter, 'talos-secrets', bundle)
    bundlePath = join(await workDir(ctx), `${phase}-secrets.yaml`)
    await writeFile(bundlePath, bundle, { mode: 0o600 })
    await chmod(bundlePath, 0o600)
  } else {
    const stored = await storedBundle(ctx)
    if (!stored)
      throw new PhaseError(
        phase,
        undefined,
        `the talos-secrets input is not set; ${phase} reaches the Talos API with the cluster's PKI, which only that bundle holds`,
        'pass the bundle from the first deploy (the <cluster>-talos-secrets artifact, decrypted) as the talos-secrets input, then re-run; nothing was changed',
        { code: 'TalosSecretsMissing' }
      )
    bundlePath = stored.path
  }
  const talosctl = await ensureTalosctl(ctx)
  const talosconfig = await writeTalosconfig(
    ctx,
    talosctl,
    bundlePath,
    join(await workDir(ctx), `talosconfig-${phase}`)
  )
  return { talosctl, talosconfig, bundlePath }
}

/** Polls until `done` answers true or timeoutMs passes (then false); every wait in this wing is bounded. */
export async function pollUntil(
  ctx: PhaseContext,
  timeoutMs: number,
  done: () => Promise<boolean>,
  pollMs = 1000
): Promise<boolean> {
  const end = Date.now() + timeoutMs
  for (;;) {
    if (await done()) return true
    if (Date.now() >= end) return false
    await ctx.deps.sleep(pollMs)
  }
}
