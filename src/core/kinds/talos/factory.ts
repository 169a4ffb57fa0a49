// The Image Factory: the schematic is POSTed (YAML body) to get its id, the metal image is downloaded
// through deps.downloads (mirror, tool cache) keyed by version + schematic id. The factory serves no
// checksums, so the image's sha256 is recorded in the state store at first download and every later run
// re-hashes the cached file against that record: a corrupted cache is refused, not flashed.
import type { HttpAnswer, HttpFetch } from '../../../adapters/net/http.js'
import { dirname } from 'node:path'
import { PhaseError, TpiError } from '../../errors.js'
import { talosImage, viaMirror } from '../../tools/catalog.js'
import { perRun } from '../../phases/per-run.js'
import type { PhaseContext } from '../../phases/types.js'
import { buildSchematic, marshalSchematic, schematicId, type SchematicPlan } from './schematic.js'

export const FACTORY = 'https://factory.talos.dev'

/** POST /schematics with the YAML body; the factory answers {"id": "<64 hex>"}. */
export async function postSchematic(url: string, yaml: string, http: HttpFetch): Promise<string> {
  let answer: HttpAnswer
  try {
    answer = await http(url, {
      method: 'POST',
      headers: { 'content-type': 'application/yaml' },
      body: yaml,
      signal: AbortSignal.timeout(30_000)
    })
  } catch (error) {
    throw new TpiError('FactoryUnreachable', `Image Factory at ${url} did not answer: ${(error as Error).message}`, {
      cause: error
    })
  }
  const body = await answer.text()
  if (!answer.ok)
    throw new TpiError(
      'FactoryRefused',
      `Image Factory at ${url} answered ${answer.status} to the schematic: ${body.slice(0, 300)}`
    )
  let id: unknown
  try {
    id = (JSON.parse(body) as { id?: unknown }).id
  } catch {
    id = undefined
  }
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id))
    throw new TpiError(
      'FactoryAnswer',
      `Image Factory at ${url} answered ${JSON.stringify(body.slice(0, 200))}, expected {"id": "<64 hex digits>"}`
    )
  return id
}

export interface ResolvedSchematic extends SchematicPlan {
  id: string
  yaml: string
}

type TalosCtx = PhaseContext & { cluster: Extract<PhaseContext['cluster'], { kind: 'talos' }> }

export function talosCtx(ctx: PhaseContext): TalosCtx {
  if (ctx.cluster.kind !== 'talos')
    throw new TpiError('NotTalos', `cluster ${ctx.cluster.name} is kind ${ctx.cluster.kind}, expected talos`)
  return ctx as TalosCtx
}

/** The schematic and its id computed locally (no network): what plan() shows. */
export function localSchematic(ctx: PhaseContext): ResolvedSchematic {
  const plan = buildSchematic(talosCtx(ctx).cluster)
  const yaml = marshalSchematic(plan.schematic)
  return { ...plan, yaml, id: schematicId(yaml) }
}

const schematics = perRun<ResolvedSchematic>()

/** Schematics the factory registered for earlier runs: state.cluster().talosSchematics[<local id>] = <factory id>. */
function registeredSchematics(ctx: PhaseContext): Record<string, string> {
  const c = ctx.state.cluster()
  return ((c.talosSchematics as Record<string, string> | undefined) ?? (c.talosSchematics = {})) as Record<
    string,
    string
  >
}

/** Registers the schematic with the factory once per run; sets outputs.schematicId. */
export function ensureSchematic(ctx: PhaseContext): Promise<ResolvedSchematic> {
  return schematics(ctx.outputs, async () => {
    const local = localSchematic(ctx)
    // The factory is content-addressed: a schematic it registered for an earlier run keeps its id, so a
    // re-run with the same schematic asks nothing over the network (state keeps local id → factory id).
    const registered = registeredSchematics(ctx)
    const known = registered[local.id]
    if (known) {
      ctx.outputs.schematicId = known
      ctx.outputs.values.schematicId = known
      return { ...local, id: known }
    }
    const url = viaMirror(`${FACTORY}/schematics`, ctx.settings.mirror)
    const id = await postSchematic(url, local.yaml, ctx.deps.http)
    registered[local.id] = id
    await ctx.state.save()
    // The factory's id is authoritative; a difference means its canonical form changed, worth a warning.
    if (id !== local.id)
      ctx.reporter.warn(
        `Image Factory returned schematic id ${id}, the local computation gave ${local.id}; using the factory's`
      )
    for (const e of local.addedForLonghorn) ctx.reporter.info(`Image Factory: added extension ${e} (Longhorn needs it)`)
    ctx.outputs.schematicId = id
    ctx.outputs.values.schematicId = id
    return { ...local, id }
  })
}

export interface TalosImage {
  path: string
  sha256: string
  source: string
  os: 'talos'
  schematicId: string
}

const imageKey = (version: string, id: string): string => `${version}/${id}`

/** Recorded image hashes: state.cluster().talosImages[<version>/<schematic id>]. */
function recorded(ctx: PhaseContext): Record<string, string> {
  const c = ctx.state.cluster()
  return ((c.talosImages as Record<string, string> | undefined) ?? (c.talosImages = {})) as Record<string, string>
}

const images = perRun<TalosImage>()

/**
 * The factory image for this run (image_source: factory): schematic registered, image downloaded or
 * taken from the cache, hash checked against the file's pin or the recorded hash. For the flash phase.
 */
export function resolveTalosImage(ctx: PhaseContext): Promise<TalosImage> {
  return images(ctx.outputs, () => resolveImage(talosCtx(ctx)))
}

async function resolveImage(ctx: TalosCtx): Promise<TalosImage> {
  const c = ctx.cluster
  if (c.image_source !== 'factory')
    throw new TpiError('NotFactory', `image_source is ${c.image_source}; only factory images are resolved here`)
  const { id } = await ensureSchematic(ctx)
  const key = imageKey(c.talos_version, id)
  const known = recorded(ctx)[key]
  const pin = c.image_sha256?.toLowerCase() ?? known
  const got = await ctx.deps.downloads.fetch(talosImage(id, c.talos_version, ctx.settings.mirror, pin))
  // The downloads adapter checked a cache hit against the pin (or re-downloaded it): no second hash.
  const sha256 = got.sha256
  if (pin && sha256 !== pin) {
    throw new PhaseError(
      'flash',
      undefined,
      `cached Talos image ${got.path} has sha256 ${sha256}, but ${c.image_sha256 ? 'image_sha256 pins' : 'the first download recorded'} ${pin}`,
      `delete ${dirname(got.path)} so the image is downloaded again, then re-run`,
      { code: 'ImageCorrupted' }
    )
  }
  if (!known) {
    recorded(ctx)[key] = sha256
    await ctx.state.save()
  }
  return {
    path: got.path,
    sha256,
    source: `factory ${c.talos_version}/${id.slice(0, 12)}…`,
    os: 'talos',
    schematicId: id
  }
}
