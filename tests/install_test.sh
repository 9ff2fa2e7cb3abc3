#!/bin/sh
# Host test of `make install` / `make uninstall` into a DESTDIR: the layout
# README and Documentation/README.md promise (module, CLI, libvfmig as
# .so.0 and .a with its headers and libvfmig.pc, man pages, completion),
# the library's exports, a program built with pkg-config alone against the
# installed tree, then nothing left behind.  TAP; run by tests/run-checks.sh.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest" "$dest.log"' EXIT
krel=$(make -s -C "$top" --no-print-directory print-krel 2>/dev/null)
version=$(sed -n 's/^VERSION := //p' "$top/user/Makefile")
lib=$dest/usr/lib
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n install.$1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n install.$1"; }
t() { name=$1; shift; if "$@"; then ok "$name"; else notok "$name"; fi; }
# The installed libvfmig.pc (and the system's .pc path, as a user has it).
syspc=$(pkg-config --variable pc_path pkg-config)
pc() { PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$lib/pkgconfig:$syspc pkg-config "$@"; }

# What the header declares exported, and what the shared object exports.
exports_match() {
	grep -o 'VFMIG_EXPORT [^(]*(' "$top/include/vfmig/libvfmig.h" |
		grep -o 'vfmig_[a-z0-9_]*($' | tr -d '(' | sort > "$dest/declared"
	nm -D --defined-only "$lib/libvfmig.so.0" | awk '{ print $3 }' | sort > "$dest/exported"
	diff "$dest/declared" "$dest/exported" | sed 's/^/# /'
	[ -s "$dest/declared" ] && cmp -s "$dest/declared" "$dest/exported"
}

# The codecs and libkmod are opened when first needed, never linked: each
# linked library costs every process start (lazy.h); the CLI links
# libvfmig.a, not the shared object, for the same reason.
links_no_optional_lib() {
	readelf -d "$lib/libvfmig.so.$version" "$dest/usr/bin/vfmig" |
		sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sed 's/^/# needs /' | tee "$dest/needed"
	grep -q libc "$dest/needed" && ! grep -qE 'libzstd|liblz4|libkmod|libvfmig' "$dest/needed"
}

soname_is() {
	readelf -d "$lib/libvfmig.so.$version" | grep -q "SONAME.*\[$1\]"
}

# A program of a user's own: only pkg-config says where libvfmig is.
example_builds() {
	cc -std=c11 -Wall -Wextra -Werror -o "$dest/migrate_pair" \
		"$top/examples/migrate_pair.c" $(pc --cflags --libs libvfmig) 2>&1 | sed 's/^/# /'
	LD_LIBRARY_PATH=$lib ldd "$dest/migrate_pair" | grep -q "libvfmig.so.0 => $lib/libvfmig.so.0"
}

echo "TAP version 13"
echo "1..15"
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr > "$dest.log" 2>&1
rc=$?
[ "$rc" = 0 ] || sed 's/^/# /' "$dest.log"
t make_install test "$rc" = 0
t module test -n "$(ls "$dest/lib/modules/$krel/updates/"vfmig.ko* 2>/dev/null)"
t cli_runs "$dest/usr/bin/vfmig" --version
t man_pages test -s "$dest/usr/share/man/man1/vfmig.1" -a -s "$dest/usr/share/man/man3/libvfmig.3"
t bash_completion bash -n "$dest/usr/share/bash-completion/completions/vfmig"
t shared_lib_chain test "$(readlink "$lib/libvfmig.so")" = libvfmig.so.0 -a \
	"$(readlink "$lib/libvfmig.so.0")" = "libvfmig.so.$version"
t soname soname_is libvfmig.so.0
t links_no_optional_lib links_no_optional_lib
t static_lib test -s "$lib/libvfmig.a"
t headers test -s "$dest/usr/include/vfmig/libvfmig.h" -a -s "$dest/usr/include/vfmig/abi.h"
t pkg_config_version test "$(pc --modversion libvfmig)" = "$version"
t only_the_api_exported exports_match
t example_builds_with_pkg_config example_builds
make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/usr >> "$dest.log" 2>&1
t make_uninstall test $? = 0
rm -f "$dest/declared" "$dest/exported" "$dest/migrate_pair" "$dest/needed"
t nothing_left test -z "$(find "$dest" -type f -o -type l)"
exit $failed
