#!/bin/sh
# Lab stand-in for k3s install.sh (get.k3s.io): the air-gapped path only. It prints the [INFO] lines of
# the real script (two spaces after the tag), creates the symlinks, the killall/uninstall scripts, the
# env and unit files, and enables/starts the unit through the node's systemctl. Downloading is refused:
# lab nodes have no internet, exactly like the action expects.
set -e

info() { echo '[INFO] ' "$@"; }
fatal() { echo '[ERROR] ' "$@" >&2; exit 1; }

BIN_DIR=/usr/local/bin
SYSTEMD_DIR=/etc/systemd/system
[ "${INSTALL_K3S_SKIP_DOWNLOAD:-}" = true ] || fatal "Download failed: this lab node has no internet (set INSTALL_K3S_SKIP_DOWNLOAD=true and place the binary)"
CMD_K3S=$(echo "${INSTALL_K3S_EXEC:-}" | awk '{print $1}')
if [ -z "$CMD_K3S" ]; then
  if [ -n "${K3S_URL:-}" ]; then CMD_K3S=agent; else CMD_K3S=server; fi
fi
case "$CMD_K3S" in
  server) SYSTEM_NAME=k3s; UNINSTALL=k3s-uninstall.sh; TYPE=notify ;;
  agent) SYSTEM_NAME=k3s-agent; UNINSTALL=k3s-agent-uninstall.sh; TYPE="exec" ;;
  *) fatal "Unknown command $CMD_K3S" ;;
esac
[ -x "$BIN_DIR/k3s" ] || fatal "Binary $BIN_DIR/k3s not found (INSTALL_K3S_SKIP_DOWNLOAD needs it in place)"

info "Skipping k3s download and verify"
info "Skipping installation of SELinux RPM"
for cmd in kubectl crictl ctr; do
  if [ -e "$BIN_DIR/$cmd" ]; then
    info "Skipping $BIN_DIR/$cmd symlink to k3s, already exists"
  else
    info "Creating $BIN_DIR/$cmd symlink to k3s"
    ln -sf k3s "$BIN_DIR/$cmd"
  fi
done
info "Creating killall script $BIN_DIR/k3s-killall.sh"
printf '#!/bin/sh\nsystemctl stop k3s k3s-agent 2>/dev/null || true\n' > "$BIN_DIR/k3s-killall.sh"
chmod 755 "$BIN_DIR/k3s-killall.sh"
info "Creating uninstall script $BIN_DIR/$UNINSTALL"
printf '#!/bin/sh\nsystemctl disable --now %s || true\nrm -f %s/k3s %s/%s.service\n' "$SYSTEM_NAME" "$BIN_DIR" "$SYSTEMD_DIR" "$SYSTEM_NAME" > "$BIN_DIR/$UNINSTALL"
chmod 755 "$BIN_DIR/$UNINSTALL"
mkdir -p "$SYSTEMD_DIR"
info "env: Creating environment file $SYSTEMD_DIR/$SYSTEM_NAME.service.env"
: > "$SYSTEMD_DIR/$SYSTEM_NAME.service.env"
chmod 600 "$SYSTEMD_DIR/$SYSTEM_NAME.service.env"
info "systemd: Creating service file $SYSTEMD_DIR/$SYSTEM_NAME.service"
cat > "$SYSTEMD_DIR/$SYSTEM_NAME.service" <<UNIT
[Unit]
Description=Lightweight Kubernetes
Documentation=https://k3s.io
Wants=network-online.target
After=network-online.target

[Install]
WantedBy=multi-user.target

[Service]
Type=$TYPE
EnvironmentFile=-/etc/default/%N
EnvironmentFile=-/etc/sysconfig/%N
EnvironmentFile=-$SYSTEMD_DIR/$SYSTEM_NAME.service.env
KillMode=process
Delegate=yes
LimitNOFILE=1048576
TimeoutStartSec=0
Restart=always
RestartSec=5s
ExecStart=$BIN_DIR/k3s $CMD_K3S
UNIT
info "systemd: Enabling $SYSTEM_NAME unit"
systemctl enable "$SYSTEM_NAME" >/dev/null
systemctl daemon-reload >/dev/null
if [ "${INSTALL_K3S_SKIP_START:-}" = true ]; then
  exit 0
fi
info "systemd: Starting $SYSTEM_NAME"
systemctl restart "$SYSTEM_NAME"
