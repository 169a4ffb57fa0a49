#!/usr/bin/env bash
# Runs a command in a private network namespace where only loopback exists (unshare -rn, then lo up),
# so nothing it starts can reach a LAN or public address: the examples and the lab use LAN addresses
# that only the lab's address map leads to 127.x. Already isolated (CI's own namespace): runs directly.
set -euo pipefail
ifaces=$(awk -F: 'NR > 2 { gsub(/ /, "", $1); print $1 }' /proc/net/dev | grep -vx lo || true)
if [ -z "$ifaces" ]; then exec "$@"; fi
# As root a plain network namespace (no user namespace), so tests can still nest their own unshare -rn.
ns=(unshare -n); [ "$(id -u)" = 0 ] || ns=(unshare -rn)
if "${ns[@]}" true 2>/dev/null; then
  exec "${ns[@]}" bash -c 'ip link set lo up && exec "$@"' _ "$@"
fi
# TPI_NETNS=optional (the demo): without namespaces, run anyway; the lab still answers on 127.x only.
if [ "${TPI_NETNS:-}" = optional ]; then
  echo "note: network namespaces are not available here, so this runs in the host network namespace (the lab answers on 127.x only)" >&2
  exec "$@"
fi
echo "in-netns: network namespaces are not available, so this cannot be isolated from the network; refusing" >&2
exit 1
