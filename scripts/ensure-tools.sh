#!/usr/bin/env bash
# Makes sure the Debian tools the lab and the tests call are on this machine, before `npm test`,
# `npm run demo`, `npm run bench` or `.ci/run` start anything: without them a test or the demo would
# fail half-way with `spawn sfdisk ENOENT`. As root it installs what is missing with apt-get and says
# why; as anyone else it prints the one line to run and exits 1 at once (it never asks for a password).
#
# Usage: bash scripts/ensure-tools.sh            (check, install as root)
#        TPI_ENSURE_TOOLS=off bash …              (skip: a machine set up another way)
set -euo pipefail

[ "${TPI_ENSURE_TOOLS:-}" = off ] && exit 0

# command → Debian package, and what needs it (said when installing, so nothing happens unexplained).
tools=(
  "age:age:the age CLI decrypts the credential artifacts, as a user would"
  "sshd:openssh-server:the simulated nodes run OpenSSH's sshd"
  "ssh-keygen:openssh-client:test keys are generated at test time"
  "debugfs:e2fsprogs:lab images are read and written without mounting"
  "mke2fs:e2fsprogs:the lab builds Armbian-like root filesystems"
  "sfdisk:fdisk:the lab partitions its disk images"
  "losetup:mount:the lab inspects flashed disks"
  "wipefs:util-linux:the lab blanks disks"
  "blkid:util-linux:the lab reads the filesystems of flashed disks"
  "unshare:util-linux:tests and the demo run in a private network namespace"
  "ip:iproute2:loopback is brought up inside that namespace"
  "xz:xz-utils:images are xz-compressed, as Armbian ships them"
  "curl:curl:the flash bench compares with curl"
  "openssl:openssl:the lab BMC's self-signed certificate"
  "unzip:unzip:artifacts are zip files"
  "tar:tar:air-gap and release archives"
  "pgrep:procps:the lab checks that killed node processes are gone"
  "shellcheck:shellcheck:every script sent to a node is linted in the tests"
  "etcd:etcd-server:the lab's control planes keep their datastore in a real etcd"
  "etcdctl:etcd-client:snapshots and member lists of the lab's etcd"
)

# sbin directories are not on a normal user's PATH, but the tools there still run. (Tests set
# ENSURE_TOOLS_SBIN to hide them.)
search_path="$PATH:${ENSURE_TOOLS_SBIN-/usr/sbin:/sbin}"
missing_cmds=()
missing_pkgs=()
reasons=()
for entry in "${tools[@]}"; do
  IFS=: read -r cmd pkg why <<<"$entry"
  if PATH="$search_path" command -v "$cmd" >/dev/null 2>&1; then continue; fi
  missing_cmds+=("$cmd")
  reasons+=("  $cmd ($pkg): $why")
  case " ${missing_pkgs[*]-} " in *" $pkg "*) ;; *) missing_pkgs+=("$pkg") ;; esac
done

if [ ${#missing_cmds[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "ensure-tools: missing ${missing_cmds[*]}; the lab and the tests need:" >&2
    printf '%s\n' "${reasons[@]}" >&2
    echo "Run this once, then try again:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing_pkgs[*]}" >&2
    exit 1
  fi
  echo "ensure-tools: installing ${missing_pkgs[*]} with apt-get, because:" >&2
  printf '%s\n' "${reasons[@]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 || { echo "ensure-tools: apt-get update failed" >&2; exit 1; }
  apt-get install -y -qq "${missing_pkgs[@]}" >/dev/null || {
    echo "ensure-tools: apt-get install ${missing_pkgs[*]} failed" >&2
    exit 1
  }
fi

# sshd refuses to start without its privilege separation directory (created at boot by systemd, which
# containers and CI machines do not run).
if [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd; fi
exit 0
