#!/bin/sh
# Boot a Debian kernel in QEMU (TCG by default) and run a command inside it.
#
# usage: run-vm.sh [--out DIR] [--timeout SECONDS] [--interactive] KRELEASE [-- CMD...]
#
# KRELEASE is an installed Debian kernel (/boot/vmlinuz-KRELEASE), or
# debug-6.12: the debug kernel scripts/debug-kernel.sh built and cached (the
# guest's `uname -r` is then that kernel's release, e.g. 6.12.117-vfmig-debug,
# and its modules directory is the guest's /lib/modules/<release>).
# The guest sees the host's / read-only (so CMD runs host binaries at their
# host paths, from the current directory) and DIR read-write at the same path.
# Exit status: the command's, unless the guest hung, crashed or its kernel log
# shows a kernel report (any pattern of tests/vm/kernel-problems.sh: oops
# headers, call traces, BUG/WARNING, lock-ups, stalls, sanitizers, lockdep,
# corruption) or a taint other than the out-of-tree/unsigned-module ones;
# then non-zero with a message on stderr.  DIR/verdict says the same for
# whoever counts results: "ok" when the guest finished with a whole, clean
# kernel log and allowed taints (whatever the command's status), else the
# reason.
# Logs: DIR/console.log (serial console), DIR/dmesg.txt, DIR/tainted.
#
# Environment: VFMIG_ACCEL=tcg|kvm (default tcg: nested KVM hangs on some
# hosts), VFMIG_VM_MEM (MiB, default 2048), VFMIG_VM_SMP (default 2),
# VFMIG_CPU (the -cpu model; default max under TCG, host under KVM).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

out=""
timeout=900
interactive=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--interactive) interactive=1; shift ;;
	-h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "run-vm: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "usage: run-vm.sh [options] KRELEASE [-- CMD...]" >&2; exit 2; }
krel=$1
shift
[ "${1:-}" = -- ] && shift

# modbase: where the guest's /lib/modules comes from ("" = the host's own).
case $krel in
debug-6.12)
	dk=$(sh "$top/scripts/debug-kernel.sh" dir) || exit 1
	kernel=$dk/bzImage
	modbase=$dk/modules
	krel=$(cat "$dk/release")
	;;
*)
	kernel=/boot/vmlinuz-$krel
	modbase=""
	;;
esac
[ -r "$kernel" ] || { echo "run-vm: no kernel image $kernel (make deps)" >&2; exit 1; }

[ -n "$out" ] || out=$top/build/vm/$krel-$$
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -f "$out/status" "$out/dmesg.txt" "$out/tainted" "$out/console.log" "$out/kernel-problems.txt" \
	"$out/verdict"

initrd=$top/build/vm/initramfs-$krel.cpio.gz
if [ ! -s "$initrd" ] || [ "$here/init" -nt "$initrd" ] || [ "$here/mkinitramfs.sh" -nt "$initrd" ] ||
	{ [ -n "$modbase" ] && [ "$modbase/lib/modules/$krel/modules.dep" -nt "$initrd" ]; }; then
	sh "$here/mkinitramfs.sh" -d "${modbase:-/}" "$krel" "$initrd"
fi

# The command runs in the guest from the current directory.
pwd > "$out/cwd"
{
	echo "cd '$(pwd)' || exit 125"
	if [ $# -gt 0 ]; then
		for a in "$@"; do
			printf "'%s' " "$(printf '%s' "$a" | sed "s/'/'\\\\''/g")"
		done
		echo
	else
		echo true
	fi
} > "$out/cmd.sh"

accel=${VFMIG_ACCEL:-tcg}
case $accel in
tcg) cpu=max ;;
kvm) cpu=host ;;
*) echo "run-vm: VFMIG_ACCEL must be tcg or kvm" >&2; exit 2 ;;
esac
cpu=${VFMIG_CPU:-$cpu}

# no_timer_check: on a loaded host a TCG guest's IO-APIC timer check can fail
# ("Kernel panic - not syncing: IO-APIC + timer doesn't work!", seen here with
# a load average of 11 on 2 cores); the guest's timer works, skip the check.
# log_buf_len: the whole run's kernel log must fit (Debian's 128 KiB wrapped
# during make check's suites, dropping their first reports; a make check
# logs about 150 KiB).  busybox's dmesg reads at most 16 MiB of formatted
# text, more than 8 MiB of records can give, so what it reads begins at
# boot unless the buffer wrapped; the runner fails a log that did.
append="console=ttyS0 panic=-1 oops=panic loglevel=3 quiet no_timer_check log_buf_len=8M"
append="$append VFMIG_OUT=$out VFMIG_INTERACTIVE=$interactive"
# The guest mounts this over its /lib/modules/<release> (tests/vm/init).
[ -z "$modbase" ] || append="$append VFMIG_MODBASE=$modbase"
set -- qemu-system-x86_64 -accel "$accel" -cpu "$cpu" \
	-m "${VFMIG_VM_MEM:-2048}" -smp "${VFMIG_VM_SMP:-2}" \
	-nodefaults -no-reboot -display none \
	-kernel "$kernel" -initrd "$initrd" -append "$append" \
	-fsdev local,id=host,path=/,readonly=on,security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=host,mount_tag=host \
	-fsdev local,id=out,path="$out",security_model=none,multidevs=remap \
	-device virtio-9p-pci,fsdev=out,mount_tag=out \
	-device virtio-rng-pci

if [ "$interactive" = 1 ]; then
	exec "$@" -serial mon:stdio
fi

set +e
timeout -k 10 "$timeout" "$@" -serial stdio < /dev/null 2>&1 | tee "$out/console.log"
set -e

fail() {
	echo "run-vm: $krel: $*" >&2
	echo "$*" > "$out/verdict"
	exit 1
}
if [ ! -f "$out/status" ]; then
	# The console only shows what the guest printed before it died.
	. "$here/kernel-problems.sh"
	if kernel_problems "$out/console.log" > "$out/kernel-problems.txt"; then
		echo "run-vm: $krel: kernel report on the console:" >&2
		head -n 20 "$out/kernel-problems.txt" >&2
	fi
	if grep -q 'Kernel panic' "$out/console.log" 2>/dev/null; then
		fail "guest kernel panicked; see $out/console.log"
	fi
	fail "guest did not finish within ${timeout}s or crashed (no status); see $out/console.log"
fi
status=$(cat "$out/status")

# Kernel log: any report (tests/vm/kernel-problems.sh) is a failed run,
# whatever the command said.
. "$here/kernel-problems.sh"
set +e
kernel_problems "$out/dmesg.txt" > "$out/kernel-problems.txt"
rc=$?
set -e
case $rc in
0)
	echo "run-vm: $krel: kernel log shows problems ($out/dmesg.txt):" >&2
	head -n 20 "$out/kernel-problems.txt" >&2
	echo "kernel report (see $out/kernel-problems.txt)" > "$out/verdict"
	exit 1
	;;
2) fail "cannot read the guest's kernel log $out/dmesg.txt" ;;
esac
kernel_log_whole "$out/dmesg.txt" ||
	fail "the guest's kernel log wrapped (it does not begin at boot); reports may be lost"
# Allowed taints: O (out-of-tree, 4096) and E (unsigned, 8192).
tainted=$(cat "$out/tainted" 2>/dev/null || echo missing)
case $tainted in
''|*[!0-9]*) fail "cannot read the guest's taint flags" ;;
esac
if [ $((tainted & ~(4096 | 8192))) -ne 0 ]; then
	fail "kernel tainted ($tainted) beyond out-of-tree/unsigned; see $out/dmesg.txt"
fi
echo ok > "$out/verdict"
exit "$status"
