#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host test (TAP) of vm_result (tests/vm/vm-result.sh): when one VM run
# counts as passed in make check and make fuzz-vm.  Fake run directories
# stand in for run-vm.sh's.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/vm-result.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/host-tap.sh"

# fake NAME VERDICT STATUS LOG-LINES: a run directory and its output.
fake() {
	mkdir -p "$tmp/$1"
	[ "$2" = - ] || echo "$2" > "$tmp/$1/verdict"
	[ "$3" = - ] || echo "$3" > "$tmp/$1/status"
	printf '%b' "$4" > "$tmp/$1.log"
}
# expect NAME WHY: vm_result's verdict on it ("" = passes).
expect() {
	why=$(vm_result "$tmp/$1" "$tmp/$1.log")
	rc=$?
	if [ -z "$2" ]; then
		[ "$rc" = 0 ] && [ -z "$why" ]
	else
		[ "$rc" = 1 ] && [ "$why" = "$2" ]
	fi
	ok $? "$1: ${2:-passes} (got $rc: $why)"
}

totals='ok 1 a\n# Totals: pass:1 fail:0\n'
fake clean ok 0 "$totals"
expect clean ""
fake failed_test ok 1 'ok 1 a\nnot ok 2 b\n# Totals: pass:1 fail:1\n'
expect failed_test ""
fake silent_exit ok 1 "$totals"
expect silent_exit "the command exited 1 without a failed test"
fake no_verdict - 0 "$totals"
expect no_verdict "no verdict"
fake kernel_report "kernel report (see x)" 0 "$totals"
expect kernel_report "kernel report (see x)"
fake wrapped "the guest's kernel log wrapped" 0 "$totals"
expect wrapped "the guest's kernel log wrapped"
fake nothing_ran ok 0 'TAP version 13\n'
expect nothing_ran "no suite finished"
fake no_status ok - "$totals"
expect no_status "the command exited none without a failed test"

echo "1..$n"
[ "$failed" = 0 ]
