#!/bin/sh
# Does the debug kernel catch what it is there for, and does a report fail
# the run?  Boots debug-6.12 once and loads tests/vm/canary/vfmig_canary.ko,
# which commits on purpose a lock-order inversion, a sleep under a spinlock,
# a double list_add, a shift out of bounds, a use-after-free on a KFENCE
# object and a slab out-of-bounds read.  TAP: run-vm.sh must fail the run,
# and each report must be among the lines its kernel-log check matched
# (DIR/kernel-problems.txt).  Needs the debug kernel built
# (scripts/debug-kernel.sh).
# usage: debug-kernel-canary.sh [OUTDIR]
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:-$top/build/vm/canary}

dk=$(sh "$top/scripts/debug-kernel.sh" dir) || exit 1
b=$top/build/canary-$(cat "$dk/release")
mkdir -p "$b"
ln -sfn "$here/canary/Kbuild" "$b/Kbuild"
ln -sfn "$here/canary/vfmig_canary.c" "$b/vfmig_canary.c"
if ! make -C "$dk/linux" M="$b" W=1 modules > "$b/build.log" 2>&1; then
	cat "$b/build.log"
	echo "canary: vfmig_canary.ko does not build" >&2
	exit 1
fi

# kind|what the kernel prints (lockdep first: a KASAN report turns it off)
checks='lockdep|WARNING: possible circular locking dependency detected
atomic_sleep|BUG: sleeping function called from invalid context
list|at lib/list_debug.c
ubsan|UBSAN: shift-out-of-bounds
kfence|BUG: KFENCE: use-after-free read
kasan|BUG: KASAN: slab-out-of-bounds'
kinds=$(echo "$checks" | cut -d'|' -f1 | paste -sd, -)

boot() {
	rm -rf "$out"
	sh "$here/run-vm.sh" --out "$out" --timeout 300 debug-6.12 -- \
		sh -c "insmod '$b/vfmig_canary.ko' bugs=$kinds && rmmod vfmig_canary" \
		> "$out.log" 2>&1
	rc=$?
}
# A report the kernel printed before the canary loaded is not the canary's
# (kernel_problems_before in kernel-problems.sh says why it spoils the run).
. "$here/kernel-problems.sh"
boot
if early=$(kernel_problems_before "$out/dmesg.txt" 'vfmig_canary: '); then
	echo "# a kernel report before the canary loaded: $early; booting once more"
	mv "$out" "$out.early"
	boot
fi

echo "TAP version 13"
echo "1..$(($(echo "$checks" | wc -l) + 1))"
n=1
status=0
if [ "$rc" -ne 0 ] && [ -s "$out/kernel-problems.txt" ]; then
	echo "ok $n canary.run_fails"
else
	echo "# run-vm.sh exited $rc; see $out.log"
	echo "not ok $n canary.run_fails"
	status=1
fi
echo "$checks" | {
	while IFS='|' read -r kind text; do
		n=$((n + 1))
		if grep -qF "$text" "$out/kernel-problems.txt" 2>/dev/null; then
			echo "ok $n canary.$kind"
		else
			echo "# no \"$text\" among the reported lines; see $out/dmesg.txt"
			echo "not ok $n canary.$kind"
			status=1
		fi
	done
	exit $status
}
