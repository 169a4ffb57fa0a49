// The read-only half of the os-bootstrap steps: for each step, whether its script would change anything
// on the node, by the very tests the step's script makes before it acts (system-scripts.ts, nvme-script.ts).
// It runs inside the node's one observation; a step reported here is run, as before, by its own script.
import type { NodeSpec } from '../../../config/model.js'
import { gatewayOf } from '../../../config/net.js'
import { script } from '../../../remote/script.js'
import type { K3sCluster } from '../config.js'
import { NVME_LABEL } from './nvme-script.js'
import { BOOTSTRAP_PACKAGES, kernelParams, NETPLAN_FILE, netplanYaml } from './system-scripts.js'

/** One `pending=<step name>` line per step (names as bootstrapSteps gives them) that would change the node. */
export function bootstrapCheckScript(cluster: K3sCluster, node: NodeSpec): string {
  const yaml = netplanYaml({
    ip: node.ip,
    prefix: cluster.network.prefix,
    gateway: gatewayOf(cluster.network, node.ip),
    dns: cluster.network.dns
  })
  return script(
    {
      WANT_HOSTNAME: node.hostname,
      NETPLAN_FILE,
      NETPLAN_YAML: yaml,
      WANT_IP: node.ip,
      PACKAGES: BOOTSTRAP_PACKAGES.join(' '),
      ...kernelParams(),
      NVME: node.has_nvme ? '1' : '0',
      DEVICE: node.nvme_device ?? '',
      MOUNT_POINT: node.nvme_mount ?? '',
      LABEL: NVME_LABEL
    },
    `
pending() { echo "pending=$1"; }
# dpkg-query once per package: the packages step's test, remembered for the lines below.
declare -A status
for pkg in $PACKAGES chrony systemd-timesyncd; do
  status[$pkg]=$(dpkg-query -W -f='\${Status}' "$pkg" 2>/dev/null || true)
done
installed() { [ "\${status[$1]}" = "install ok installed" ]; }
for pkg in $PACKAGES; do if installed "$pkg"; then echo "installed=$pkg"; fi; done

if [ "$(cat /etc/hostname 2>/dev/null || true)" != "$WANT_HOSTNAME" ] ||
  ! grep -Eq "^127\\.0\\.1\\.1[[:space:]]+$WANT_HOSTNAME\\$" /etc/hosts 2>/dev/null; then pending hostname; fi

if [ -d /etc/netplan ] && ! grep -rqs -- "$WANT_IP/" /etc/netplan --exclude="$(basename "$NETPLAN_FILE")" &&
  [ "$(cat "$NETPLAN_FILE" 2>/dev/null || true)" != "$NETPLAN_YAML" ]; then pending 'static address'; fi

wanted=$PACKAGES
if ! installed chrony; then wanted="$wanted systemd-timesyncd"; fi
packages=ok
for pkg in $wanted; do installed "$pkg" || packages=missing; done
if command -v systemctl >/dev/null && ! systemctl is-enabled --quiet iscsid 2>/dev/null; then packages=missing; fi
if [ "$packages" != ok ]; then pending packages; fi

kernel=ok
if [ "$(cat "$MODULES_FILE" 2>/dev/null || true)" != "\${MODULES%$'\\n'}" ]; then kernel=differs; fi
while read -r mod; do
  [ -n "$mod" ] || continue
  if [ ! -d "/sys/module/$mod" ]; then kernel=differs; fi
done <<< "$MODULES"
if [ "$(cat "$SYSCTL_FILE" 2>/dev/null || true)" != "\${SYSCTL%$'\\n'}" ]; then kernel=differs; fi
if [ "$kernel" != ok ]; then pending 'kernel modules and sysctl'; fi

zram=/etc/default/armbian-zram-config
if [ -n "$(swapon --show --noheadings 2>/dev/null || true)" ] ||
  grep -Eq '^[^#][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]' /etc/fstab 2>/dev/null ||
  { [ -f "$zram" ] && ! grep -q '^SWAP=false' "$zram"; }; then pending swap; fi

# One systemctl for the three units (a line each); chrony or chronyd active: nothing to do.
mapfile -t active < <(systemctl is-active chrony chronyd systemd-timesyncd 2>/dev/null || true)
if [ "\${active[0]:-}" != active ] && [ "\${active[1]:-}" != active ] && [ "\${active[2]:-}" != active ]; then
  pending 'time sync'
fi

if [ "$NVME" = 1 ]; then
  nvme=ok
  if [ ! -b "$DEVICE" ]; then nvme=differs
  else
    fstype=$(blkid -p -s TYPE -o value "$DEVICE" 2>/dev/null || true)
    label=$(blkid -p -s LABEL -o value "$DEVICE" 2>/dev/null || true)
    if [ "$fstype" != ext4 ] || [ "$label" != "$LABEL" ]; then nvme=differs
    else
      uuid=$(blkid -p -s UUID -o value "$DEVICE" 2>/dev/null || true)
      grep -qxF "UUID=$uuid $MOUNT_POINT ext4 defaults,nofail 0 2" /etc/fstab 2>/dev/null || nvme=differs
      mountpoint -q "$MOUNT_POINT" || nvme=differs
    fi
  fi
  if [ "$nvme" != ok ]; then pending nvme; fi
fi`
  )
}

/** The packages of BOOTSTRAP_PACKAGES the check found installed. */
export function installedPackages(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('installed='))
    .map((l) => l.slice('installed='.length))
}

/** The step names the check reported as pending. */
export function pendingSteps(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('pending='))
    .map((l) => l.slice('pending='.length))
}
