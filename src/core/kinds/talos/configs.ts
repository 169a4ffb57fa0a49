// Machine configs for every node: `talosctl gen config` from the secrets bundle with the generated and the
// user's patches, one output per node, then `talosctl validate --mode metal` on each before any node is
// touched. Configs hold secrets: written 0600 under the run's temp folder, never printed.
import { credentialsDir } from '../../state/credentials.js'
import { access, chmod, readFile, rm, writeFile, mkdir } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { isAbsolute, join } from 'node:path'
import { parse, stringify } from 'yaml'
import type { Talosctl } from '../../../adapters/talosctl/types.js'
import type { NodeSpec } from '../../config/model.js'
import { maskCredential } from '../../crypto/mask.js'
import { PhaseError } from '../../errors.js'
import type { PhaseContext } from '../../phases/types.js'
import { configDocs, type AppliedConfig } from './answers.js'
import { genConfigArgv, genTalosconfigArgv, validateArgv, type GenConfigInput } from './argv.js'
import { ensureSchematic, localSchematic, talosCtx } from './factory.js'
import { generatedPatches, userPatchFiles } from './patches.js'
import { entryFor, holdsRemembered, recalled, remember } from './rendered.js'
import { installerImage } from './schematic.js'
import { seal, unseal } from './sealed.js'
import { workDir } from './secrets.js'

export interface NodeConfig {
  node: NodeSpec
  /** The rendered file (0600, temp dir); '' when unchanged (nothing was rendered). */
  path: string
  sha256: string
  /** The rendered config's documents, to compare with what the node holds. */
  docs?: unknown[]
  /** The node holds what an earlier run rendered from these very inputs (rendered.ts): nothing rendered. */
  unchanged?: boolean
}

const fail = (
  node: string | undefined,
  seen: string,
  resume = 'fix the cluster file or the patch and re-run'
): PhaseError => new PhaseError('install', node, seen, resume, { code: 'TalosConfig' })

/**
 * How long a sealed talosconfig is taken again: its client certificate is talosctl's (valid for a year),
 * so a week leaves a wide margin and a rotated talosctl is picked up soon.
 */
const TALOSCONFIG_REUSE_MS = 7 * 24 * 3600 * 1000

const tail = (text: string): string => text.trim().split('\n').slice(-5).join(' | ').slice(0, 500)

/** The installer image nodes install from: the factory's for the schematic of this cluster file. */
export async function installImageFor(ctx: PhaseContext, network: boolean): Promise<string> {
  const c = talosCtx(ctx).cluster
  const id = c.image_source === 'factory' && network ? (await ensureSchematic(ctx)).id : localSchematic(ctx).id
  return installerImage(id, c.talos_version)
}

async function userPatch(ctx: PhaseContext, node: NodeSpec, file: string): Promise<string> {
  const full = isAbsolute(file) ? file : join(ctx.settings.workingDirectory, file)
  try {
    await access(full)
  } catch {
    throw fail(
      node.id,
      `patch file ${file} (for ${node.id}) does not exist at ${full}`,
      'add the file to the repository or remove it from the cluster file, then re-run'
    )
  }
  return full
}

/**
 * validate: false only for drift, which just compares: the node's own dry run refuses an invalid config,
 * with its reason. applied: the configs the nodes hold (observe.ts); a node that holds what an earlier run
 * rendered from the same inputs is not rendered again (rendered.ts) and comes back as `unchanged`.
 */
export async function renderConfigs(
  ctx: PhaseContext,
  talosctl: Talosctl,
  secretsPath: string,
  nodes: NodeSpec[],
  options: { validate?: boolean; applied?: Map<string, AppliedConfig | undefined> } = {}
): Promise<Map<string, NodeConfig>> {
  const c = talosCtx(ctx).cluster
  const dir = await workDir(ctx)
  await mkdir(join(dir, 'patches'), { recursive: true, mode: 0o700 })
  const image = await installImageFor(ctx, true)
  const bundle = await readFile(secretsPath)
  // Nodes are independent: generate and validate them in parallel (two talosctl runs each).
  const validate = options.validate ?? true
  const one = async (node: NodeSpec): Promise<NodeConfig> => {
    const patches: string[] = []
    const texts: string[] = []
    // A folder per node: nodes render in parallel, and the cluster-wide patch is written for each.
    await mkdir(join(dir, 'patches', node.id), { recursive: true, mode: 0o700 })
    for (const p of generatedPatches(c, node)) {
      const file = join(dir, 'patches', node.id, `${p.name}.yaml`)
      await writeFile(file, p.yaml, { mode: 0o600 })
      patches.push(file)
      texts.push(p.yaml)
    }
    for (const f of userPatchFiles(c, node)) {
      const file = await userPatch(ctx, node, f)
      patches.push(file)
      texts.push(await readFile(file, 'utf8'))
    }
    const path = join(dir, `${node.id}.yaml`)
    const input: GenConfigInput = {
      clusterName: c.name,
      endpoint: c.apiEndpoint,
      secretsPath,
      role: node.role,
      out: path,
      installDisk: node.install_disk ?? '/dev/mmcblk0',
      installImage: image,
      talosVersion: c.talos_version,
      // Pinned when the file names it: otherwise a newer talosctl's default Kubernetes would reach the
      // nodes through the next apply, an upgrade nobody planned (the upgrade phase moves it, gated).
      ...(c.kubernetes_version ? { kubernetesVersion: c.kubernetes_version } : {}),
      patches
    }
    // Every input of the rendering, without the run's temp paths: the same text renders the same config.
    const inputs = JSON.stringify({
      talosctl: talosctl.binary ?? '',
      argv: genConfigArgv({ ...input, secretsPath: '', out: '', patches: patches.map((_, i) => `${i}`) }),
      patches: texts
    })
    if (holdsRemembered(bundle, inputs, await recalled(ctx, node.id), options.applied?.get(node.id)))
      return { node, path: '', sha256: '', unchanged: true }
    const gen = await talosctl.run(genConfigArgv(input))
    if (gen.code !== 0)
      throw fail(node.id, `talosctl gen config failed (exit ${gen.code}): ${tail(gen.stderr || gen.stdout)}`)
    await chmod(path, 0o600)
    const bytes = await readFile(path)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const docs = configDocs(bytes.toString('utf8'))
    // The very bytes an earlier run validated and applied to this node (state keeps their digest) need no
    // second validation: a converged re-run spares one talosctl process per node.
    const applied = ctx.state.done(node.id, 'install')?.fingerprint === sha256
    const check = validate && !applied ? await talosctl.run(validateArgv(path)) : { code: 0, stdout: '', stderr: '' }
    if (check.code !== 0)
      throw fail(
        node.id,
        `the generated machine config does not validate for metal: ${tail(check.stderr || check.stdout)}`
      )
    // What these inputs render; taken again only for a node that holds it (the node accepted it then).
    await remember(ctx, node.id, entryFor(bundle, inputs, docs)).catch(() => undefined)
    return { node, path, sha256, docs }
  }
  const out = new Map<string, NodeConfig>()
  for (const config of await Promise.all(nodes.map(one))) out.set(config.node.id, config)
  return out
}

/** talosconfig in the run's credentials folder (0600) with the control planes as endpoints, so the file works as handed out. */
export async function writeTalosconfig(
  ctx: PhaseContext,
  talosctl: Talosctl,
  secretsPath: string,
  to?: string
): Promise<string> {
  const c = talosCtx(ctx).cluster
  const path = to ?? join(await credentialsDir(ctx.settings), 'talosconfig')
  const cps = c.nodes.filter((n) => n.role === 'controlplane').map((n) => n.ip)
  const bundle = await readFile(secretsPath)
  const argv = genTalosconfigArgv({
    clusterName: c.name,
    endpoint: c.apiEndpoint,
    secretsPath: '',
    out: '',
    talosVersion: c.talos_version
  })
  const inputs = JSON.stringify({ talosctl: talosctl.binary ?? '', argv, cps })
  // A re-run with the same bundle and inputs takes the sealed talosconfig of an earlier run (sealed.ts).
  let text = await unseal(ctx, 'talosconfig', bundle, inputs, TALOSCONFIG_REUSE_MS)
  if (text === undefined) {
    await rm(path, { force: true })
    const r = await talosctl.run(
      genTalosconfigArgv({
        clusterName: c.name,
        endpoint: c.apiEndpoint,
        secretsPath,
        out: path,
        talosVersion: c.talos_version
      })
    )
    if (r.code !== 0)
      throw fail(
        undefined,
        `talosctl gen config --output-types talosconfig failed (exit ${r.code}): ${tail(r.stderr || r.stdout)}`,
        're-run the workflow'
      )
    const generated = await readFile(path, 'utf8')
    maskCredential(ctx.reporter, 'talosconfig', generated)
    const doc = parse(generated) as {
      context?: string
      contexts?: Record<string, { endpoints?: string[]; nodes?: string[] }>
    }
    const current = doc.contexts?.[doc.context ?? '']
    if (current) {
      current.endpoints = cps
      current.nodes = cps.slice(0, 1)
    }
    text = stringify(doc)
    await seal(ctx, 'talosconfig', bundle, inputs, text).catch(() => undefined)
  }
  maskCredential(ctx.reporter, 'talosconfig', text)
  await writeFile(path, text, { mode: 0o600 })
  await chmod(path, 0o600)
  if (!to) ctx.outputs.talosconfigPath = path
  return path
}

/** The talosconfig this run already wrote (none is kept between runs: it is a credential). */
export async function existingTalosconfig(ctx: PhaseContext): Promise<string | undefined> {
  const path = ctx.outputs.talosconfigPath
  if (!path) return undefined
  try {
    const text = await readFile(path, 'utf8')
    maskCredential(ctx.reporter, 'talosconfig', text)
    ctx.outputs.talosconfigPath = path
    return path
  } catch {
    return undefined
  }
}
