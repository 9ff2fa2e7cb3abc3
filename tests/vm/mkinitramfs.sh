#!/bin/sh
# Build the busybox initramfs that boots a vfmig test VM for one kernel.
# It holds busybox, our init, and exactly the modules needed to mount the
# host over virtio-9p (resolved with modprobe, decompressed if .ko.xz).
# Everything else (vfio, mdev, vfmig, tests) comes from the host over 9p.
# usage: mkinitramfs.sh [-d MODBASE] KRELEASE OUTPUT.cpio.gz
#   -d MODBASE  modules under MODBASE/lib/modules/KRELEASE (modprobe -d), as
#               for the debug kernel (scripts/debug-kernel.sh); default /
set -eu
base=/
if [ "${1:-}" = -d ]; then
	base=$2
	shift 2
fi
krel=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)

command -v busybox >/dev/null || [ -x /bin/busybox ] || {
	echo "mkinitramfs: busybox-static is not installed (make deps)" >&2; exit 1; }
[ -d "$base/lib/modules/$krel" ] || {
	echo "mkinitramfs: no $base/lib/modules/$krel (install linux-image-$krel)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/host" "$tmp/modules"
cp /bin/busybox "$tmp/bin/busybox"
cp "$here/init" "$tmp/init"
chmod 755 "$tmp/init"

# Load order as modprobe resolves it; built-in ones print "builtin ...".
: > "$tmp/modules/order"
for mod in virtio_pci 9pnet_virtio 9p; do
	modprobe -d "$base" -S "$krel" --show-depends "$mod"
done |
while read -r kind path _; do
	[ "$kind" = insmod ] || continue
	name=$(basename "$path")
	name=${name%.xz}
	grep -qx "$name" "$tmp/modules/order" && continue
	case $path in
	*.xz) xz -dc "$path" > "$tmp/modules/$name" ;;
	*) cp "$path" "$tmp/modules/$name" ;;
	esac
	echo "$name" >> "$tmp/modules/order"
done

mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
