// Where every artifact comes from: upstream URL, checksum source and cache key. Pure functions, so the
// plan can show them and tests can assert exact values. The digest to check against comes from the
// cluster file's pin, the committed catalog (digests.ts) or the upstream checksum file, always addressed
// at the upstream host: a mirror serves bytes only (see src/adapters/downloads/file-cache.ts).
//
// Cache keys are full semver because the tool-cache layout (<tool>/<semver>/<arch>) is looked up by
// semver and anything else is never found again. Build metadata (+k3s1) is DROPPED by semver.clean, so
// k3s v1.31.3+k3s1 is keyed 1.31.3-k3s1 (prerelease survives). Talos images are keyed by version plus
// schematic: 1.9.0-s<64 hex schematic id>. Armbian images have no version: 0.0.0-h<first 16 hex of the
// pinned sha256, or of the URL>.
import { createHash } from 'node:crypto'
import type { ArtifactRequest } from '../../adapters/downloads/types.js'

export type Arch = 'arm64' | 'x64'
const goArch = (arch: Arch): string => (arch === 'x64' ? 'amd64' : 'arm64')

/** `<mirror>/<upstream host><upstream path>`; the upstream URL when no mirror is set. */
export function viaMirror(url: string, mirror?: string): string {
  if (!mirror) return url
  const u = new URL(url)
  return `${mirror.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`
}

/** v1.31.3+k3s1 → 1.31.3-k3s1; v1.9.0 → 1.9.0; throws on anything that is not x.y.z[...]. */
export function cacheVersion(version: string): string {
  const m = /^v?(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$/.exec(version.trim())
  if (!m) throw new Error(`version "${version}" is not semver (expected e.g. v1.2.3 or v1.31.3+k3s1)`)
  const pre = [m[2], m[3]].filter(Boolean).join('.')
  return pre ? `${m[1]}-${pre}` : (m[1] as string)
}

const vee = (v: string): string => (v.startsWith('v') ? v : `v${v}`)

export function talosctl(version: string, arch: Arch, mirror?: string): ArtifactRequest {
  const base = `https://github.com/siderolabs/talos/releases/download/${vee(version)}`
  const fileName = `talosctl-linux-${goArch(arch)}`
  return {
    tool: 'talosctl',
    version: cacheVersion(version),
    arch,
    fileName,
    executable: true,
    url: viaMirror(`${base}/${fileName}`, mirror),
    upstream: `${base}/${fileName}`,
    checksum: { sumsUrl: `${base}/sha256sum.txt`, sumsEntry: fileName }
  }
}

export function kubectl(version: string, arch: Arch, mirror?: string): ArtifactRequest {
  const url = `https://dl.k8s.io/release/${vee(version)}/bin/linux/${goArch(arch)}/kubectl`
  return {
    tool: 'kubectl',
    version: cacheVersion(version),
    arch,
    fileName: 'kubectl',
    executable: true,
    url: viaMirror(url, mirror),
    upstream: url,
    checksum: { sumsUrl: `${url}.sha256` }
  }
}

/** The helm tarball; the caller extracts `linux-<arch>/helm`. */
export function helm(version: string, arch: Arch, mirror?: string): ArtifactRequest {
  const fileName = `helm-${vee(version)}-linux-${goArch(arch)}.tar.gz`
  const url = `https://get.helm.sh/${fileName}`
  return {
    tool: 'helm',
    version: cacheVersion(version),
    arch,
    fileName,
    url: viaMirror(url, mirror),
    upstream: url,
    checksum: { sumsUrl: `${url}.sha256sum`, sumsEntry: fileName }
  }
}

function k3sRelease(version: string): string {
  return `https://github.com/k3s-io/k3s/releases/download/${encodeURIComponent(vee(version))}`
}

/** The k3s binary for the nodes (always arm64 on RK1). */
export function k3sBinary(version: string, arch: Arch = 'arm64', mirror?: string): ArtifactRequest {
  const fileName = arch === 'x64' ? 'k3s' : 'k3s-arm64'
  const base = k3sRelease(version)
  return {
    tool: 'k3s',
    version: cacheVersion(version),
    arch,
    fileName,
    executable: true,
    url: viaMirror(`${base}/${fileName}`, mirror),
    upstream: `${base}/${fileName}`,
    checksum: { sumsUrl: `${base}/sha256sum-${goArch(arch)}.txt`, sumsEntry: fileName }
  }
}

export function k3sAirgap(version: string, arch: Arch = 'arm64', mirror?: string): ArtifactRequest {
  const fileName = `k3s-airgap-images-${goArch(arch)}.tar.zst`
  const base = k3sRelease(version)
  return {
    tool: 'k3s-airgap',
    version: cacheVersion(version),
    arch,
    fileName,
    url: viaMirror(`${base}/${fileName}`, mirror),
    upstream: `${base}/${fileName}`,
    checksum: { sumsUrl: `${base}/sha256sum-${goArch(arch)}.txt`, sumsEntry: fileName }
  }
}

/**
 * The install script at the tag of the k3s version (get.k3s.io is unversioned, so it could change under
 * a cached key). Upstream publishes no checksum for it: the catalog (or a pin) is the only check.
 */
export function k3sInstallScript(version: string, mirror?: string, sha256?: string): ArtifactRequest {
  const url = `https://raw.githubusercontent.com/k3s-io/k3s/${encodeURIComponent(vee(version))}/install.sh`
  return {
    tool: 'k3s-install',
    version: cacheVersion(version),
    arch: 'any',
    fileName: 'install.sh',
    executable: true,
    url: viaMirror(url, mirror),
    upstream: url,
    ...(sha256 ? { checksum: { sha256 } } : {})
  }
}

/**
 * The Talos metal image from the Image Factory. The factory publishes no sums: a pin (the cluster file's,
 * or the digest recorded at the first download) or the catalog is the check; without one, only bytes
 * read straight from factory.talos.dev over https are taken (and their digest recorded), never a mirror's.
 */
export function talosImage(schematic: string, version: string, mirror?: string, sha256?: string): ArtifactRequest {
  if (!/^[0-9a-f]{64}$/.test(schematic)) throw new Error(`schematic id "${schematic}" is not 64 hex digits`)
  const url = `https://factory.talos.dev/image/${schematic}/${vee(version)}/metal-arm64.raw.xz`
  return {
    tool: 'talos-image',
    version: `${cacheVersion(version)}-s${schematic}`,
    arch: 'arm64',
    fileName: 'metal-arm64.raw.xz',
    url: viaMirror(url, mirror),
    upstream: url,
    firstUseOverHttps: true,
    ...(sha256 ? { checksum: { sha256 } } : {})
  }
}

/** An Armbian (or any) image by URL; keyed by its pin, else by its URL. Needs a pin or a catalog entry. */
export function imageByUrl(url: string, mirror?: string, sha256?: string): ArtifactRequest {
  const key = (sha256 ?? createHash('sha256').update(url).digest('hex')).toLowerCase().slice(0, 16)
  const fileName = decodeURIComponent(new URL(url).pathname.split('/').pop() || 'image.img')
  return {
    tool: 'armbian',
    version: `0.0.0-h${key}`,
    arch: 'arm64',
    fileName,
    url: viaMirror(url, mirror),
    upstream: url,
    ...(sha256 ? { checksum: { sha256 } } : {})
  }
}
