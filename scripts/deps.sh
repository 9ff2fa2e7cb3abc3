#!/bin/sh
# Install what vfmig needs to build and test on a Debian 12 (bookworm) machine.
# Idempotent: packages already present are skipped, so a second run is quick.
# Must run as root (apt-get).
set -eu

# Newest Linux 6.12 flavour from bookworm-security, resolved at install time.
newest_612() {
	apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' |
		awk '{print $1}' | sed 's/^linux-image-//' | sort -V | tail -n 1
}

# clang + libclang-rt-14-dev: libFuzzer and the ASan/UBSan runtimes for the host
# fuzz targets (tests/fuzz); llvm: llvm-symbolizer for readable sanitizer reports;
# libxxhash-dev, zlib1g-dev: xxh64 and crc32 for the host build of the
# device's payload parser; libzstd-dev, liblz4-dev: stream compression;
# gnuplot-nox: the plots of `make bench`.
pkgs="gcc make libc6-dev pkg-config cpio xz-utils kmod libkmod-dev libcmocka-dev
sparse valgrind busybox-static qemu-system-x86 mdevctl iproute2 socat
linux-image-amd64 linux-headers-amd64 linux-source-6.12 scdoc bash-completion
libzstd-dev liblz4-dev gnuplot-nox
clang libclang-rt-14-dev llvm libxxhash-dev zlib1g-dev"
# The debug kernel (scripts/debug-kernel.sh) also needs what building a
# kernel needs (the source is linux-source-6.12 above).
pkgs="$pkgs bc bison flex libelf-dev libssl-dev"

missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done

# The 6.12 kernel: any installed 6.12 image+headers pair is enough.
have612=$(ls -d /usr/src/linux-headers-6.12.*+deb12-amd64 2>/dev/null | head -n 1)
if [ -z "$have612" ] || ! ls /boot/vmlinuz-6.12.*+deb12-amd64 >/dev/null 2>&1; then
	need612=yes
else
	need612=no
fi

here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$missing" ] && [ "$need612" = no ]; then
	echo "deps: everything is installed"
	# QEMU 10 beside the system's 7.2, in a private root (quick when there).
	sh "$here/qemu10.sh"
	exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
if [ "$need612" = yes ]; then
	rel=$(newest_612)
	[ -n "$rel" ] || { echo "deps: no linux-image-6.12.*+deb12-amd64 found" >&2; exit 1; }
	missing="$missing linux-image-$rel linux-headers-$rel"
fi
echo "deps: installing$missing"
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
sh "$here/qemu10.sh"
