#!/bin/bash
# Runs one command "inside" a simulated node: a private mount + UTS namespace where the node's own
# folders hide the host's /etc, /var, /root, /usr/local, /opt, /tmp and /run, while /usr/bin, /bin and
# /lib stay the host's (no real OS in the image). Usage: enter.sh <node-root> <hostname> <command>
set -e
root=$1 host=$2 cmd=$3
# The stand-in folders may live under a path the node hides (a checkout in /tmp, node in
# /opt/...): bind each one under the node's own /run first, so it stays on PATH once /run is the node's.
lab_path=""
i=0
IFS=: read -r -a dirs <<< "${LAB_NODE_PATH:-}"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  mkdir -p "$root/run/lab-path/$i"
  mount --bind "$dir" "$root/run/lab-path/$i"
  lab_path="$lab_path/run/lab-path/$i:"
  i=$((i + 1))
done
# /tmp last: node roots and checkouts often live under it, and every source path must resolve first.
for d in etc var root usr/local opt run srv home mnt tmp; do
  mkdir -p "$root/$d"
  mount --rbind "$root/$d" "/$d"
done
hostname "$host" 2>/dev/null || true
export HOME=/root USER=root LOGNAME=root TPI_NODE_ROOT=/
export PATH="$lab_path/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /root
exec /bin/bash -c "$cmd"
