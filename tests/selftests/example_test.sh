#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The libvfmig example programs (examples/), built by `make examples` with
# pkg-config alone against an install into build/example-root, run here
# against that installed shared library: a program of a user's own, linked
# the way theirs would be, migrating real devices.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/lib.sh"

ROOT=$top/build/example-root
EX=$top/build/examples
T=${TMPDIR:-/tmp}/example_test.$$

run_example() { # run_example NAME ARGS...: output in $T/out, status returned
	mkdir -p "$T"
	LD_LIBRARY_PATH=$ROOT/usr/lib "$EX/$@" > "$T/out" 2> "$T/err"
	rc=$?
	sed 's/^/  /' "$T/out" "$T/err" | while IFS= read -r l; do diag "$l"; done
	return $rc
}

test_built_against_the_install() {
	[ -x "$EX/migrate_pair" ] || fail "no $EX/migrate_pair: run 'make examples' first"
	# The installed library, by its soname, and nothing from the build tree.
	LD_LIBRARY_PATH=$ROOT/usr/lib ldd "$EX/migrate_pair" > "$T.ldd" 2>&1
	grep -q "libvfmig.so.0 => $ROOT/usr/lib/libvfmig.so.0" "$T.ldd" ||
		fail "not linked to the installed libvfmig.so.0: $(cat "$T.ldd")"
	rm -f "$T.ldd"
}

test_migrate_pair_live() {
	load_module_or_bail
	run_example migrate_pair vfmig-small 4000000 || fail "migrate_pair failed"
	grep -q '^libvfmig [0-9]*\.[0-9]*\.[0-9]*$' "$T/out" || fail "no version line"
	# The example's own progress callback saw pre-copy rounds ...
	grep -q '^round 1: ' "$T/out" || fail "no progress from the example's callback"
	# ... its log callback the engine's steps ...
	grep -q '^\[libvfmig info\] save: stop-and-copy' "$T/err" || fail "no log lines"
	# ... and the state arrived.
	grep -q '^completed in ' "$T/out" || fail "no completed line"
	grep -q '^checksums [0-9a-f]* [0-9a-f]*: equal$' "$T/out" || fail "checksums differ"
	[ -z "$(ls "$S")" ] || fail "devices left behind: $(ls "$S")"
	rm -rf "$T"
}

test_migrate_pair_refuses_bad_type() {
	load_module_or_bail
	run_example migrate_pair no-such-type && fail "a bad type was accepted"
	grep -q "^migrate_pair: create source: mdev create: no mdev type 'no-such-type'" "$T/err" ||
		fail "no one-line reason for the bad type"
	rm -rf "$T"
}

run_then_unload "$0" example "$@"
