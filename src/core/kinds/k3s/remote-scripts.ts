// Scripts the k3s phases run on nodes: observe, install (install.sh with the binary already in place),
// restart, read-back and rejoin cleanup. install.sh runs with INSTALL_K3S_SKIP_START: the unit is started
// without blocking, because a server-side rejection makes `systemctl start` hang forever (k3s issue
// 6054); readiness is then polled from the first server instead.
import { K3S_CONFIG_PATH, K3S_SERVER_TOKEN, K3S_TOKEN_FILE } from './config.js'
import { NODE_PATHS } from './artifacts.js'
import { script } from '../../remote/script.js'

// The digest without a cut process: the observation runs this on every node of every drift.
const SHA = `sha() { if [ -f "$1" ]; then local h; h=$(sha256sum "$1"); echo "\${h%% *}"; else echo none; fi; }`
/** A file's text, or none when it cannot be read: like cat … || echo none, without the cat process. */
const TEXT = `text() { if [ -r "$1" ]; then printf '%s\\n' "$(<"$1")"; else echo none; fi; }`
/** Run right after k3s was told to (re)start: what it starts with (NODE_PATHS.startedWith). */
const RECORD_STARTED_WITH = `printf '%s %s\\n' "$(sha "$CONFIG")" "$(sha "$TOKEN_FILE")" > "$STARTED_WITH"`
const FILES = { CONFIG: K3S_CONFIG_PATH, TOKEN_FILE: K3S_TOKEN_FILE, STARTED_WITH: NODE_PATHS.startedWith }

/** key=value facts: version, config_sha, token_sha, images, unit, server_token, started_with. */
export function observeScript(unit: string): string {
  return script(
    {
      K3S_BIN: NODE_PATHS.binary,
      ...FILES,
      IMAGES_MARKER: NODE_PATHS.imagesMarker,
      UNIT: unit,
      SERVER_TOKEN: K3S_SERVER_TOKEN
    },
    `
${SHA}
${TEXT}
version=none
if [ -x "$K3S_BIN" ]; then version=$("$K3S_BIN" --version 2>/dev/null | awk 'NR == 1 {print $3}'); fi
echo "version=\${version:-unknown}"
echo "config_sha=$(sha "$CONFIG")"
echo "token_sha=$(sha "$TOKEN_FILE")"
echo "images=$(text "$IMAGES_MARKER")"
if [ -f "/etc/systemd/system/$UNIT.service" ]; then echo "unit=$(systemctl is-active "$UNIT" 2>/dev/null || true)"; else echo "unit=absent"; fi
if [ -s "$SERVER_TOKEN" ]; then echo "server_token=present"; else echo "server_token=absent"; fi
echo "started_with=$(text "$STARTED_WITH")"`
  )
}

export function installScript(input: { role: 'server' | 'agent'; version: string }): string {
  const unit = input.role === 'server' ? 'k3s' : 'k3s-agent'
  return script(
    {
      INSTALLER: NODE_PATHS.installer,
      ROLE: input.role,
      UNIT: unit,
      K3S_VERSION: input.version,
      IMAGES_MARKER: NODE_PATHS.imagesMarker,
      ...FILES
    },
    `
${SHA}
INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_SKIP_START=true INSTALL_K3S_EXEC="$ROLE" INSTALL_K3S_VERSION="$K3S_VERSION" sh "$INSTALLER"
printf '%s\\n' "$K3S_VERSION" > "$IMAGES_MARKER"
systemctl enable "$UNIT" >/dev/null 2>&1 || true
systemctl restart --no-block "$UNIT"
${RECORD_STARTED_WITH}
changed "installed=$K3S_VERSION($ROLE)"
result`
  )
}

/**
 * Restarts the unit. Like install, it then records the images of k3s_version as in place: a restart that
 * pushed them (after an install.sh cut short before it recorded them) would otherwise push them again,
 * and restart, on every later run.
 */
export function restartScript(input: { unit: string; why: string; version: string }): string {
  return script(
    { UNIT: input.unit, WHY: input.why, K3S_VERSION: input.version, IMAGES_MARKER: NODE_PATHS.imagesMarker, ...FILES },
    `
${SHA}
systemctl restart --no-block "$UNIT"
printf '%s\\n' "$K3S_VERSION" > "$IMAGES_MARKER"
${RECORD_STARTED_WITH}
changed "restarted=$UNIT($WHY)"
result`
  )
}

/** Prints the server token (stdout only; the caller masks it). Empty when the server has none yet. */
export function readTokenScript(): string {
  return script(
    { SERVER_TOKEN: K3S_SERVER_TOKEN, TOKEN_FILE: K3S_TOKEN_FILE },
    `
if [ -s "$SERVER_TOKEN" ]; then cat "$SERVER_TOKEN"
elif [ -s "$TOKEN_FILE" ]; then cat "$TOKEN_FILE"
fi`
  )
}

/**
 * Before a reflashed node registers again: k3s keeps its Node object and the node-password secret and
 * rejects the new node password ("Node password rejected, duplicate hostname ...") until both are gone.
 */
export function forgetNodeScript(hostname: string): string {
  return script(
    { NODE_NAME: hostname },
    `
if k3s kubectl get node "$NODE_NAME" >/dev/null 2>&1; then
  k3s kubectl delete node "$NODE_NAME" --wait=false >/dev/null
  changed "deleted-node=$NODE_NAME"
fi
if k3s kubectl -n kube-system get secret "$NODE_NAME.node-password.k3s" >/dev/null 2>&1; then
  k3s kubectl -n kube-system delete secret "$NODE_NAME.node-password.k3s" >/dev/null
  changed "deleted-node-password=$NODE_NAME"
fi
result`
  )
}
