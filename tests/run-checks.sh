#!/bin/sh
# `make check`: checkpatch, cmocka unit tests on the host (under valgrind,
# then built with ASan + UBSan), a short run of each host fuzz target, the
# host TAP tests (install layout, the VM runner's kernel-report matcher),
# then the VM suites on each kernel given, the engine's suites once more on
# the last of them with the CLI built with ASan + UBSan (and the parallel
# and engine suites with a ThreadSanitizer CLI), then the device,
# migration, lifetime and fuzz suites on the debug kernel
# (scripts/debug-kernel.sh: built once, then reused from its cache).  Ends with "N passed, N failed".
# FUZZ_CHECK_SECONDS: seconds per fuzz target (default 60).
# usage: run-checks.sh all|unit|vm|debug|asan|tsan KRELEASE...
#   debug: only the debug-kernel part (no KRELEASE needed)
#   asan, tsan: only that sanitized CLI's run, on the last KRELEASE
# Environment: VFMIG_DEBUG_KERNEL=0 leaves the debug kernel out of all|vm;
# VFMIG_DEBUG_SUITES (default "device_test migration_test lifetime_test v2_test
# fuzz_test"), VFMIG_DEBUG_VM_MEM (MiB, default 4096), VFMIG_DEBUG_BIG_STATE
# (MiB, default 1024) and VFMIG_DEBUG_VM_TIMEOUT (s, default 1500) tune that
# part; VFMIG_DEBUG_CANARY=0 skips tests/vm/debug-kernel-canary.sh.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# kernel_problems_before: a report during boot is not the suites'.
. "$top/tests/vm/kernel-problems.sh"
# vm_result: whether a VM run counts as passed.
. "$top/tests/vm/vm-result.sh"
mode=$1
shift
logs=$top/build/check
mkdir -p "$logs"
pass=0 fail=0 skip=0
built=""	# kernels whose module built in this run

record() { # record ok|fail NAME
	if [ "$1" = ok ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $2"; fi
}

# count_cmocka LOG: add a cmocka program's totals; $f is its failure count
# (empty when it printed none, e.g. it crashed).
count_cmocka() {
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$1" | tail -n 1)
	pass=$((pass + ${p:-0}))
	fail=$((fail + ${f:-0}))
	skip=$((skip + ${s:-0}))
}

run_unit() {
	if [ ! -x "$top/tests/unit/build/test_api" ]; then
		record fail "unit tests not built (make unit)"
		return
	fi
	for t in "$top"/tests/unit/build/test_*; do
		[ -x "$t" ] || continue
		name=$(basename "$t")
		echo "== unit: $name (valgrind)"
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 "$t" > "$logs/$name.log" 2>&1
		rc=$?
		cat "$logs/$name.log"
		count_cmocka "$logs/$name.log"
		if [ "$rc" = 99 ]; then
			record fail "$name: valgrind found memory errors or leaks"
		elif [ "$rc" != 0 ] && [ -z "$f" ]; then
			record fail "$name: exited with $rc"
		fi
	done
}

# The same tests built with a sanitizer: "asan" (-fsanitize=address,undefined,
# make unit-asan) or "tsan" (-fsanitize=thread, make unit-tsan).
run_sanitized() {
	kind=$1
	set -- "$top/build/$kind/unit"/test_*
	if [ ! -x "$1" ]; then
		record fail "$kind: unit tests not built (make unit-$kind)"
		return
	fi
	for t in "$@"; do
		[ -x "$t" ] || continue
		name=$kind:$(basename "$t")
		echo "== unit: $name"
		ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
			"$t" > "$logs/$name.log" 2>&1
		rc=$?
		cat "$logs/$name.log"
		count_cmocka "$logs/$name.log"
		if grep -qE '^(==[0-9]+==ERROR: |SUMMARY: (Address|Undefined|Leak|Thread)Sanitizer|WARNING: ThreadSanitizer)|runtime error:' \
			"$logs/$name.log"; then
			record fail "$name: sanitizer report"
		elif [ "$rc" != 0 ] && [ -z "$f" ]; then
			record fail "$name: exited with $rc"
		fi
	done
}

# Each host fuzz target for a short, seeded run: one pass or fail each.
run_hostfuzz() {
	for t in stream_fuzz payload_fuzz; do
		if sh "$top/tests/fuzz/run.sh" "${FUZZ_CHECK_SECONDS:-60}" 1 "$t" \
			> "$logs/fuzz-$t.log" 2>&1; then
			tail -n 1 "$logs/fuzz-$t.log"
			record ok "fuzz: $t"
		else
			cat "$logs/fuzz-$t.log"
			record fail "fuzz: $t (see $logs/fuzz-$t.log)"
		fi
	done
}

# build_module KRELEASE KDIR: vfmig.ko with W=1, one result (a warning fails
# it); non-zero when there is no module to test.
build_module() {
	echo "== module build for $1 (W=1)"
	if ! sh "$top/scripts/build-module.sh" "$1" "$2" W=1 > "$logs/build-$1.log" 2>&1; then
		cat "$logs/build-$1.log"
		record fail "vfmig.ko does not build for $1"
		return 1
	fi
	if grep -q 'warning:' "$logs/build-$1.log"; then
		grep 'warning:' "$logs/build-$1.log"
		record fail "vfmig.ko builds with warnings for $1"
	else
		record ok "build $1"
	fi
}

run_vm() {
	k=$1
	build_module "$k" "/usr/src/linux-headers-$k" || return
	built="$built $k"
	# The kernel's own mtty sample: the qemu10 suite's control device (6.12).
	case $k in
	6.12.*)
		sh "$top/scripts/build-mtty.sh" "$k" "/usr/src/linux-headers-$k" \
			> "$logs/mtty-$k.log" 2>&1 || {
			cat "$logs/mtty-$k.log"
			record fail "the mtty control does not build for $k"
		}
		;;
	esac
	echo "== VM suites on $k"
	out=$top/build/vm/check-$k
	rm -rf "$out"
	# 3 GiB: device_test migrates between two 1 GiB devices (set
	# VFMIG_BIG_STATE=<MiB>, e.g. 256, for a quicker run). 2400 s: the
	# qemu10 suite alone took 434-544 s on a busy host.
	VFMIG_VM_MEM=${VFMIG_VM_MEM:-3072} \
	sh "$top/tests/vm/run-vm.sh" --out "$out" --timeout "${VFMIG_VM_TIMEOUT:-2400}" "$k" -- \
		env VFMIG_BIG_STATE="${VFMIG_BIG_STATE:-}" \
		"$top/tests/selftests/run.sh" > "$logs/vm-$k.log" 2>&1
	count_vm "$k" "$out" "$logs/vm-$k.log"
}

count_vm() { # count_vm NAME OUTDIR LOG: TAP results and the VM run itself
	cat "$3"
	p=$(grep -c '^ok ' "$3")
	s=$(grep -c '^ok .* # SKIP' "$3")
	f=$(grep -c '^not ok ' "$3")
	pass=$((pass + p - s))
	skip=$((skip + s))
	fail=$((fail + f))
	# The VM itself is a test (tests/vm/vm-result.sh).
	if why=$(vm_result "$2" "$3"); then
		record ok "vm $1"
	else
		record fail "VM run on $1: $why (see $2)"
	fi
}

# The engine's suites once more on KRELEASE with the CLI built with a
# sanitizer: "asan" (ASan + UBSan, make unit-asan) or "tsan"
# (ThreadSanitizer, make unit-tsan): the real VFIO, v2 data file, socket,
# lane and loader-thread paths, which the unit tests' fake device does not
# reach.  Reports go to files (a failing command's stderr is what its test
# checks), and any file there is one failure.
SAN_SUITES_asan="engine_test engine_v2_test parallel_test crash_test compress_test"
SAN_SUITES_tsan="parallel_test engine_test"
run_vm_sanitized() { # run_vm_sanitized asan|tsan KRELEASE
	kind=$1 k=$2
	cli=$top/build/$kind/user/vfmig
	if [ ! -x "$cli" ]; then
		record fail "$kind: the CLI is not built (make unit-$kind)"
		return
	fi
	eval suites=\$SAN_SUITES_$kind
	echo "== VM suites on $k with the $kind CLI ($suites)"
	out=$top/build/vm/check-$kind-$k
	rm -rf "$out"
	mkdir -p "$out/san"
	VFMIG_VM_MEM=${VFMIG_VM_MEM:-3072} \
	sh "$top/tests/vm/run-vm.sh" --out "$out" --timeout "${VFMIG_VM_TIMEOUT:-2400}" "$k" -- \
		env VFMIG_CLI="$cli" VFMIG_SUITES="$suites" \
		ASAN_OPTIONS="log_path=$out/san/asan:detect_leaks=1:abort_on_error=0" \
		UBSAN_OPTIONS="log_path=$out/san/ubsan:print_stacktrace=1:halt_on_error=1" \
		TSAN_OPTIONS="log_path=$out/san/tsan:second_deadlock_stack=1" \
		"$top/tests/selftests/run.sh" > "$logs/vm-$kind-$k.log" 2>&1
	count_vm "$k ($kind CLI)" "$out" "$logs/vm-$kind-$k.log"
	if [ -n "$(ls -A "$out/san")" ]; then
		head -n 60 "$out"/san/*
		record fail "sanitizer reports from the $kind CLI on $k (see $out/san)"
	else
		record ok "$kind: the CLI in the engine suites on $k"
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

# The suites in a guest of the debug kernel, output in DIR.
debug_suites() { # debug_suites DIR
	rm -rf "$1"
	# The large-state test migrates two VFMIG_DEBUG_BIG_STATE devices (1 GiB
	# each, as on the Debian kernels); KASAN keeps an eighth of the memory
	# (and of every vmalloc area) as shadow, so the guest gets 4 GiB. With
	# 3 GiB device_test would fall back to 256 MiB; 256 MiB saves ~20 s.
	VFMIG_VM_MEM=${VFMIG_DEBUG_VM_MEM:-4096} \
	sh "$top/tests/vm/run-vm.sh" --out "$1" --timeout "${VFMIG_DEBUG_VM_TIMEOUT:-1500}" \
		debug-6.12 -- \
		env VFMIG_BIG_STATE="${VFMIG_DEBUG_BIG_STATE:-1024}" \
		VFMIG_SUITES="${VFMIG_DEBUG_SUITES:-device_test migration_test lifetime_test v2_test fuzz_test}" \
		"$top/tests/selftests/run.sh" > "$logs/vm-debug.log" 2>&1
}

# The debug kernel (KASAN, lockdep, UBSAN, KFENCE): any report in its log
# fails the VM run (run-vm.sh reads the guest's whole kernel log).
run_debug() {
	echo "== debug kernel (scripts/debug-kernel.sh: build or reuse)"
	if ! dk=$(sh "$top/scripts/debug-kernel.sh" 2> "$logs/debug-kernel.log"); then
		cat "$logs/debug-kernel.log"
		record fail "the debug kernel does not build (see $logs/debug-kernel.log)"
		return
	fi
	cat "$logs/debug-kernel.log"
	k=$(cat "$dk/release")
	build_module "$k" "$dk/linux" || return
	echo "== VM suites on $k (debug kernel)"
	out=$top/build/vm/check-debug
	debug_suites "$out"
	# A report before user space started is the kernel's own and leaves
	# KASAN and lockdep spent for the suites (kernel-problems.sh): once more.
	if early=$(kernel_problems_before "$out/dmesg.txt" 'Run .* as init process'); then
		echo "# a kernel report during boot, before user space: $early; booting once more"
		rm -rf "$out.early"
		mv "$out" "$out.early"
		debug_suites "$out"
	fi
	count_vm "$k" "$out" "$logs/vm-debug.log"
	# A check that cannot fail is no check: a module that commits each kind
	# of bug on purpose must get each reported and the run failed.
	[ "${VFMIG_DEBUG_CANARY:-1}" = 0 ] && return
	run_tap debug-kernel-canary "$top/tests/vm/debug-kernel-canary.sh"
}

case $mode in
all|unit)
	run_lint
	run_unit
	run_sanitized asan
	run_sanitized tsan
	run_hostfuzz
	run_tap install "$top/tests/install_test.sh"
	run_tap kernel-problems "$top/tests/vm/kernel-problems_test.sh"
	run_tap suite-runner "$top/tests/vm/suite-runner_test.sh"
	run_tap vm-result "$top/tests/vm/vm-result_test.sh"
	;;
esac
case $mode in
asan|tsan)
	if [ $# -eq 0 ]; then
		record fail "run-checks.sh $mode: no kernel given"
	else
		for k in "$@"; do :; done
		build_module "$k" "/usr/src/linux-headers-$k" && run_vm_sanitized "$mode" "$k"
	fi
	;;
esac
case $mode in
all|vm)
	[ $# -gt 0 ] || { echo "no kernels to test (make deps)"; fail=$((fail + 1)); }
	for k in "$@"; do run_vm "$k"; done
	# The sanitized CLIs on the last kernel given (6.12 by default: v1 and
	# v2), if its module built (a failed build is a failure already).
	for k in "$@"; do :; done
	[ $# -eq 0 ] || case " $built " in
	*" $k "*) run_vm_sanitized asan "$k"; run_vm_sanitized tsan "$k" ;;
	esac
	[ "${VFMIG_DEBUG_KERNEL:-1}" = 0 ] || run_debug
	;;
debug) run_debug ;;
esac

if [ "$skip" -gt 0 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
else
	echo "$pass passed, $fail failed"
fi
[ "$fail" -eq 0 ]
