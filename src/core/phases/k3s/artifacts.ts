// What an air-gapped k3s install needs from the runner: the binary, the image tarball and the install
// script of k3s_version. The nodes never download anything; the runner fetches (or finds in its cache)
// these three and pushes them over SFTP.
import type { ArtifactRequest } from '../../../adapters/downloads/types.js'

const RELEASES = 'https://github.com/k3s-io/k3s/releases/download'
/** install.sh from the k3s repository at the release tag: pinned, unlike get.k3s.io. */
const RAW = 'https://raw.githubusercontent.com/k3s-io/k3s'

/** `<mirror>/<host><path>` when a mirror is set, the upstream URL otherwise. */
export function viaMirror(url: string, mirror?: string): string {
  if (!mirror) return url
  const u = new URL(url)
  return `${mirror.replace(/\/+$/, '')}/${u.host}${u.pathname}${u.search}`
}

/** v1.31.3+k3s1 -> 1.31.3-k3s1: a semver the cache keeps distinct per k3s revision (build metadata is dropped by semver). */
export function cacheVersion(k3sVersion: string): string {
  return k3sVersion.replace(/^v/, '').replace('+', '-')
}

export interface K3sArtifacts {
  binary: ArtifactRequest
  images: ArtifactRequest
  installer: ArtifactRequest
}

export function k3sArtifacts(k3sVersion: string, mirror?: string): K3sArtifacts {
  const tag = encodeURIComponent(k3sVersion)
  const version = cacheVersion(k3sVersion)
  const sums = viaMirror(`${RELEASES}/${tag}/sha256sum-arm64.txt`, mirror)
  return {
    binary: {
      tool: 'k3s',
      version,
      arch: 'arm64',
      url: viaMirror(`${RELEASES}/${tag}/k3s-arm64`, mirror),
      fileName: 'k3s-arm64',
      checksum: { sumsUrl: sums, sumsEntry: 'k3s-arm64' },
      executable: true
    },
    images: {
      tool: 'k3s-airgap',
      version,
      arch: 'arm64',
      url: viaMirror(`${RELEASES}/${tag}/k3s-airgap-images-arm64.tar.zst`, mirror),
      fileName: 'k3s-airgap-images-arm64.tar.zst',
      checksum: { sumsUrl: sums, sumsEntry: 'k3s-airgap-images-arm64.tar.zst' }
    },
    installer: {
      tool: 'k3s-install',
      version,
      arch: 'arm64',
      url: viaMirror(`${RAW}/${tag}/install.sh`, mirror),
      fileName: 'install.sh',
      executable: true
    }
  }
}

/** Where the pushed files land on a node. */
export const NODE_PATHS = {
  binary: '/usr/local/bin/k3s',
  images: '/var/lib/rancher/k3s/agent/images/k3s-airgap-images-arm64.tar.zst',
  /** Holds the k3s_version whose images were pushed, so a rerun need not hash 200 MB. */
  imagesMarker: '/var/lib/rancher/k3s/agent/images/.tpi-version',
  installer: '/usr/local/lib/turingpi/k3s-install.sh'
} as const
