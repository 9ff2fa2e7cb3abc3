#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host test (TAP) of the VM runner's kernel-report matcher
# (tests/vm/kernel-problems.sh): a sample line of every kind of report a
# 6.1 or 6.12 kernel prints must match, so must the reports in a real debug
# kernel's log, and clean guest kernel logs of both kernels and of the debug
# kernel (tests/vm/testdata/clean-*.dmesg, from real VM runs) must not.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/kernel-problems.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/host-tap.sh"

# kind<TAB>line: one report line as the kernel prints it (with its timestamp).
samples() {
	cat <<'SAMPLES'
divide error (6.1, no "Oops")	[  812.331408] divide error: 0000 [#1] PREEMPT SMP NOPTI
divide error (6.12)	[  455.101822] Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI
invalid opcode (BUG_ON on 6.1)	[   93.002117] invalid opcode: 0000 [#1] PREEMPT SMP NOPTI
second oops	[   95.411003] general protection fault: 0000 [#2] PREEMPT SMP NOPTI
general protection fault	[   61.118844] general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI
stack segment	[   70.554120] stack segment: 0000 [#1] PREEMPT SMP NOPTI
oops header without a known prefix	[   12.000001] some new trap: 0000 [#3] SMP PTI
call trace	[  812.340811]  Call Trace:
kernel BUG at	[   93.001991] kernel BUG at /work/kernel/payload.c:120!
NULL pointer BUG	[   44.201877] BUG: kernel NULL pointer dereference, address: 0000000000000008
page fault BUG	[   44.201902] BUG: unable to handle page fault for address: ffffc90000a5d000
WARNING	[   37.765121] WARNING: CPU: 1 PID: 412 at kernel/workqueue.c:1698 __queue_work+0x2d1/0x3f0
cut here	[   37.765102] ------------[ cut here ]------------
kernel panic	[  812.401112] Kernel panic - not syncing: Fatal exception
hung task	[  246.719003] INFO: task fuzz_test:312 blocked for more than 120 seconds.
hung task (6.12 wording)	[  246.719003] INFO: task kworker/u4:2:57 blocked for more than 122 seconds.
soft lockup	[   52.100211] watchdog: BUG: soft lockup - CPU#0 stuck for 26s! [fuzz_test:301]
hard lockup	[   60.000111] watchdog: Watchdog detected hard LOCKUP on cpu 1
hardlockup panic	[   60.000312] Kernel panic - not syncing: Hard LOCKUP
hardlockup detector	[   60.000412] NMI watchdog: hardlockup detected on cpu 0
rcu_sched self-detected stall	[   88.901001] INFO: rcu_sched self-detected stall on CPU
rcu self-detected stall (6.x)	[   88.901001] rcu: INFO: rcu_preempt self-detected stall on CPU
rcu stall on CPUs	[   88.901234] rcu: INFO: rcu_sched detected stalls on CPUs/tasks:
rcu expedited stall	[   88.901555] rcu: INFO: rcu_preempt detected expedited stalls on CPUs/tasks: { 1-... } 21002 jiffies s: 341 root: 0x2/.
KFENCE	[   30.100001] BUG: KFENCE: use-after-free read in vfmig_release_dev+0x1c/0x60 [vfmig]
KASAN	[   30.100001] BUG: KASAN: slab-out-of-bounds in vfmig_payload_feed+0x2a1/0x530 [vfmig]
UBSAN	[   30.100001] UBSAN: shift-out-of-bounds in /work/kernel/dirty.c:42:10
circular locking	[   19.000001] WARNING: possible circular locking dependency detected
inconsistent lock state	[   19.000001] WARNING: inconsistent lock state
recursive locking	[   19.000001] WARNING: possible recursive locking detected
suspicious RCU usage	[   19.000001] WARNING: suspicious RCU usage
sleeping in atomic	[   19.000001] BUG: sleeping function called from invalid context at kernel/locking/mutex.c:580
lock held at return	[   19.000001] WARNING: lock held when returning to user space!
bad unlock balance	[   19.000001] WARNING: bad unlock balance detected!
list_add corruption	[   71.000002] list_add corruption. prev->next should be next (ffff888003c8a0b8), but was 0000000000000000. (prev=ffff888003c8a0b8).
list_del corruption	[   71.000002] list_del corruption, ffff8880041d6c00->next is LIST_POISON1 (dead000000000100)
list double add	[   57.175809] list_add double add: new=ffffffffa0003200, prev=ffffffffa0002140, next=ffffffffa0003200.
stack dump	[   57.177456] Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
modules in a dump	[   57.176743] Modules linked in: vfmig_canary(O+)
refcount_t	[   71.000002] refcount_t: underflow; use-after-free.
slab corruption	[   71.000002] BUG kmalloc-64 (Tainted: G           OE     ): Redzone overwritten
kmemleak	[  600.000002] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)
SAMPLES
}

tab=$(printf '\t')
samples > "$tmp/samples"
while IFS="$tab" read -r kind line; do
	printf '%s\n' "$line" > "$tmp/one"
	kernel_problems "$tmp/one" > /dev/null
	ok $? "matches: $kind"
done < "$tmp/samples"

# Lines of clean runs (seen in these VMs) that look close to a report but are
# not one; the MP-BIOS line only reaches the console.
while IFS= read -r line; do
	printf '%s\n' "$line" > "$tmp/one"
	kernel_problems "$tmp/one" > /dev/null
	[ $? = 1 ]
	ok $? "does not match: $line"
done <<'CLEAN'
[    0.000000] ..MP-BIOS bug: 8254 timer not connected to IO-APIC
[    0.548993] NMI watchdog: Perf NMI watchdog permanently disabled
[   17.549334] clocksource: Long readout interval, skipping watchdog check: cs_nsec: 1044393630 wd_nsec: 1044393200
[   18.947357] vfmig: loading out-of-tree module taints kernel.
[   18.948474] vfmig: module verification failed: signature and/or required key missing - tainting kernel
CLEAN

# A report buried in a clean log is still found, with its line number.
for f in "$here"/testdata/clean-*.dmesg; do
	[ -r "$f" ] || continue
	{ head -n 100 "$f"; echo '[  812.331408] divide error: 0000 [#1] PREEMPT SMP NOPTI'; tail -n +101 "$f"; } \
		> "$tmp/buried"
	out=$(kernel_problems "$tmp/buried")
	[ "$out" = "101:[  812.331408] divide error: 0000 [#1] PREEMPT SMP NOPTI" ]
	ok $? "finds the one report in $(basename "$f") with a report inserted"
done

# Real reports: the log of a debug 6.12 kernel (KASAN, KFENCE, UBSAN,
# lockdep, DEBUG_LIST) that loaded a module committing one bug of each kind
# on purpose; each report's first line is found.
real=$here/testdata/reports-6.12-debug.dmesg
kernel_problems "$real" > "$tmp/real"
for want in 'WARNING: possible circular locking dependency detected' \
	'BUG: sleeping function called from invalid context' \
	'list_add double add' 'UBSAN: shift-out-of-bounds' 'BUG: KFENCE: use-after-free read' \
	'BUG: KASAN: slab-out-of-bounds'; do
	grep -qF "$want" "$tmp/real"
	ok $? "found in a real debug-kernel log: $want"
done

# Clean guest logs of both kernels (and of the debug kernel): nothing matches.
clean=0
for f in "$here"/testdata/clean-*.dmesg; do
	[ -r "$f" ] || continue
	clean=$((clean + 1))
	out=$(kernel_problems "$f")
	[ $? = 1 ]
	ok $? "clean log $(basename "$f") ($(wc -l < "$f") lines) does not match${out:+: $out}"
done
[ "$clean" -ge 3 ]
ok $? "clean logs present: $clean (6.1, 6.12, debug 6.12)"

kernel_problems "$tmp/does-not-exist" > /dev/null 2>&1
[ $? = 2 ]
ok $? "an unreadable log is an error, not a clean log"

# A report before user space started (kernel_problems_before): the one seen
# in a debug 6.12 guest, put before and after "Run /init" in a clean log.
f=$here/testdata/clean-6.12-debug.dmesg
early='[    2.384521] BUG: KASAN: wild-memory-access in do_raw_spin_lock+0x130/0x1de'
mark='Run .* as init process'
init=$(grep -n -m1 -E "$mark" "$f" | cut -d: -f1)
{ head -n 120 "$f"; echo "$early"; tail -n +121 "$f"; } > "$tmp/early"
out=$(kernel_problems_before "$tmp/early" "$mark")
[ $? = 0 ] && [ "$out" = "121:$early" ]
ok $? "a report during boot is found before user space (got: $out)"
{ head -n "$init" "$f"; echo "$early"; tail -n +$((init + 1)) "$f"; } > "$tmp/late"
out=$(kernel_problems_before "$tmp/late" "$mark")
[ $? = 1 ] && [ -z "$out" ]
ok $? "a report after user space started is not a boot report${out:+: $out}"
kernel_problems_before "$f" "$mark" > /dev/null
[ $? = 1 ]
ok $? "a clean log has no boot report"
head -n 120 "$f" > "$tmp/nomark"
echo "$early" >> "$tmp/nomark"
out=$(kernel_problems_before "$tmp/nomark" "$mark")
[ $? = 0 ] && [ "$out" = "121:$early" ]
ok $? "a log that never reached user space: its report counts as a boot report"
kernel_problems_before "$tmp/does-not-exist" "$mark" > /dev/null 2>&1
[ $? = 2 ]
ok $? "kernel_problems_before: an unreadable log is an error"

# A log whose ring buffer wrapped: its start (and its mark) are gone, so a
# report in it is no boot report, and the runner fails the log as not whole.
kernel_log_whole "$f"
ok $? "a log from boot is whole"
tail -n +$((init + 1)) "$f" > "$tmp/wrapped"
echo "$early" >> "$tmp/wrapped"
kernel_log_whole "$tmp/wrapped"
[ $? = 1 ]
ok $? "a log that does not begin at 0.000000 wrapped"
out=$(kernel_problems_before "$tmp/wrapped" "$mark")
[ $? = 1 ] && [ -z "$out" ]
ok $? "a report in a wrapped log without its mark is not a boot report${out:+: $out}"
kernel_log_whole "$tmp/does-not-exist"
[ $? = 1 ]
ok $? "kernel_log_whole: an unreadable log is not whole"

echo "1..$n"
[ "$failed" = 0 ]
