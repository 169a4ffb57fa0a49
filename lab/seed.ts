// Fills the lab mirror with every file the action downloads for a cluster file, at the upstream URLs
// the action computes itself (src/core/tools/catalog.ts and the phases' artifact tables), so the mirror
// cannot drift from what the action asks for. Checksum files are written the way upstream publishes
// them; the Talos factory and talosctl assets are routes (lab/talos registers them).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KUBECTL_VERSION, HELM_VERSION } from '../src/core/phases/addons/tools.js'
import { MODELS, modelArtifact, rkllamaSource, rkllmRuntime, rknnRuntime } from '../src/core/phases/npu/artifacts.js'
import type { Cluster } from '../src/core/config/model.js'
import { helm, k3sAirgap, k3sBinary, k3sInstallScript, kubectl, type Arch } from '../src/core/tools/catalog.js'
import { buildArmbianImage } from './images/index.js'
import { INSTALL_STANDIN, k3sStandinBinary } from './k3s/binary.js'
import { helmStandinTarball, kubectlStandinBinary } from './kube/binaries.js'
import type { Mirror } from './mirror/index.js'

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')
const runnerArch = (): Arch => (process.arch === 'arm64' ? 'arm64' : 'x64')

/** `<hex>  <name>` lines, as sha256sum writes them. */
const sums = (files: Record<string, Buffer | string>): string =>
  Object.entries(files).map(([name, body]) => `${sha(body)}  ${name}\n`).join('')

async function rkllamaTarball(version: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'lab-rkllama-'))
  try {
    // One top folder, as GitHub's archive endpoint serves a tag.
    await mkdir(join(dir, `rkllama-${version}`))
    await writeFile(join(dir, `rkllama-${version}`, 'setup.py'), '# rkllama lab source (the lab installs its stand-in)\n')
    execFileSync('tar', ['-czf', join(dir, 'src.tar.gz'), '-C', dir, `rkllama-${version}`])
    return await readFile(join(dir, 'src.tar.gz'))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The runner tools both kinds use for addons (kubectl and helm stand-ins with their checksum files). */
async function seedKubeTools(mirror: Mirror): Promise<void> {
  const arch = runnerArch()
  const k = kubectl(KUBECTL_VERSION, arch)
  const kBody = kubectlStandinBinary(KUBECTL_VERSION)
  await mirror.addFile(k.url, kBody, { mode: 0o755 })
  await mirror.addFile(k.checksum!.sumsUrl!, `${sha(kBody)}\n`)
  const h = helm(HELM_VERSION, arch)
  const hBody = helmStandinTarball(arch === 'x64' ? 'amd64' : 'arm64', HELM_VERSION)
  await mirror.addFile(h.url, hBody)
  await mirror.addFile(h.checksum!.sumsUrl!, sums({ [h.fileName]: hBody }))
}

async function seedK3s(mirror: Mirror, cluster: Extract<Cluster, { kind: 'k3s' }>): Promise<void> {
  const image = await buildArmbianImage()
  if (cluster.armbian_image.url) await mirror.addFile(cluster.armbian_image.url, { path: image.path })
  const version = cluster.k3s_version
  const bin = k3sBinary(version)
  const binBody = k3sStandinBinary(version)
  const airgap = k3sAirgap(version)
  // The lab imports no images: the tarball is only copied to the nodes, so a small one serves.
  const airgapBody = Buffer.from(`k3s air-gap images ${version} (lab bytes)\n`)
  await mirror.addFile(bin.url, binBody, { mode: 0o755 })
  await mirror.addFile(airgap.url, airgapBody)
  await mirror.addFile(bin.checksum!.sumsUrl!, sums({ [bin.fileName]: binBody, [airgap.fileName]: airgapBody }))
  await mirror.addFile(k3sInstallScript(version).url, await readFile(INSTALL_STANDIN), { mode: 0o755 })
  const npu = cluster.npu
  if (npu?.install_rknn) await mirror.addFile(rknnRuntime(npu.rknn_version).url, `librknnrt ${npu.rknn_version} (lab bytes)\n`)
  if (npu?.install_rkllm) await mirror.addFile(rkllmRuntime(npu.rkllm_version).url, `librkllmrt ${npu.rkllm_version} (lab bytes)\n`)
  if (npu?.deploy_rkllama) {
    const src = rkllamaSource()
    await mirror.addFile(src.url, await rkllamaTarball(src.version))
    const entry = npu.model ? MODELS[npu.model]?.[npu.model_quantization ?? ''] : undefined
    if (entry) await mirror.addFile(modelArtifact(entry).url, `${entry.file} (lab model bytes)\n`)
  }
}

/** Puts what a deploy of `cluster` downloads on the mirror (Talos images and talosctl are routes). */
export async function seedMirror(mirror: Mirror, cluster: Cluster): Promise<void> {
  await seedKubeTools(mirror)
  if (cluster.kind === 'k3s') await seedK3s(mirror, cluster)
}
