// Everything the action downloads goes through here: resolved to a URL (under the mirror base when set),
// verified by sha256, cached under a full-semver key, and not downloaded again when cached.

export interface Checksum {
  /** A digest the user pinned (cluster file `sha256:`); wins over everything else. */
  sha256?: string
  /** The upstream project's checksum file: an https URL on the upstream host, never a mirror URL. */
  sumsUrl?: string
  sumsEntry?: string
}

/** Upstream URL -> its pinned digest (sha256 absent: not pinned yet) and where the digest was read. */
export type DigestCatalog = Record<string, { sha256?: string; source: string }>

export interface ArtifactRequest {
  /** Cache name: talosctl, kubectl, helm, k3s, k3s-airgap, armbian, talos-image, ... */
  tool: string
  /** Full semver (normalised by the caller; non-semver keys are never found again). */
  version: string
  /** arm64 or x64 (node naming). */
  arch: string
  /** Where the bytes are fetched: the upstream URL, or its copy under the mirror base. */
  url: string
  /** The upstream https URL: the catalog key, and what messages name. */
  upstream: string
  fileName: string
  checksum?: Checksum
  /**
   * No digest exists anywhere (Image Factory images): without a pin, bytes read straight from the upstream
   * https URL are accepted and their digest returned for the caller to record; a mirror's never are.
   */
  firstUseOverHttps?: boolean
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
