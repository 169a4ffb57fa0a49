// Fills the lab mirror with every file the action downloads for a cluster file, at the upstream URLs
// the action computes itself (src/core/tools/catalog.ts and the phases' artifact tables), so the mirror
// cannot drift from what the action asks for. Checksum files are written the way upstream publishes
// them; the Talos factory and talosctl assets are routes (lab/talos registers them).
//
// The lab serves lab-built bytes, so the committed digest catalog cannot vouch for them: seeding returns
// the lab's own catalog (upstream URL -> digest of the lab bytes), which the harness hands to the action
// as a local file (TPI_LAB_CATALOG), never through the mirror. The mirror's checksum files are there so
// a test can show they are not believed.
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KUBECTL_VERSION, HELM_VERSION } from '../src/core/phases/addons/tools.js'
import { MODELS, modelArtifact, rkllamaSource, rkllmRuntime, rknnRuntime } from '../src/core/kinds/k3s/npu/artifacts.js'
import type { Cluster } from '../src/core/config/model.js'
import type { DigestCatalog } from '../src/adapters/downloads/types.js'
import { buildSchematic, marshalSchematic, schematicId } from '../src/core/kinds/talos/schematic.js'
import {
  helm,
  imageByUrl,
  k3sAirgap,
  k3sBinary,
  k3sInstallScript,
  kubectl,
  talosImage,
  talosctl,
  type Arch
} from '../src/core/tools/catalog.js'
import { buildArmbianImage } from './images/index.js'
import { INSTALL_STANDIN, k3sStandinBinary } from './k3s/binary.js'
import { helmStandinTarball, kubectlStandinBinary } from './kube/binaries.js'
import type { Mirror } from './mirror/index.js'
import { sha256File } from './images/disk.js'
import { talosctlStandinBinary } from './talos/binary.js'
import type { LabFactory } from './talos/factory.js'

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
const runnerArch = (): Arch => (process.arch === 'arm64' ? 'arm64' : 'x64')

/** `<hex>  <name>` lines, as sha256sum writes them. */
const sums = (files: Record<string, Buffer | string>): string =>
  Object.entries(files)
    .map(([name, body]) => `${sha(body)}  ${name}\n`)
    .join('')

const rkllamaTarballs = new Map<string, Promise<Buffer>>()

/** One tarball per version and process: a release's bytes (and digest) do not change between seeds. */
function rkllamaTarball(version: string): Promise<Buffer> {
  let p = rkllamaTarballs.get(version)
  if (!p) {
    p = buildRkllamaTarball(version)
    rkllamaTarballs.set(version, p)
    p.catch(() => rkllamaTarballs.delete(version))
  }
  return p
}

async function buildRkllamaTarball(version: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-rkllama-'))
  try {
    // One top folder, as GitHub's archive endpoint serves a tag.
    await mkdir(join(dir, `rkllama-${version}`))
    await writeFile(
      join(dir, `rkllama-${version}`, 'setup.py'),
      '# rkllama lab source (the lab installs its stand-in)\n'
    )
    execFileSync('tar', ['-czf', join(dir, 'src.tar.gz'), '-C', dir, `rkllama-${version}`])
    return await readFile(join(dir, 'src.tar.gz'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

const LAB = 'lab-built bytes (lab/seed.ts)'

/** Stores `body` at the upstream URL of `request` and records its digest in the lab catalog. */
async function put(
  mirror: Mirror,
  catalog: DigestCatalog,
  upstream: string,
  body: Buffer | string,
  mode?: number
): Promise<void> {
  await mirror.addFile(upstream, body, mode === undefined ? {} : { mode })
  catalog[upstream] = { sha256: sha(body), source: LAB }
}

/** The runner tools both kinds use for addons (kubectl and helm stand-ins with their checksum files). */
async function seedKubeTools(mirror: Mirror, catalog: DigestCatalog): Promise<void> {
  const arch = runnerArch()
  const k = kubectl(KUBECTL_VERSION, arch)
  const kBody = kubectlStandinBinary(KUBECTL_VERSION)
  await put(mirror, catalog, k.upstream, kBody, 0o755)
  await mirror.addFile(k.checksum!.sumsUrl!, `${sha(kBody)}\n`)
  const h = helm(HELM_VERSION, arch)
  const hBody = helmStandinTarball(arch === 'x64' ? 'amd64' : 'arm64', HELM_VERSION)
  await put(mirror, catalog, h.upstream, hBody)
  await mirror.addFile(h.checksum!.sumsUrl!, sums({ [h.fileName]: hBody }))
}

async function seedK3s(
  mirror: Mirror,
  catalog: DigestCatalog,
  cluster: Extract<Cluster, { kind: 'k3s' }>
): Promise<void> {
  const image = await buildArmbianImage()
  if (cluster.armbian_image.url) {
    await mirror.addFile(cluster.armbian_image.url, { path: image.path })
    catalog[imageByUrl(cluster.armbian_image.url).upstream] = { sha256: image.sha256, source: LAB }
  }
  const version = cluster.k3s_version
  const bin = k3sBinary(version)
  const binBody = k3sStandinBinary(version)
  const airgap = k3sAirgap(version)
  // The lab imports no images: the tarball is only copied to the nodes, so a small one serves.
  const airgapBody = Buffer.from(`k3s air-gap images ${version} (lab bytes)\n`)
  await put(mirror, catalog, bin.upstream, binBody, 0o755)
  await put(mirror, catalog, airgap.upstream, airgapBody)
  await mirror.addFile(bin.checksum!.sumsUrl!, sums({ [bin.fileName]: binBody, [airgap.fileName]: airgapBody }))
  await put(mirror, catalog, k3sInstallScript(version).upstream, await readFile(INSTALL_STANDIN), 0o755)
  const npu = cluster.npu
  if (npu?.install_rknn)
    await put(mirror, catalog, rknnRuntime(npu.rknn_version).upstream, `librknnrt ${npu.rknn_version} (lab bytes)\n`)
  if (npu?.install_rkllm)
    await put(
      mirror,
      catalog,
      rkllmRuntime(npu.rkllm_version).upstream,
      `librkllmrt ${npu.rkllm_version} (lab bytes)\n`
    )
  if (npu?.deploy_rkllama) {
    const src = rkllamaSource()
    await put(mirror, catalog, src.upstream, await rkllamaTarball(src.version))
    const entry = npu.model ? MODELS[npu.model]?.[npu.model_quantization ?? ''] : undefined
    if (entry) await put(mirror, catalog, modelArtifact(entry).upstream, `${entry.file} (lab model bytes)\n`)
  }
}

/** Digests of the talosctl stand-ins of `version` that the lab's release route serves. */
export function talosctlCatalog(version: string): DigestCatalog {
  const out: DigestCatalog = {}
  for (const arch of ['x64', 'arm64'] as const)
    out[talosctl(version, arch).upstream] = {
      sha256: sha(
        talosctlStandinBinary(version.startsWith('v') ? version : `v${version}`, arch === 'x64' ? 'amd64' : 'arm64')
      ),
      source: LAB
    }
  return out
}

/**
 * The factory image of the cluster's own schematic, built now by the lab factory (it would be on the
 * first download anyway) so its digest can be in the lab catalog.
 */
export async function factoryImageCatalog(
  factory: LabFactory,
  cluster: Extract<Cluster, { kind: 'talos' }>
): Promise<DigestCatalog> {
  const id = schematicId(marshalSchematic(buildSchematic(cluster).schematic))
  const path = await factory.image(id, cluster.talos_version)
  return { [talosImage(id, cluster.talos_version).upstream]: { sha256: await sha256File(path), source: LAB } }
}

/**
 * Puts what a deploy of `cluster` downloads on the mirror (Talos images and talosctl are routes) and
 * returns the lab catalog: the digest of every lab-built byte the action will fetch.
 */
export async function seedMirror(
  mirror: Mirror,
  cluster: Cluster,
  options: { factory?: LabFactory } = {}
): Promise<DigestCatalog> {
  const catalog: DigestCatalog = {}
  await seedKubeTools(mirror, catalog)
  if (cluster.kind === 'k3s') await seedK3s(mirror, catalog, cluster)
  else {
    Object.assign(catalog, talosctlCatalog(cluster.talos_version))
    if (cluster.image_source === 'factory' && options.factory)
      Object.assign(catalog, await factoryImageCatalog(options.factory, cluster))
  }
  return catalog
}
