// What an earlier run rendered, so a re-run with the same inputs need not run `talosctl gen config` again:
// per node, a digest of every input of the rendering (the gen config command line, each patch's text,
// the talosctl binary, the secrets bundle) and a digest of the config it produced. A configured node
// whose applied config has that digest holds what this run would render: it is unchanged, nothing is
// rendered for it. Both digests are HMACs keyed by the secrets bundle, so state-dir (which outlives the
// job in the runner's shared tool cache) holds no secret and nobody without the bundle can forge an
// entry; the configs themselves (they hold secrets) are never kept.
import { createHmac } from 'node:crypto'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { PhaseContext } from '../../phases/types.js'
import { canonicalDocs, type AppliedConfig } from './answers.js'

export interface RenderedEntry {
  /** HMAC of the rendering's inputs. */
  inputs: string
  /** HMAC of every document of the rendered config (canonical form). */
  all: string
  /** HMAC of its first document alone (what a 1.9 talosctl shows of a node's config). */
  first: string
  docs: number
}

interface RenderedFile {
  nodes: Record<string, RenderedEntry>
}

const fileOf = (ctx: PhaseContext): string => join(ctx.state.dir, 'talos-rendered.json')

/** HMAC-SHA256 keyed by the secrets bundle's bytes. */
export const keyed = (bundle: Buffer, text: string): string => createHmac('sha256', bundle).update(text).digest('hex')

export function entryFor(bundle: Buffer, inputs: string, docs: unknown[]): RenderedEntry {
  return {
    inputs: keyed(bundle, inputs),
    all: keyed(bundle, canonicalDocs(docs)),
    first: keyed(bundle, canonicalDocs(docs.slice(0, 1))),
    docs: docs.length
  }
}

async function load(ctx: PhaseContext): Promise<RenderedFile> {
  try {
    const parsed = JSON.parse(await readFile(fileOf(ctx), 'utf8')) as RenderedFile
    return parsed && typeof parsed.nodes === 'object' && parsed.nodes ? parsed : { nodes: {} }
  } catch {
    return { nodes: {} }
  }
}

// One writer at a time within a process: nodes render in parallel.
let writing: Promise<void> = Promise.resolve()

export function remember(ctx: PhaseContext, node: string, entry: RenderedEntry): Promise<void> {
  const next = writing.then(async () => {
    const file = await load(ctx)
    file.nodes[node] = entry
    const path = fileOf(ctx)
    await writeFile(`${path}.tmp`, JSON.stringify(file, null, 2) + '\n', { mode: 0o600 })
    await rename(`${path}.tmp`, path)
  })
  writing = next.catch(() => undefined)
  return next
}

export async function recalled(ctx: PhaseContext, node: string): Promise<RenderedEntry | undefined> {
  return (await load(ctx)).nodes[node]
}

/**
 * Whether the node's applied config is what the remembered rendering of these very inputs produced. False
 * when anything differs or cannot be told (then the config is rendered and compared as before).
 */
export function holdsRemembered(
  bundle: Buffer,
  inputs: string,
  entry: RenderedEntry | undefined,
  applied: AppliedConfig | undefined
): boolean {
  if (!entry || !applied || keyed(bundle, inputs) !== entry.inputs) return false
  if (applied.complete) return keyed(bundle, canonicalDocs(applied.docs)) === entry.all
  return entry.docs === 1 && keyed(bundle, canonicalDocs(applied.docs)) === entry.first
}
