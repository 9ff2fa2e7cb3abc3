# SPDX-License-Identifier: GPL-2.0
# What counts as a kernel report in a guest's log: sourced by run-vm.sh and
# by tests/vm/kernel-problems_test.sh, so the runner and its test share one
# list.  Every way a Linux 6.1/6.12 kernel reports a fault, a warning, a
# lock-up or a corruption prints at least one line matching one of these
# extended regular expressions (one per line, '#' lines are comments).
#
#   kernel_problems FILE   print the matching lines of FILE (grep -n style);
#                          status 0 when there is at least one, 1 when the
#                          log is clean, 2 when FILE cannot be read.
#   kernel_problems_before FILE MARK
#                          the same for the first report only, and only if
#                          it comes before the first line matching the
#                          extended regular expression MARK (anywhere when
#                          no line does and the log is whole; never in a
#                          log that wrapped, whose mark may be gone).
#   kernel_log_whole FILE  status 0 when FILE begins at boot (its first line
#                          stamped 0.000000), 1 when the ring buffer wrapped.

KERNEL_PROBLEM_PATTERNS='
# Any oops header: "<what>: 0000 [#1] PREEMPT SMP NOPTI" (divide error,
# invalid opcode, general protection fault, stack segment, double fault...
# on 6.1 a divide error has no "Oops" word at all).
: [0-9a-f]{4} \[#[0-9]+\]
\[#[0-9]+\] (PREEMPT|SMP|KASAN|PTI|NOPTI)
Oops
Call Trace:
general protection fault
divide error
invalid opcode
kernel BUG at
BUG:
WARNING:
------------\[ cut here \]------------
Kernel panic
Unable to handle kernel
# every register/stack dump, whatever printed it
Modules linked in:
Hardware name:
# hung tasks, lock-ups, RCU stalls
INFO: task .* blocked for more than
blocked for more than [0-9]+ seconds
soft lockup
hard LOCKUP
[Hh]ardlockup
NMI watchdog: .*LOCKUP
self-detected stall
detected stalls? on CPU
rcu: INFO: .*stall
rcu_(sched|preempt|bh) .*stall
# sanitizers and debug checkers
KFENCE:
KASAN:
UBSAN:
kmemleak:
# lockdep and friends (besides their BUG:/WARNING: header)
possible circular locking dependency
inconsistent lock state
possible recursive locking
suspicious RCU usage
sleeping function called from invalid context
lock held when returning to user space
bad unlock balance
# corruption detectors
list_[a-z_]* corruption
[Ll]ist corruption
list_add double add
refcount_t:
BUG [^ ]+ \((Not tainted|Tainted)
Poison overwritten
Redzone overwritten
Freepointer corrupt
slab_out_of_bounds
use-after-free
double-free
'

# The patterns as one extended regular expression.
kernel_problem_regex() {
	printf '%s\n' "$KERNEL_PROBLEM_PATTERNS" | sed -e '/^#/d' -e '/^$/d' | paste -sd '|' -
}

kernel_problems() {
	[ -r "$1" ] || return 2
	grep -naE "$(kernel_problem_regex)" "$1"
}

# A report before MARK (user space starting, a module loading) was not
# caused by what runs after it, yet it spends KASAN's one report and turns
# lockdep off for the rest of the boot: the runners boot once more (seen:
# a KASAN wild-memory-access in an interrupt during early boot under TCG).
kernel_problems_before() {
	[ -r "$1" ] || return 2
	_kp_mark=$(grep -naE -m1 "$2" "$1" | cut -d: -f1)
	if [ -z "$_kp_mark" ]; then
		kernel_log_whole "$1" || return 1
		_kp_mark=$(($(wc -l < "$1") + 1))
	fi
	head -n $((_kp_mark - 1)) "$1" | grep -naE -m1 "$(kernel_problem_regex)"
}

kernel_log_whole() {
	head -n 1 "$1" 2>/dev/null | grep -qE '^\[ *0\.000000\] '
}
