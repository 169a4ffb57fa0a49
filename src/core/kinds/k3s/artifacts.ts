// What an air-gapped k3s install needs from the runner: the binary, the image tarball and the install
// script of k3s_version, from the artifact catalog (src/core/tools). The nodes never download anything;
// the runner fetches (or finds in its cache) these three and pushes them over SFTP.
import type { ArtifactRequest } from '../../../adapters/downloads/types.js'
import { k3sAirgap, k3sBinary, k3sInstallScript } from '../../tools/catalog.js'

export interface K3sArtifacts {
  binary: ArtifactRequest
  images: ArtifactRequest
  installer: ArtifactRequest
}

export function k3sArtifacts(k3sVersion: string, mirror?: string): K3sArtifacts {
  return {
    binary: k3sBinary(k3sVersion, 'arm64', mirror),
    images: k3sAirgap(k3sVersion, 'arm64', mirror),
    installer: k3sInstallScript(k3sVersion, mirror)
  }
}

/** Where the pushed files land on a node. */
export const NODE_PATHS = {
  binary: '/usr/local/bin/k3s',
  images: '/var/lib/rancher/k3s/agent/images/k3s-airgap-images-arm64.tar.zst',
  /** Holds the k3s_version whose images were pushed, so a rerun need not hash 200 MB. */
  imagesMarker: '/var/lib/rancher/k3s/agent/images/.tpi-version',
  /**
   * "<sha256 of config.yaml> <sha256 of the token file>" as they were when this action last (re)started
   * k3s: a config written by a run whose restart never happened (its SSH connection dropped in between)
   * no longer matches, so the next run restarts instead of taking the new file for a loaded one.
   */
  startedWith: '/var/lib/rancher/k3s/.tpi-started-with',
  installer: '/usr/local/lib/turingpi/k3s-install.sh'
} as const
