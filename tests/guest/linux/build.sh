#!/bin/sh
# Builds deja's small RV64 Linux kernel reproducibly from Debian's
# linux-source-6.1, with gcc-riscv64-linux-gnu and deja.config merged onto
# tinyconfig. Output: Image.gz (gzip -n -9 of arch/riscv/boot/Image) beside
# this script, and SHA256SUMS with the hashes of Image and Image.gz.
#
#   tests/guest/linux/build.sh           build, write Image.gz and SHA256SUMS
#   tests/guest/linux/build.sh --check   build from a fresh extraction and
#                                        compare with the committed SHA256SUMS
#
# The build directory is fixed (/tmp/deja-linux-6.1), as are the timestamp,
# user, host and version the kernel records, so the same Debian packages give
# the same bytes. Takes ~15-25 minutes on 2 cores.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
work=/tmp/deja-linux-6.1
src=$work/linux-source-6.1
jobs=${JOBS:-2}
check=no
case "${1:-}" in
  --check) check=yes ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

if [ ! -f "$tarball" ]; then
  echo "error: $tarball is missing; install it with: apt-get install linux-source-6.1" >&2
  exit 1
fi
if ! command -v riscv64-linux-gnu-gcc >/dev/null; then
  echo "error: riscv64-linux-gnu-gcc is missing; install it with: apt-get install gcc-riscv64-linux-gnu" >&2
  exit 1
fi

export ARCH=riscv
export CROSS_COMPILE=riscv64-linux-gnu-
export KBUILD_BUILD_TIMESTAMP='Fri Dec  4 00:00:00 UTC 2026'
export KBUILD_BUILD_USER=deja
export KBUILD_BUILD_HOST=deja
export KBUILD_BUILD_VERSION=1
export LC_ALL=C
export TZ=UTC
unset KCONFIG_CONFIG KBUILD_OUTPUT O 2>/dev/null || true

# A fresh extraction every time: a stale tree cannot leak into the result.
rm -rf "$work"
mkdir -p "$work"
echo "extracting $tarball into $work"
tar -C "$work" -xf "$tarball"

cd "$src"
# tinyconfig = allnoconfig with kernel/configs/tiny-base.config and
# tiny.config; merge_config.sh -n runs allnoconfig with those and ours.
scripts/kconfig/merge_config.sh -n kernel/configs/tiny-base.config \
  kernel/configs/tiny.config "$here/deja.config" >"$work/merge.log"
# Every line of deja.config must hold in the final .config.
missing=$(grep -E '^(CONFIG_|# CONFIG_)' "$here/deja.config" | while IFS= read -r line; do
  case "$line" in
    "# CONFIG_"*) sym=${line#\# }; sym=${sym%% *}
      grep -q "^$sym=" .config && echo "$line" ;;
    *) grep -qx "$line" .config || echo "$line" ;;
  esac
done)
if [ -n "$missing" ]; then
  echo "error: these deja.config lines did not survive the merge (a dependency is off):" >&2
  echo "$missing" >&2
  exit 1
fi

nice -n 5 make -j"$jobs" Image >"$work/build.log" 2>&1 || {
  tail -n 40 "$work/build.log" >&2
  echo "error: the kernel build failed; full log in $work/build.log" >&2
  exit 1
}
gzip -n -9 <arch/riscv/boot/Image >"$work/Image.gz"
(cd arch/riscv/boot && sha256sum Image) >"$work/SHA256SUMS"
(cd "$work" && sha256sum Image.gz) >>"$work/SHA256SUMS"

if [ "$check" = yes ]; then
  if cmp -s "$work/SHA256SUMS" "$here/SHA256SUMS" &&
    (cd "$here" && grep ' Image.gz$' SHA256SUMS | sha256sum -c --quiet); then
    echo "check: OK, the rebuilt kernel is identical to the committed one"
    cat "$work/SHA256SUMS"
  else
    echo "check: FAILED, the rebuilt kernel differs from the committed one" >&2
    echo "rebuilt:" >&2; cat "$work/SHA256SUMS" >&2
    echo "committed:" >&2; cat "$here/SHA256SUMS" >&2
    exit 1
  fi
else
  cp "$work/Image.gz" "$work/SHA256SUMS" "$here/"
  echo "wrote $here/Image.gz and $here/SHA256SUMS"
  cat "$here/SHA256SUMS"
fi
