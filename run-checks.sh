#!/bin/sh
# `make check`: cmocka unit tests on the host (under valgrind), then the VM
# suites on each kernel given.  Ends with one line "N passed, N failed".
# usage: run-checks.sh all|unit|vm KRELEASE...
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
mode=$1
shift
logs=$top/build/check
mkdir -p "$logs"
pass=0 fail=0 skip=0

record() { # record ok|fail NAME
	if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $2"; fi
}

run_unit() {
	for t in "$top"/tests/unit/build/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		echo "== unit: $name (valgrind)"
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 "$t" > "$logs/$name.log" 2>&1
		rc=$?
		cat "$logs/$name.log"
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$logs/$name.log" | tail -n 1)
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$logs/$name.log" | tail -n 1)
		pass=$((pass + ${p:-0}))
		fail=$((fail + ${f:-0}))
		if [ "$rc" = 99 ]; then
			record fail "$name: valgrind found memory errors or leaks"
		elif [ "$rc" != 0 ] && [ -z "$f" ]; then
			record fail "$name: exited with $rc"
		fi
	done
}

run_vm() {
	k=$1
	echo "== module build for $k (W=1)"
	if ! sh "$top/scripts/build-module.sh" "$k" "/usr/src/linux-headers-$k" W=1 \
		> "$logs/build-$k.log" 2>&1; then
		cat "$logs/build-$k.log"
		record fail "vfmig.ko does not build for $k"
		return
	fi
	if grep -q 'warning:' "$logs/build-$k.log"; then
		grep 'warning:' "$logs/build-$k.log"
		record fail "vfmig.ko builds with warnings for $k"
	else
		record ok "build $k"
	fi
	echo "== VM suites on $k"
	out=$top/build/vm/check-$k
	rm -rf "$out"
	# 3 GiB: device_test migrates between two 1 GiB devices (set
	# VFMIG_BIG_STATE=<MiB>, e.g. 256, for a quicker run).
	VFMIG_VM_MEM=${VFMIG_VM_MEM:-3072} \
	sh "$top/tests/vm/run-vm.sh" --out "$out" --timeout "${VFMIG_VM_TIMEOUT:-1200}" "$k" -- \
		env VFMIG_BIG_STATE="${VFMIG_BIG_STATE:-}" \
		"$top/tests/selftests/run.sh" > "$logs/vm-$k.log" 2>&1
	cat "$logs/vm-$k.log"
	p=$(grep -c '^ok ' "$logs/vm-$k.log")
	s=$(grep -c '^ok .* # SKIP' "$logs/vm-$k.log")
	f=$(grep -c '^not ok ' "$logs/vm-$k.log")
	pass=$((pass + p - s))
	skip=$((skip + s))
	fail=$((fail + f))
	# The VM itself is a test: it must finish, and its kernel log stay clean.
	if [ -f "$out/status" ] && [ ! -s "$out/kernel-problems.txt" ] &&
		grep -q 'Totals:' "$logs/vm-$k.log"; then
		record ok "vm $k"
	else
		record fail "VM run on $k (hang, crash, kernel warning or taint; see $out)"
	fi
}

run_lint() {
	echo "== lint: checkpatch --strict"
	if sh "$top/scripts/lint.sh" > "$logs/lint.log" 2>&1; then
		record ok lint
	else
		record fail "checkpatch --strict (make lint)"
	fi
	cat "$logs/lint.log"
}

# A host TAP script: each "ok"/"not ok" line counts; a non-zero exit
# without a "not ok" is one failure.
run_tap() { # run_tap NAME SCRIPT
	echo "== $1"
	sh "$2" > "$logs/$1.log" 2>&1
	rc=$?
	cat "$logs/$1.log"
	p=$(grep -c '^ok ' "$logs/$1.log")
	f=$(grep -c '^not ok ' "$logs/$1.log")
	pass=$((pass + p))
	fail=$((fail + f))
	[ "$rc" = 0 ] || [ "$f" -gt 0 ] || record fail "$1: exited with $rc"
}

case $mode in
all|unit)
	run_lint
	run_unit
	run_tap install "$top/tests/install_test.sh"
	;;
esac
case $mode in
all|vm)
	[ $# -gt 0 ] || { echo "no kernels to test (make deps)"; fail=$((fail + 1)); }
	for k in "$@"; do run_vm "$k"; done
	;;
esac

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
