// What the lab serves as the talosctl release asset of a version: a small wrapper that sets the version
// the stand-in claims and runs lab/talos/talosctl.mjs with this node binary. Different versions give
// different bytes (and sha256), so the download → verify → cache → exec path behaves as with releases.
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

export const TALOSCTL_STANDIN = fileURLToPath(new URL('./talosctl.mjs', import.meta.url))

export function talosctlStandinBinary(version: string, arch: 'amd64' | 'arm64'): string {
  return `#!/usr/bin/env bash
# talosctl ${version} linux/${arch} (turingpi lab stand-in)
TALOSCTL_STANDIN_VERSION=${JSON.stringify(version)} exec ${JSON.stringify(process.execPath)} ${JSON.stringify(TALOSCTL_STANDIN)} "$@"
`
}

/** sha256sum.txt of a release as the lab serves it (both talosctl assets, `<hex>  <name>` lines). */
export function talosctlSums(version: string): string {
  return (['amd64', 'arm64'] as const)
    .map((arch) => `${createHash('sha256').update(talosctlStandinBinary(version, arch)).digest('hex')}  talosctl-linux-${arch}`)
    .join('\n') + '\n'
}
