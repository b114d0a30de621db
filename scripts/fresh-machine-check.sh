#!/usr/bin/env bash
# Proves the README's test command on a fresh machine: a minimal Debian 12 root (debootstrap
# --variant=minbase: no clang, bpftool, llvm, go, gcc, make or python), the host's Node 20 copied
# in, a clean clone of this repository's HEAD, then `npm ci && npm test` as root inside it, with
# CI=true so that a missing tool fails instead of skipping. The host's kernel, /sys (bpffs,
# tracefs) and /dev are shared; everything else is the fresh root's own. The run pivots into the
# new root inside a private mount namespace; the mounts vanish with it.
#
#   sudo scripts/fresh-machine-check.sh [ROOT_DIR]     (default /var/tmp/ebpf-fresh-root)
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
root=${1:-/var/tmp/ebpf-fresh-root}

# A pristine minimal root is kept beside it and copied for every run: the run installs packages.
pristine="$root.pristine"
if [ ! -x "$pristine/usr/bin/apt-get" ]; then
  command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
  debootstrap --variant=minbase bookworm "$pristine" http://deb.debian.org/debian
fi
rm -rf "$root"
cp -a "$pristine" "$root"
# Node 20 and npm exactly as the host has them (the machine comes with them; Debian 12's own are older).
mkdir -p "$root/usr/lib/node_modules"
rm -rf "$root/usr/lib/node_modules/npm"
cp -a /usr/lib/node_modules/npm "$root/usr/lib/node_modules/"
cp -a "$(readlink -f "$(command -v node)")" "$root/usr/bin/node"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/bin/npx"
# The host's network setup (resolver, trusted CAs of an egress proxy, npm config): what any fresh
# machine of this kind is given, not something the project installs.
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/etc/ssl/certs" && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
[ -f /root/.npmrc ] && cp /root/.npmrc "$root/root/.npmrc"
rm -rf "$root/root/ebpf"
git clone -q "$repo" "$root/root/ebpf"

unshare -m --propagation private bash -euo pipefail -c '
  root=$1
  # The new root must be a mount point of its own, as / is on a machine: ip netns exec remounts it.
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount --rbind /sys "$root/sys"
  mount --rbind /dev "$root/dev"
  mkdir -p "$root/run/netns" "$root/.old-root"
  # pivot_root, not chroot: a chrooted process may not create user namespaces (the BPF token
  # test does), and the old root is detached so nothing of the host stays reachable.
  cd "$root"
  pivot_root . .old-root
  umount -l /.old-root
  exec /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin CI=true \
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    /bin/bash -c "cd /root/ebpf && for t in clang bpftool llvm-objdump go gcc make; do command -v \$t && exit 1; done; npm ci --no-audit --no-fund && npm test"
' _ "$root"
