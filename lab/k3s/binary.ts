// What the lab serves as "the k3s binary" of a version: a small wrapper that sets the version the
// stand-in claims and runs lab/k3s/standins/k3s.mjs. Different versions give different bytes (and
// sha256), so upgrades and the sha256sum check behave as with real releases.
import { fileURLToPath } from 'node:url'

export const K3S_STANDIN = fileURLToPath(new URL('./standins/k3s.mjs', import.meta.url))
export const INSTALL_STANDIN = fileURLToPath(new URL('./standins/install.sh', import.meta.url))

export function k3sStandinBinary(version: string): string {
  // --version answered here, as k3s.mjs would: every observation of a node asks it, and starting node for
  // it was most of a converged node's CPU in the lab. One write, as k3s.mjs does (bash's printf writes
  // line by line, and a reader that stops after the first line would then meet SIGPIPE).
  return `#!/usr/bin/env bash
# k3s ${version} (turingpi lab stand-in)
if [ "\${1:-}" = --version ] || [ "\${1:-}" = -v ] || [ "\${1:-}" = version ]; then
  exec cat <<'VERSION'
k3s version ${version} (6e6af988)
go version go1.22.8
VERSION
fi
K3S_STANDIN_VERSION=${JSON.stringify(version)} exec ${JSON.stringify(process.execPath)} ${JSON.stringify(K3S_STANDIN)} "$@"
`
}
