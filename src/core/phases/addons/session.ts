// Everything the addons phase does against the cluster goes through one Session: helm and kubectl from the
// runner's tool cache with the cluster's kubeconfig, and checked calls that turn a failure into a
// PhaseError with the tool's stderr tail.
import { access } from 'node:fs/promises'
import { join } from 'node:path'
import type { Kube } from '../../../adapters/kube/types.js'
import type { ExecResult } from '../../../adapters/ssh/types.js'
import type { LocalExec } from '../../deps.js'
import { PhaseError } from '../../errors.js'
import type { Arch } from '../../tools/catalog.js'
import { readOnlyKubeconfig } from '../kube-access.js'
import type { PhaseContext } from '../types.js'
import { specOfRelease } from './charts.js'
import type { FoundRelease } from './decide.js'
import { getValuesArgs, listArgs, releaseSecretsArgs } from './helm-args.js'
import { RELEASE_SECRET_TYPE, storedReleases, type StoredObject } from './release-secrets.js'
import { ensureKubeTools } from './tools.js'
import { valuesHash, type Values } from './values.js'

export const RESUME = 're-run the deploy; addons already at the wanted chart and values are left alone'

export type KubeFactory = (
  exec: LocalExec,
  options: { helm: string; kubectl: string; kubeconfig: string; helmHome?: string }
) => Kube

export function stderrTail(text: string, lines = 6): string {
  const tail = text.trim().split('\n').slice(-lines).join('\n')
  return tail ? `\n${tail}` : ' (no output)'
}

/**
 * The kubeconfig of this run (install/join/bootstrap), else one asked from the cluster read-only (a
 * kubeconfig never outlives the job that fetched it).
 */
export async function findKubeconfig(ctx: PhaseContext): Promise<string | undefined> {
  const path = ctx.outputs.kubeconfigPath
  if (
    path &&
    (await access(path).then(
      () => true,
      () => false
    ))
  )
    return path
  return readOnlyKubeconfig(ctx)
}

export class Session {
  constructor(
    readonly kube: Kube,
    private readonly timeoutMs: number
  ) {}

  static async open(ctx: PhaseContext, factory: KubeFactory, arch: Arch): Promise<Session | undefined> {
    const kubeconfig = await findKubeconfig(ctx)
    if (!kubeconfig) return undefined
    const tools = await ensureKubeTools(ctx.deps.downloads, arch, ctx.settings.mirror)
    const kube = factory(ctx.deps.exec, {
      helm: tools.helm,
      kubectl: tools.kubectl,
      kubeconfig,
      helmHome: join(ctx.settings.tempDir, 'helm')
    })
    return new Session(kube, (ctx.cluster.cluster_timeout + 60) * 1000)
  }

  async helm(what: string, args: string[], stdin?: string): Promise<ExecResult> {
    return this.checked(
      'helm',
      what,
      await this.kube.helm(args, { timeoutMs: this.timeoutMs, ...(stdin !== undefined ? { stdin } : {}) })
    )
  }

  async kubectl(what: string, args: string[], stdin?: string): Promise<ExecResult> {
    return this.checked('kubectl', what, await this.kubectlRaw(args, stdin))
  }

  /** kubectl without the exit-code check (for reads where "not found" is an answer). */
  kubectlRaw(args: string[], stdin?: string): Promise<ExecResult> {
    return this.kube.kubectl(args, { timeoutMs: this.timeoutMs, ...(stdin !== undefined ? { stdin } : {}) })
  }

  private checked(tool: string, what: string, out: ExecResult): ExecResult {
    if (out.code !== 0)
      throw new PhaseError(
        'addons',
        undefined,
        `${what}: ${tool} exited with ${out.code}:${stderrTail(out.stderr || out.stdout)}`,
        RESUME,
        { code: 'AddonCommandFailed' }
      )
    return out
  }

  /**
   * Our releases (by name and namespace from the chart table), each with the hash of its user values, from
   * one read of Helm's release Secrets. With `kinds`, the objects of those kinds that carry our owner label
   * come in the same read (`objects`; [] when the kinds' CRDs are not installed yet). When the Secrets
   * cannot be read or decoded, `helm list` and `helm get values` answer instead, and `objects` is absent.
   */
  async read(kinds: string[] = []): Promise<{ releases: FoundRelease[]; objects?: StoredObject[] }> {
    let out = await this.kubectlRaw(releaseSecretsArgs(kinds))
    let objects: StoredObject[] | undefined
    if (out.code !== 0 && kinds.length && /doesn't have a resource type/.test(out.stderr)) {
      objects = []
      out = await this.kubectlRaw(releaseSecretsArgs())
    }
    let items: StoredObject[] | undefined
    try {
      items = out.code === 0 ? ((JSON.parse(out.stdout) as { items?: StoredObject[] }).items ?? []) : undefined
    } catch {
      items = undefined
    }
    const stored = items && storedReleases(items)
    if (!items || !stored) return { releases: await this.listed() }
    const releases = stored
      .filter((r) => specOfRelease(r.name, r.namespace))
      .map(({ values, ...row }) => ({ ...row, valuesHash: valuesHash(values) }))
    return { releases, objects: objects ?? items.filter((i) => i.type !== RELEASE_SECRET_TYPE) }
  }

  async releases(): Promise<FoundRelease[]> {
    return (await this.read()).releases
  }

  /** `helm list`, then `helm get values` of each of our releases: where Helm's Secrets cannot be read. */
  private async listed(): Promise<FoundRelease[]> {
    const out = await this.helm('listing Helm releases', listArgs())
    let rows: FoundRelease[]
    try {
      rows = (JSON.parse(out.stdout || '[]') as FoundRelease[] | null) ?? []
    } catch {
      throw new PhaseError('addons', undefined, `helm list printed no JSON: ${out.stdout.slice(0, 120)}`, RESUME, {
        code: 'AddonCommandFailed'
      })
    }
    const ours = rows.filter((r) => specOfRelease(r.name, r.namespace))
    for (const row of ours) {
      const spec = specOfRelease(row.name, row.namespace)!
      const asked = await this.helm(`reading values of ${spec.release}`, getValuesArgs(spec))
      row.valuesHash = valuesHash(JSON.parse(asked.stdout || 'null') as Values | null)
    }
    return ours
  }
}
