#!/bin/bash
# Runs one command "inside" a simulated node: a private mount + UTS namespace where the node's own
# folders hide the host's /etc, /var, /root, /usr/local, /opt, /tmp and /run, while /usr/bin, /bin and
# /lib stay the host's (no real OS in the image). Usage: enter.sh <node-root> <hostname> <command>
set -e
root=$1 host=$2 cmd=$3
for d in etc var root usr/local opt tmp run srv home mnt; do
  mkdir -p "$root/$d"
  mount --bind "$root/$d" "/$d"
done
hostname "$host" 2>/dev/null || true
export HOME=/root USER=root LOGNAME=root TPI_NODE_ROOT=/
export PATH="$LAB_NODE_PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
cd /root
exec /bin/bash -c "$cmd"
