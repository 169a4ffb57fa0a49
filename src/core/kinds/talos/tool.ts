// talosctl of the cluster's own version from the tool cache (a client never older than the cluster:
// same minor), verified against the release's sha256sum.txt. One adapter per run.
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import { talosctl as talosctlArtifact, type Arch } from '../../tools/catalog.js'
import { perRun } from '../../phases/per-run.js'
import type { PhaseContext } from '../../phases/types.js'
import { talosCtx } from './factory.js'

/** The runner's architecture in the catalog's naming. */
export const runnerArch = (): Arch => (process.arch === 'arm64' ? 'arm64' : 'x64')

const tools = perRun<Talosctl>()

export function ensureTalosctl(ctx: PhaseContext): Promise<Talosctl> {
  return tools(ctx.outputs, async () => {
    const version = talosCtx(ctx).cluster.talos_version
    const got = await ctx.deps.downloads.fetch(talosctlArtifact(version, runnerArch(), ctx.settings.mirror))
    return ctx.deps.talosctl({ binary: got.path, cwd: ctx.settings.workingDirectory, timeoutMs: 120_000 })
  })
}
