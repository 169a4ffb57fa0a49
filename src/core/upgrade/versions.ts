// What the upgrade planner knows about versions: how to read them, the latest patch of each minor (the
// stepping stones of a multi-minor path) and which Kubernetes minors each Talos minor runs. Bump the
// tables here only; the planner and its tests read them from this file.
//
// Latest patches as recorded for this catalog (December 2026 notes); an unknown minor makes the planner
// refuse with "not in the catalog" rather than guess a stepping stone. Checked against public release
// records on 2026-12-07: K3s v1.30.14+k3s2 and v1.31.14+k3s1 head docs.k3s.io's v1.30.X / v1.31.X release
// tables; Talos v1.9.6 (siderolabs/talos#10901), v1.10.7 (#11674) and v1.11.6 (#12428, 2025-12-16, newer
// than the v1.11.5 recorded before) were released. The K3s 1.28/1.29/1.32–1.34 rows are not yet re-checked.

export interface Version {
  major: number
  minor: number
  patch: number
  /** K3s build suffix ("k3s1" of v1.31.3+k3s1), or a pre-release; '' when none. */
  build: string
  /** As written in the file. */
  text: string
}

/** v1.31.3+k3s1, 1.31.3, v1.9.0 → parts; undefined for anything else. */
export function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:[+-]([0-9A-Za-z.-]+))?$/.exec(text.trim())
  if (!m) return undefined
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), build: m[4] ?? '', text: text.trim() }
}

/** "1.31" of a version: the key of the catalog tables. */
export const minorOf = (v: Version): string => `${v.major}.${v.minor}`

/** Orders by major, minor, patch, then the K3s build number (k3s2 is newer than k3s1). */
export function compareVersions(a: Version, b: Version): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch || buildNumber(a.build) - buildNumber(b.build)
}

function buildNumber(build: string): number {
  const m = /(\d+)$/.exec(build)
  return m ? Number(m[1]) : 0
}

/** Minor distance b − a, across majors only when both are 1.x (all of ours are). */
export const minorDistance = (a: Version, b: Version): number => (b.major - a.major) * 1000 + (b.minor - a.minor)

/** Latest K3s release of each minor. */
export const K3S_LATEST_PATCH: Record<string, string> = {
  '1.28': 'v1.28.15+k3s1',
  '1.29': 'v1.29.15+k3s1',
  '1.30': 'v1.30.14+k3s2',
  '1.31': 'v1.31.14+k3s1',
  '1.32': 'v1.32.10+k3s1',
  '1.33': 'v1.33.6+k3s1',
  '1.34': 'v1.34.2+k3s1'
}

/** Latest Talos release of each minor (RK1 is supported from Talos 1.9). */
export const TALOS_LATEST_PATCH: Record<string, string> = {
  '1.9': 'v1.9.6',
  '1.10': 'v1.10.7',
  '1.11': 'v1.11.6'
}

/** Kubernetes minors each Talos minor supports (six each), inclusive. */
export const TALOS_KUBERNETES: Record<string, { oldest: string; newest: string }> = {
  '1.9': { oldest: '1.27', newest: '1.32' },
  '1.10': { oldest: '1.28', newest: '1.33' },
  '1.11': { oldest: '1.29', newest: '1.34' }
}

/** Whether a Talos version runs a Kubernetes version; undefined when the catalog does not know the Talos minor. */
export function talosSupportsKubernetes(talos: Version, kubernetes: Version): boolean | undefined {
  const range = TALOS_KUBERNETES[minorOf(talos)]
  if (!range) return undefined
  const k = kubernetes.major * 1000 + kubernetes.minor
  const [lo, hi] = [range.oldest, range.newest].map((m) => {
    const [maj, min] = m.split('.').map(Number)
    return maj * 1000 + min
  })
  return k >= lo && k <= hi
}

/** The Kubernetes version a K3s release carries (v1.31.3+k3s1 → v1.31.3). */
export const kubernetesOfK3s = (v: Version): string => `v${v.major}.${v.minor}.${v.patch}`
