// helm and kubectl on the runner, like setup-helm / setup-kubectl: fetched once through deps.downloads
// (mirror, sha256 check and tool cache included) and reused from the cache. The helm tarball is unpacked
// next to the cached file the first time; kubectl is the binary itself.
import { gunzipSync } from 'node:zlib'
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Downloads } from '../../../adapters/downloads/types.js'
import { helm, kubectl, type Arch } from '../../tools/catalog.js'

/** Pinned CLI versions: kubectl within one minor of both K3s (1.31) and Talos 1.9 (Kubernetes 1.32). */
export const HELM_VERSION = 'v3.19.0'
export const KUBECTL_VERSION = 'v1.32.0'

export interface KubeTools {
  helm: string
  kubectl: string
}

/** One regular file out of a tar archive (ustar/GNU headers; long names via GNU 'L' entries). */
export function tarEntry(tar: Buffer, wanted: string): Buffer | undefined {
  let offset = 0
  let longName: string | undefined
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512)
    if (header.every((b) => b === 0)) return undefined
    const field = (start: number, len: number): string =>
      header
        .subarray(start, start + len)
        .toString('utf8')
        .replace(/\0.*$/s, '')
    const size = parseInt(field(124, 12).trim() || '0', 8)
    const type = String.fromCharCode(header[156] ?? 48)
    const prefix = field(345, 155)
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100))
    const body = tar.subarray(offset + 512, offset + 512 + size)
    longName = undefined
    if (type === 'L') longName = body.toString('utf8').replace(/\0.*$/s, '')
    else if ((type === '0' || type === '\0') && name.replace(/^\.\//, '') === wanted) return Buffer.from(body)
    offset += 512 + Math.ceil(size / 512) * 512
  }
  return undefined
}

const goArch = (arch: Arch): string => (arch === 'x64' ? 'amd64' : 'arm64')

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false
  )
}

/** Fetches (or finds cached) helm and kubectl for the runner's architecture. */
export async function ensureKubeTools(downloads: Downloads, arch: Arch, mirror?: string): Promise<KubeTools> {
  const helmTar = await downloads.fetch(helm(HELM_VERSION, arch, mirror))
  const kubectlBin = await downloads.fetch(kubectl(KUBECTL_VERSION, arch, mirror))
  const helmPath = join(dirname(helmTar.path), `helm-${HELM_VERSION}-${goArch(arch)}`, 'helm')
  if (!(await exists(helmPath))) {
    const inner = `linux-${goArch(arch)}/helm`
    const bin = tarEntry(gunzipSync(await readFile(helmTar.path)), inner)
    if (!bin)
      throw new Error(`helm archive ${helmTar.path} has no ${inner}, expected the layout of get.helm.sh tarballs`)
    await mkdir(dirname(helmPath), { recursive: true })
    // Write then rename: a parallel run never executes half a binary.
    await writeFile(`${helmPath}.tmp`, bin, { mode: 0o755 })
    await rename(`${helmPath}.tmp`, helmPath)
  }
  await chmod(kubectlBin.path, 0o755)
  return { helm: helmPath, kubectl: kubectlBin.path }
}
