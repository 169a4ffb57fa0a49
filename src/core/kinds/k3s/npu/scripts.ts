// Node-side scripts of the NPU phase: the driver check (refuses a kernel without RKNPU), runtime
// installation behind version markers, rkllama's install into a venv and our systemd unit.
import { script } from '../../../remote/script.js'

export interface NpuPaths {
  /** RKNPU driver version (vendor kernel, debugfs). */
  versionFile: string
  /** Where the DRM render nodes appear. */
  driDir: string
}

export const DEFAULT_NPU_PATHS: NpuPaths = { versionFile: '/sys/kernel/debug/rknpu/version', driDir: '/dev/dri' }
export const MARKERS = '/var/lib/turingpi/npu'
export const RKLLAMA_HOME = '/opt/rkllama'

/** key=value: driver, render, rknn, rkllm, rkllama, model, unit. */
export function npuObserveScript(paths: NpuPaths): string {
  return script(
    { VERSION_FILE: paths.versionFile, DRI_DIR: paths.driDir, MARKERS, HOME_DIR: RKLLAMA_HOME },
    `
driver=$(sed -n 's/^RKNPU driver: *//p' "$VERSION_FILE" 2>/dev/null | head -n1 || true)
echo "driver=\${driver:-none}"
render=$(find "$DRI_DIR" -maxdepth 1 -name 'renderD*' 2>/dev/null | sort | head -n1 || true)
echo "render=\${render:-none}"
for m in rknn rkllm rkllama model; do echo "$m=$(cat "$MARKERS/$m" 2>/dev/null || echo none)"; done
if [ -f /etc/systemd/system/rkllama.service ]; then echo "unit=$(systemctl is-active rkllama 2>/dev/null || true)"; else echo "unit=absent"; fi
if [ -f /etc/systemd/system/rkllama.service ]; then echo "unit_sha=$(sha256sum /etc/systemd/system/rkllama.service | cut -d' ' -f1)"; else echo "unit_sha=none"; fi
echo "kernel=$(uname -r)"`
  )
}

/** Moves a pushed library into place, runs ldconfig and records the version. */
export function runtimeScript(name: 'rknn' | 'rkllm', library: string, version: string): string {
  return script(
    { NAME: name, STAGED: `${MARKERS}/${library}.new`, TARGET: `/usr/local/lib/${library}`, VERSION: version, MARKERS },
    `
install -m 0644 "$STAGED" "$TARGET"
rm -f "$STAGED"
ldconfig 2>/dev/null || true
printf '%s\\n' "$VERSION" > "$MARKERS/$NAME"
changed "$NAME=$VERSION"
result`
  )
}

/** Where the NPU phase puts the hashed lock of rkllama's Python dependencies before the install. */
export const RKLLAMA_LOCK = `${RKLLAMA_HOME}/requirements.lock`

/**
 * rkllama from the pushed source tarball into a venv. Its Python dependencies come only from the hashed
 * lock (pip --require-hashes: a file whose sha256 the lock does not name is refused, whichever index or
 * mirror served it; --no-deps: nothing the lock does not list). rkllama itself and the rknn-toolkit-lite2
 * wheel it bundles come from the tarball, already checked against its digest: installed with --no-index,
 * so that step fetches nothing. --no-build-isolation: a build uses the lock's setuptools, never an
 * unhashed download.
 */
export function rkllamaInstallScript(input: { version: string; mirror?: string }): string {
  return script(
    {
      HOME_DIR: RKLLAMA_HOME,
      VERSION: input.version,
      MARKERS,
      LOCK: RKLLAMA_LOCK,
      PIP_INDEX: input.mirror ? `${input.mirror.replace(/\/+$/, '')}/pypi.org/simple` : ''
    },
    `
mkdir -p "$HOME_DIR/app" "$HOME_DIR/models"
tar -xzf "$HOME_DIR/rkllama.tar.gz" -C "$HOME_DIR/app" --strip-components=1
python3 -m venv "$HOME_DIR/venv"
pip_opts=()
if [ -n "$PIP_INDEX" ]; then pip_opts=(--index-url "$PIP_INDEX"); fi
"$HOME_DIR/venv/bin/pip" install -q --require-hashes --no-deps --no-build-isolation "\${pip_opts[@]}" -r "$LOCK"
py=$(python3 -c 'import sys; print("cp%d%d" % sys.version_info[:2])' 2>/dev/null || true)
local_pkgs=()
for whl in "$HOME_DIR/app/src/rkllama/lib/rknn_toolkit_lite2-"*"-$py-$py-"*.whl; do
  if [ -f "$whl" ]; then local_pkgs+=("$whl"); fi
done
"$HOME_DIR/venv/bin/pip" install -q --no-index --no-deps --no-build-isolation "\${local_pkgs[@]}" "$HOME_DIR/app"
printf '%s\\n' "$VERSION" > "$MARKERS/rkllama"
changed "rkllama=$VERSION"
result`
  )
}

export function rkllamaUnit(port: number): string {
  // The unit is program text for systemd: only a port number may reach it.
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`rkllama port ${port} is not a TCP port (1..65535)`)
  return `# Managed by turingpi-cluster-action.
[Unit]
Description=rkllama (LLM API on the RK3588 NPU)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
WorkingDirectory=${RKLLAMA_HOME}
Environment=RKLLAMA_MODELS=${RKLLAMA_HOME}/models
ExecStart=${RKLLAMA_HOME}/venv/bin/rkllama serve --port ${port}
Restart=on-failure
RestartSec=5s

[Install]
WantedBy=multi-user.target
`
}

export function modelScript(input: { name: string; file: string; repo: string; marker: string }): string {
  return script(
    { DIR: `${RKLLAMA_HOME}/models/${input.name}`, FILE: input.file, REPO: input.repo, MARKER: input.marker, MARKERS },
    `
mkdir -p "$DIR"
mv -f "$DIR/$FILE.new" "$DIR/$FILE"
printf 'FROM="%s"\\nHUGGINGFACE_PATH="%s"\\nSYSTEM=""\\nTEMPERATURE=0.7\\n' "$FILE" "$REPO" > "$DIR/Modelfile"
printf '%s\\n' "$MARKER" > "$MARKERS/model"
changed "model=$MARKER"
result`
  )
}

export function startUnitScript(unit: string): string {
  return script(
    { UNIT: unit },
    `
systemctl daemon-reload
systemctl enable "$UNIT" >/dev/null 2>&1 || true
systemctl restart "$UNIT"
changed "started=$UNIT"
result`
  )
}
