// What the lab serves as the talosctl release asset of a version: a small bash wrapper that sets the
// version the stand-in claims, then runs the command in the lab's talosctl server when the environment
// names one (TPI_LAB_TALOSCTL, a loopback host:port; see lib/serve.mjs for why and the wire format), or
// else runs lab/talos/talosctl.mjs with this node binary. Different versions give different bytes (and
// sha256), so the download → verify → cache → exec path behaves as with releases.
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { recordEnvLine } from '../kube/binaries.js'

export const TALOSCTL_STANDIN = fileURLToPath(new URL('./talosctl.mjs', import.meta.url))

/** The environment the command sees in the lab server (it runs in another process). */
const PASSED = [
  'TALOSCTL_STANDIN_VERSION',
  'TALOSCONFIG',
  'TPI_ADDRESS_MAP',
  'TPI_LAB_DIR',
  'TALOSCTL_LAB_HEALTH_POLL_MS'
]

export function talosctlStandinBinary(version: string, arch: 'amd64' | 'arm64'): string {
  return `#!/usr/bin/env bash
# talosctl ${version} linux/${arch} (turingpi lab stand-in)
${recordEnvLine('talosctl')}export TALOSCTL_STANDIN_VERSION=${JSON.stringify(version)}
if [[ \${TPI_LAB_TALOSCTL-} =~ ^(127\\.[0-9.]+):([0-9]+)$ ]] && { exec 3<>"/dev/tcp/\${BASH_REMATCH[1]}/\${BASH_REMATCH[2]}"; } 2>/dev/null; then
  printf '%s\\0' "$PWD" ${PASSED.map((n) => `"${n}=\${${n}-}"`).join(' ')} -- "$#" "$@" >&3
  if IFS= read -r -d '' -u 3 code && IFS= read -r -d '' -u 3 out && IFS= read -r -d '' -u 3 err; then
    printf '%s' "$out"
    printf '%s' "$err" >&2
    exit "$code"
  fi
  echo "talosctl (lab): the lab's talosctl server at $TPI_LAB_TALOSCTL closed the connection without an answer" >&2
  exit 1
fi
exec ${JSON.stringify(process.execPath)} ${JSON.stringify(TALOSCTL_STANDIN)} "$@"
`
}

/** sha256sum.txt of a release as the lab serves it (both talosctl assets, `<hex>  <name>` lines). */
export function talosctlSums(version: string): string {
  return (
    (['amd64', 'arm64'] as const)
      .map(
        (arch) =>
          `${createHash('sha256').update(talosctlStandinBinary(version, arch)).digest('hex')}  talosctl-linux-${arch}`
      )
      .join('\n') + '\n'
  )
}
