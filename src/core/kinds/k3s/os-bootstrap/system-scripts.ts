// The os-bootstrap scripts for K3s nodes: hostname, static address, packages, kernel modules and sysctl,
// swap and time sync. Each is idempotent: it looks first, changes only what differs, and reports what
// it changed on its last line (see src/core/remote/script.ts).
import { script } from '../../../remote/script.js'

/** Packages K3s and Longhorn need on the node (open-iscsi for Longhorn volumes, nfs-common for RWX). */
export const BOOTSTRAP_PACKAGES = ['open-iscsi', 'nfs-common', 'curl', 'util-linux', 'ca-certificates'] as const
export const KERNEL_MODULES = ['overlay', 'br_netfilter', 'iscsi_tcp'] as const
export const SYSCTLS: Record<string, string> = {
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
  'net.ipv4.ip_forward': '1',
  'net.ipv6.conf.all.forwarding': '1',
  'fs.inotify.max_user_instances': '8192',
  'fs.inotify.max_user_watches': '524288'
}

export function hostnameScript(hostname: string): string {
  return script(
    { WANT_HOSTNAME: hostname },
    `
current=$(cat /etc/hostname 2>/dev/null || true)
if [ "$current" != "$WANT_HOSTNAME" ]; then
  printf '%s\\n' "$WANT_HOSTNAME" > /etc/hostname
  hostname "$WANT_HOSTNAME" 2>/dev/null || true
  changed "hostname=$WANT_HOSTNAME"
fi
# k3s and sudo resolve the node's own name; Debian maps it on 127.0.1.1.
if ! grep -Eq "^127\\.0\\.1\\.1[[:space:]]+$WANT_HOSTNAME\\$" /etc/hosts 2>/dev/null; then
  { grep -v '^127\\.0\\.1\\.1[[:space:]]' /etc/hosts 2>/dev/null || true; printf '127.0.1.1\\t%s\\n' "$WANT_HOSTNAME"; } > /etc/hosts.tpi
  mv -f /etc/hosts.tpi /etc/hosts
  changed "hosts"
fi
result`
  )
}

/** The netplan file os-bootstrap writes for a node's static address. */
export const NETPLAN_FILE = '/etc/netplan/10-tpi-static.yaml'

export interface StaticAddress {
  ip: string
  prefix: number
  gateway: string
  dns: string[]
}

/** Its content, as the static address step writes it. */
export function netplanYaml(input: StaticAddress): string {
  return [
    '# Managed by turingpi-cluster-action.',
    'network:',
    '  version: 2',
    '  ethernets:',
    '    tpi-lan:',
    '      match:',
    '        name: "e*"',
    '      dhcp4: false',
    `      addresses: [${input.ip}/${input.prefix}]`,
    '      routes:',
    `        - to: default`,
    `          via: ${input.gateway}`,
    '      nameservers:',
    `        addresses: [${(input.dns.length ? input.dns : [input.gateway]).join(', ')}]`,
    ''
  ].join('\n')
}

/**
 * A static address through netplan (Armbian's network config since 24.x). The node is already reachable
 * on this address (we connected to it), so the file only makes it permanent: it takes effect at the
 * next boot and is not applied now, which would drop the SSH session on a DHCP lease change.
 */
export function staticAddressScript(input: StaticAddress): string {
  const yaml = netplanYaml(input)
  return script(
    { NETPLAN_FILE, NETPLAN_YAML: yaml, WANT_IP: input.ip },
    `
if [ ! -d /etc/netplan ]; then
  echo "no /etc/netplan on this image: leaving the address as configured at image time" >&2
  result
  exit 0
fi
if grep -rqs -- "$WANT_IP/" /etc/netplan --exclude="$(basename "$NETPLAN_FILE")"; then
  result
  exit 0
fi
if [ "$(cat "$NETPLAN_FILE" 2>/dev/null || true)" != "$NETPLAN_YAML" ]; then
  umask 077
  printf '%s' "$NETPLAN_YAML" > "$NETPLAN_FILE"
  changed "netplan=$NETPLAN_FILE(next boot)"
fi
result`
  )
}

/**
 * Missing packages through apt-get. With a mirror, the node's apt sources are rewritten into a temporary
 * list (`http://deb.debian.org/debian` -> `<mirror>/deb.debian.org/debian`) for this run only; the
 * node's own sources stay untouched.
 */
export function packagesScript(mirror?: string): string {
  return script(
    { PACKAGES: BOOTSTRAP_PACKAGES.join(' '), APT_MIRROR: mirror?.replace(/\/+$/, '') ?? '' },
    `
missing=()
wanted=$PACKAGES
# Debian ships systemd-timesyncd as its own package; it conflicts with chrony, so only without chrony.
if [ "$(dpkg-query -W -f='\${Status}' chrony 2>/dev/null || true)" != "install ok installed" ]; then wanted="$wanted systemd-timesyncd"; fi
for pkg in $wanted; do
  if [ "$(dpkg-query -W -f='\${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then missing+=("$pkg"); fi
done
if [ "\${#missing[@]}" -gt 0 ]; then
  apt_opts=()
  if [ -n "$APT_MIRROR" ]; then
    lists=$(mktemp -d)
    trap 'rm -rf "$lists"' EXIT
    mkdir -p "$lists/parts"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      case "$f" in /etc/apt/sources.list) out="$lists/sources.list" ;; *) out="$lists/parts/$(basename "$f")" ;; esac
      # The mirror is data (read from the environment), never part of a program: sed would take a
      # '#' in it as the end of its s### command and run the rest.
      APT_MIRROR="$APT_MIRROR" awk '
        { rest = $0; out = ""
          while (match(rest, "https?://[^/[:space:]]+")) {
            host = substr(rest, RSTART, RLENGTH); sub("^https?://", "", host)
            out = out substr(rest, 1, RSTART - 1) ENVIRON["APT_MIRROR"] "/" host
            rest = substr(rest, RSTART + RLENGTH)
          }
          print out rest }' "$f" > "$out"
    done
    touch "$lists/sources.list"
    apt_opts=(-o "Dir::Etc::sourcelist=$lists/sources.list" -o "Dir::Etc::sourceparts=$lists/parts")
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get "\${apt_opts[@]}" -q update
  apt-get "\${apt_opts[@]}" -q -y --no-install-recommends install "\${missing[@]}"
  changed "installed=$(IFS=,; echo "\${missing[*]}")"
fi
if command -v systemctl >/dev/null && ! systemctl is-enabled --quiet iscsid 2>/dev/null; then
  systemctl enable --now iscsid
  changed "iscsid=enabled"
fi
result`
  )
}

/** The kernel step's files and their wanted content (its script parameters). */
export function kernelParams(): { MODULES: string; MODULES_FILE: string; SYSCTL: string; SYSCTL_FILE: string } {
  return {
    MODULES: KERNEL_MODULES.join('\n') + '\n',
    MODULES_FILE: '/etc/modules-load.d/tpi-k3s.conf',
    SYSCTL:
      Object.entries(SYSCTLS)
        .map(([k, v]) => `${k} = ${v}`)
        .join('\n') + '\n',
    SYSCTL_FILE: '/etc/sysctl.d/90-tpi-k3s.conf'
  }
}

export function kernelScript(): string {
  return script(
    kernelParams(),
    `
if [ "$(cat "$MODULES_FILE" 2>/dev/null || true)" != "\${MODULES%$'\\n'}" ]; then
  mkdir -p "$(dirname "$MODULES_FILE")"
  printf '%s' "$MODULES" > "$MODULES_FILE"
  changed "modules-load"
fi
while read -r mod; do
  [ -n "$mod" ] || continue
  if [ ! -d "/sys/module/$mod" ]; then
    modprobe "$mod"
    changed "modprobe=$mod"
  fi
done <<< "$MODULES"
if [ "$(cat "$SYSCTL_FILE" 2>/dev/null || true)" != "\${SYSCTL%$'\\n'}" ]; then
  mkdir -p "$(dirname "$SYSCTL_FILE")"
  printf '%s' "$SYSCTL" > "$SYSCTL_FILE"
  sysctl -q -p "$SYSCTL_FILE"
  changed "sysctl"
fi
result`
  )
}

export function swapScript(): string {
  return script(
    {},
    `
if [ -n "$(swapon --show --noheadings 2>/dev/null || true)" ]; then
  swapoff -a
  changed "swapoff"
fi
if grep -Eq '^[^#][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]]' /etc/fstab 2>/dev/null; then
  sed -i -E 's/^([^#][^[:space:]]*[[:space:]]+[^[:space:]]+[[:space:]]+swap[[:space:]].*)$/# disabled for k3s: \\1/' /etc/fstab
  changed "fstab-swap"
fi
# Armbian swaps to zram through its own service; switch it off for good.
zram=/etc/default/armbian-zram-config
if [ -f "$zram" ] && ! grep -q '^SWAP=false' "$zram"; then
  if grep -q '^#\\?SWAP=' "$zram"; then sed -i -E 's/^#?SWAP=.*/SWAP=false/' "$zram"; else echo 'SWAP=false' >> "$zram"; fi
  changed "zram-swap"
fi
result`
  )
}

export function timeSyncScript(): string {
  return script(
    {},
    `
if systemctl is-active --quiet chrony 2>/dev/null || systemctl is-active --quiet chronyd 2>/dev/null; then
  result
  exit 0
fi
if ! systemctl is-active --quiet systemd-timesyncd 2>/dev/null; then
  systemctl enable --now systemd-timesyncd
  changed "timesyncd"
fi
result`
  )
}
