#!/bin/bash
# Runs one command "inside" a simulated node: a private mount + UTS namespace where the node's own
# folders hide the host's /etc, /var, /root, /usr/local, /opt, /tmp and /run, while /usr/bin, /bin and
# /lib stay the host's (no real OS in the image). Usage: enter.sh <node-root> <hostname> <command|--hold>
set -e
root=$1 host=$2 cmd=$3
# The stand-in folders may live under a path the node hides (a checkout in /tmp, node in
# /opt/...): bind each one under the node's own /run first, so it stays on PATH once /run is the node's.
lab_path=""
i=0
IFS=: read -r -a dirs <<< "${LAB_NODE_PATH:-}"
# Forks are the cost of every exec here: one mkdir for all folders, bash builtins where they do.
tops=(etc var root usr/local opt run srv home mnt tmp)
want=("${tops[@]/#/$root/}" "$root/run/lab-share" "$root/run/lab-dev" "$root/var/lib/lab/sysmodule")
for dir in "${dirs[@]}"; do [ -d "$dir" ] && want+=("$root/run/lab-path/$((i++))"); done
mkdir -p "${want[@]}"
i=0
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  mount --bind "$dir" "$root/run/lab-path/$i"
  lab_path="$lab_path/run/lab-path/$i:"
  i=$((i + 1))
done
# The lab's shared folder (the k3s store of every simulated node), also under the node's /run.
if [ -n "${LAB_SHARE:-}" ] && [ -d "$LAB_SHARE" ]; then
  mount --bind "$LAB_SHARE" "$root/run/lab-share"
  export TPI_LAB_DIR=/run/lab-share
fi
# Host folders that must stay at their own paths (LAB_HOST_KEEP: the checkout, the node binary): those
# under a folder the node hides are parked under the node's /run now and put back after.
keep=()
IFS=: read -r -a keep_dirs <<< "${LAB_HOST_KEEP:-}"
for dir in "${keep_dirs[@]}"; do
  [ -d "$dir" ] || continue
  for d in "${tops[@]}"; do
    case $dir in "/$d"|"/$d"/*)
      mkdir -p "$root/run/lab-keep/${#keep[@]}"
      mount --bind "$dir" "$root/run/lab-keep/${#keep[@]}"
      keep+=("$dir"); break;;
    esac
  done
done
# /tmp last: node roots and checkouts often live under it, and every source path must resolve first.
for d in "${tops[@]}"; do mount --rbind "$root/$d" "/$d"; done
for j in "${!keep[@]}"; do mkdir -p "${keep[$j]}" && mount --bind "/run/lab-keep/$j" "${keep[$j]}"; done
# A node's own /dev: the usual character devices bound from the host, the NVMe drive as a block device
# (bound from a harmless host loop device: the lab's mkfs/mount/blkid stand-ins never write to it;
# `[ -b ]` only needs a block device there), and the RKNPU render node when the node has the driver.
# The RKNPU driver's debugfs file is the node's /run/lab-debug, shown at /sys/kernel/debug.
dev=/run/lab-dev
mount -t tmpfs -o mode=755 tmpfs "$dev"
nvme=''
facts=''; [ -r /etc/lab-facts ] && facts=$(< /etc/lab-facts)
if [[ $'\n'$facts$'\n' != *$'\nNVME=absent\n'* ]]; then
  for b in /dev/loop* /dev/*; do [ -b "$b" ] && { nvme=$b; break; }; done
fi
[ -e /run/lab-dri/renderD129 ] && dri=1 || dri=''
mkdir -p "$dev/pts" "$dev/shm" ${dri:+"$dev/dri"}
for d in null zero full random urandom tty ${nvme:+nvme0n1} ${dri:+dri/renderD129}; do : > "$dev/$d"; done
for d in null zero full random urandom tty; do mount --bind "/dev/$d" "$dev/$d"; done
mount --rbind /dev/pts "$dev/pts" 2>/dev/null || true
mount --rbind /dev/shm "$dev/shm" 2>/dev/null || true
[ -n "$nvme" ] && mount --bind "$nvme" "$dev/nvme0n1"
[ -n "$dri" ] && mount --bind /dev/null "$dev/dri/renderD129"
ln -s /proc/self/fd "$dev/fd"; ln -s /proc/self/fd/0 "$dev/stdin"; ln -s /proc/self/fd/1 "$dev/stdout"; ln -s /proc/self/fd/2 "$dev/stderr"
mount --rbind "$dev" /dev
[ -d /run/lab-debug ] && mount --bind /run/lab-debug /sys/kernel/debug 2>/dev/null || true
# Loaded kernel modules as the node's modprobe stand-in records them (/sys/module/<name>).
mount --bind /var/lib/lab/sysmodule /sys/module 2>/dev/null || true
hostname "$host" 2>/dev/null || true
export HOME=/root USER=root LOGNAME=root TPI_NODE_ROOT=/
export PATH="$lab_path/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /root
# --hold: the node's namespace is set up once and kept by this process; each SSH exec then enters it
# (ssh-server.ts, nsenter) instead of repeating every mount above. It hands back the PATH and lab folder
# an exec needs and lives until its stdin closes or the node powers off.
if [ "$cmd" = --hold ]; then
  printf 'ready\t%s\t%s\n' "$PATH" "${TPI_LAB_DIR:-}"
  exec /bin/cat >/dev/null
fi
exec /bin/bash -c "$cmd"
