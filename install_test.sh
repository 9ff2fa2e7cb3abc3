#!/bin/sh
# Host test of `make install` / `make uninstall` into a DESTDIR: the layout
# README and Documentation/README.md promise, then nothing left behind.
# TAP output; run by tests/run-checks.sh.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
krel=$(make -s -C "$top" --no-print-directory print-krel 2>/dev/null)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n install.$1"; }
notok() { n=$((n + 1)); failed=1; echo "not ok $n install.$1"; }
t() { name=$1; shift; if "$@"; then ok "$name"; else notok "$name"; fi; }

echo "TAP version 13"
echo "1..7"
make -s -C "$top" install DESTDIR="$dest" PREFIX=/usr > "$dest.log" 2>&1
rc=$?
[ "$rc" = 0 ] || sed 's/^/# /' "$dest.log"
t make_install test "$rc" = 0
t module test -n "$(ls "$dest/lib/modules/$krel/updates/"vfmig.ko* 2>/dev/null)"
t cli "$dest/usr/bin/vfmig" --version
t man_page test -s "$dest/usr/share/man/man1/vfmig.1"
t bash_completion bash -n "$dest/usr/share/bash-completion/completions/vfmig"
make -s -C "$top" uninstall DESTDIR="$dest" PREFIX=/usr >> "$dest.log" 2>&1
t make_uninstall test $? = 0
t nothing_left test -z "$(find "$dest" -type f)"
rm -f "$dest.log"
exit $failed
