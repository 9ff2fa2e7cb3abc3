#!/bin/sh
# Build the kernel's own mtty sample (samples/vfio-mdev/mtty.c from Debian's
# linux-source-6.12) for one 6.12 kernel: a reference VFIO migration v2 device
# (STOP_COPY, P2P, PRE_COPY) that the qemu10 VM suite migrates as a control.
# usage: build-mtty.sh KRELEASE KDIR   -> prints build/mtty/KRELEASE/mtty.ko
set -eu
krel=$1
kdir=$2
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/build/mtty/$krel
tarball=/usr/src/linux-source-6.12.tar.xz

[ -f "$kdir/Makefile" ] || { echo "build-mtty: no kernel build tree at $kdir" >&2; exit 1; }
[ -r "$tarball" ] || { echo "build-mtty: no $tarball (make deps)" >&2; exit 1; }
mkdir -p "$out"
if [ ! -s "$out/mtty.c" ]; then
	tar -xJf "$tarball" -O --wildcards '*/samples/vfio-mdev/mtty.c' > "$out/mtty.c.new"
	mv "$out/mtty.c.new" "$out/mtty.c"
fi
echo 'obj-m := mtty.o' > "$out/Kbuild"
make -s -C "$kdir" M="$out" modules >&2
echo "$out/mtty.ko"
