#!/bin/sh
# Builds the root file system deja's Linux tests boot: an ext2 image whose
# /sbin/init is init.c (a static shell; see its header for the commands).
# Reproducible: the same inputs give the same image bytes (fixed UUID, hash
# seed, inode times and mke2fs clock).
#
#   tests/guest/linux/rootfs.sh OUT.img [SIZE_MIB]    (default 16 MiB)
#
# Needs riscv64-linux-gnu-gcc and libc6-dev-riscv64-cross (static glibc) and
# e2fsprogs (mke2fs, debugfs).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: rootfs.sh OUT.img [SIZE_MIB]}
size=${2:-16}
for tool in riscv64-linux-gnu-gcc:gcc-riscv64-linux-gnu mke2fs:e2fsprogs debugfs:e2fsprogs; do
  if ! command -v "${tool%%:*}" >/dev/null; then
    echo "error: ${tool%%:*} is missing; install it with: apt-get install ${tool#*:}" >&2
    exit 1
  fi
done

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/root/sbin" "$stage/root/dev" "$stage/root/proc" "$stage/root/sys" \
  "$stage/root/etc" "$stage/root/tmp"
riscv64-linux-gnu-gcc -static -Os -s -Wall -Wextra -Werror -o "$stage/root/sbin/init" "$here/init.c"
echo "deja test root" >"$stage/root/etc/issue"

# Every inode gets this time; mke2fs copies the host's times, so debugfs
# sets them (ctime cannot be set on the host) after the image is made.
stamp=20261204000000
export E2FSPROGS_FAKE_TIME=1796342400 # 2026-12-04 00:00:00 UTC
export LC_ALL=C TZ=UTC
uuid=6465a1a0-0000-4000-8000-000000000001
rm -f "$out"
mke2fs -q -F -t ext2 -b 1024 -I 256 -L deja-root -U "$uuid" \
  -E "hash_seed=$uuid,root_owner=0:0" -d "$stage/root" "$out" "${size}M" >/dev/null
cmds=$stage/times.debugfs
(cd "$stage/root" && find . | sed 's|^\.||; s|^$|/|') | while IFS= read -r path; do
  for field in atime mtime ctime; do
    echo "set_inode_field \"$path\" $field $stamp"
  done
done >"$cmds"
debugfs -w -f "$cmds" "$out" >/dev/null 2>&1
