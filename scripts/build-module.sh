#!/bin/sh
# Build vfmig.ko for one kernel release in build/<krelease>/, a tree of links
# to the sources, so that builds for different kernels never share objects.
# usage: build-module.sh KRELEASE KDIR [extra kbuild args, e.g. W=1 C=1]
set -eu
krel=$1
kdir=$2
shift 2
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/$krel

[ -f "$kdir/Makefile" ] || { echo "build-module: no kernel build tree at $kdir" >&2; exit 1; }
mkdir -p "$out/kernel"
ln -sfn "$top/Kbuild" "$out/Kbuild"
ln -sfn "$top/include" "$out/include"
# Drop links to sources that no longer exist, then link the current ones.
find "$out/kernel" -maxdepth 1 -type l ! -exec test -e {} \; -delete
for f in "$top"/kernel/*.c "$top"/kernel/*.h; do
	ln -sfn "$f" "$out/kernel/$(basename "$f")"
done
exec make -C "$kdir" M="$out" "$@" modules
