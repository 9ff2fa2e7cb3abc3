#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make fuzz-vm`: the VM interface fuzzer (tests/selftests/fuzz_test.c) on
# each kernel given, one VM at a time, with one seed for all of them.
# Ends with "N passed, N failed" like `make check`.
#
# usage: fuzz-vm.sh KRELEASE...   (debug-6.12 for the debug kernel, once the
#                                  VM runner boots it)
# Environment: FUZZ_OPS (single-threaded operations per kernel, default
# 100000; the concurrent phase adds a quarter), VFMIG_FUZZ_SEED (default: a
# random one, printed), VFMIG_VM_TIMEOUT (seconds per VM, default 3600).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/vm/vm-result.sh"
ops=${FUZZ_OPS:-100000}
seed=${VFMIG_FUZZ_SEED:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
logs=$top/build/fuzz
mkdir -p "$logs"
pass=0 fail=0

echo "fuzz-vm: seed $seed, $ops ops per kernel (repeat: VFMIG_FUZZ_SEED=$seed FUZZ_OPS=$ops make fuzz-vm)"
[ $# -gt 0 ] || { echo "fuzz-vm: no kernels (make deps)"; exit 1; }
for k in "$@"; do
	# debug-6.12: the debug kernel of scripts/debug-kernel.sh, where the
	# runner knows it; its tree is the module's KDIR.
	case $k in
	debug-*)
		if ! dk=$(sh "$top/scripts/debug-kernel.sh" dir 2>/dev/null); then
			echo "FAILED: no debug kernel built for $k (scripts/debug-kernel.sh)"
			fail=$((fail + 1))
			continue
		fi
		krel=$(cat "$dk/release") kdir=$dk/linux
		;;
	*) krel=$k kdir=/usr/src/linux-headers-$k ;;
	esac
	echo "== module build for $k (W=1)"
	if ! sh "$top/scripts/build-module.sh" "$krel" "$kdir" W=1 \
		> "$logs/build-$k.log" 2>&1; then
		cat "$logs/build-$k.log"
		echo "FAILED: vfmig.ko does not build for $k"
		fail=$((fail + 1))
		continue
	fi
	echo "== fuzz on $k"
	out=$top/build/vm/fuzz-$k
	rm -rf "$out"
	start=$(date +%s)
	sh "$top/tests/vm/run-vm.sh" --out "$out" --timeout "${VFMIG_VM_TIMEOUT:-3600}" "$k" -- \
		env VFMIG_MODULE="$top/build/$krel/vfmig.ko" VFMIG_FUZZ_SEED="$seed" \
		VFMIG_FUZZ_OPS="$ops" "$top/tests/selftests/build/fuzz_test" > "$logs/vm-$k.log" 2>&1
	cat "$logs/vm-$k.log"
	echo "# fuzz on $k: $(($(date +%s) - start)) s in the VM runner"
	pass=$((pass + $(grep -c '^ok ' "$logs/vm-$k.log")))
	fail=$((fail + $(grep -c '^not ok ' "$logs/vm-$k.log")))
	# The VM is a test too (tests/vm/vm-result.sh).
	if why=$(vm_result "$out" "$logs/vm-$k.log"); then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAILED: VM run on $k: $why (see $out)"
	fi
done
echo "fuzz-vm: seed $seed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
