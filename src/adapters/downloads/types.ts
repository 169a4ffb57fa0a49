// Everything the action downloads goes through here: resolved to a URL (under the mirror base when set),
// verified by sha256, cached under a full-semver key, and not downloaded again when cached.

export interface Checksum {
  /** A pinned hex digest, or the URL of a checksum file and the file name to look up in it. */
  sha256?: string
  sumsUrl?: string
  sumsEntry?: string
}

export interface ArtifactRequest {
  /** Cache name: talosctl, kubectl, helm, k3s, k3s-airgap, armbian, talos-image, ... */
  tool: string
  /** Full semver (normalised by the caller; non-semver keys are never found again). */
  version: string
  /** arm64 or x64 (node naming). */
  arch: string
  url: string
  fileName: string
  checksum?: Checksum
  /** Set the executable bit. */
  executable?: boolean
}

export interface CachedArtifact {
  path: string
  sha256: string
  bytes: number
  /** False when it came from the cache. */
  downloaded: boolean
}

export interface Downloads {
  fetch(request: ArtifactRequest): Promise<CachedArtifact>
}
