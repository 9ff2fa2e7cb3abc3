#!/bin/sh
# Print the kernel releases vfmig is tested on: the newest installed Debian
# 6.1 and 6.12 kernels that have both an image in /boot and their headers.
# With an argument (6.1 or 6.12) print only that series.
set -eu

newest() {
	for img in /boot/vmlinuz-"$1".*; do
		[ -e "$img" ] || continue
		rel=${img#/boot/vmlinuz-}
		[ -e "/usr/src/linux-headers-$rel/Makefile" ] && echo "$rel"
	done | grep -E "$2" | sort -V | tail -n 1
}

series=${1:-all}
case $series in
6.1) newest 6.1 '^6\.1\.[0-9]+-[0-9]+-amd64$' ;;
6.12) newest 6.12 '^6\.12\.[0-9]+\+deb12-amd64$' ;;
all)
	newest 6.1 '^6\.1\.[0-9]+-[0-9]+-amd64$'
	newest 6.12 '^6\.12\.[0-9]+\+deb12-amd64$'
	;;
*) echo "usage: $0 [6.1|6.12]" >&2; exit 2 ;;
esac
