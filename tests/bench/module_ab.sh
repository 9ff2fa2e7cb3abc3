#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Two builds of vfmig.ko against each other, in one boot: each round loads
# one, saves a device's state to a tmpfs file and resumes it into a second
# device, unloads it, then does the same with the other; the order flips
# every round (A B, B A, ...) so that neither build always runs first.  The
# host's speed drifts over minutes under TCG (Documentation/benchmark.md,
# "Comparing like with like"), so only builds compared round by round, in
# the same boot, tell a change of a few percent from the drift.
#
# Usage, inside a guest (make vm-shell, or tests/vm/run-vm.sh ... --):
#   tests/bench/module_ab.sh A.ko B.ko
# Environment: AB_ROUNDS (default 6), AB_MIB (state MiB, default 256),
# AB_DATA_MIB (data section MiB, default 8), AB_FILL (the source's fill,
# default random), AB_DEST (the destination's state before the resume:
# zero, a fresh device's, or seeded, a state of its own; default zero),
# AB_KNOBS ("name=value ..." set on both devices; default chunk_offload=1
# hash_offload=1, what the engine sets for a file stream with a second CPU).
# Prints one line per run and the medians of save and resume wall times.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
V=$top/user/build/vfmig
S=/sys/bus/mdev/devices
TIMEIT=$here/build/timeit
a_ko=${1:?usage: module_ab.sh A.ko B.ko}
b_ko=${2:?usage: module_ab.sh A.ko B.ko}
rounds=${AB_ROUNDS:-6} mib=${AB_MIB:-256} data=${AB_DATA_MIB:-8}
fill=${AB_FILL:-random} dest=${AB_DEST:-zero}
knobs=${AB_KNOBS:-chunk_offload=1 hash_offload=1}
case $dest in zero | seeded) ;; *) echo "module_ab: AB_DEST is zero or seeded, not '$dest'" >&2; exit 2 ;; esac
T=$(mktemp -d "${TMPDIR:-/run}/module_ab.XXXXXX")
trap 'rm -rf "$T"' EXIT

die() { echo "module_ab: FAIL: $*" >&2; exit 1; }
. "$here/lib.sh"	# knob, median
# wall NS of CMD..., its output dropped; dies if it fails.
wall() {
	"$TIMEIT" "$@" > /dev/null 2> "$T/err" || die "$*: $(cat "$T/err")"
	sed -n 's/^timeit wall-ns \([0-9]*\).*/\1/p' "$T/err"
}

# run LABEL KO: one save and resume with that build; appends to $T/LABEL.
run() {
	VFMIG_MODULE=$2 "$V" module load > /dev/null || die "load $2"
	src=$("$V" mdev create vfmig-large) && dst=$("$V" mdev create vfmig-large) ||
		die "mdev create"
	for u in "$src" "$dst"; do
		knob "$u" state_size $((mib << 20))
		knob "$u" data_size $((data << 20))
		knob "$u" dirty_rate 0
		for kv in $knobs; do knob "$u" "${kv%%=*}" "${kv#*=}"; done
	done
	knob "$src" fill "$fill"
	knob "$src" seed 4242
	[ "$dest" = zero ] || knob "$dst" seed 77
	sum=$(knob "$src" checksum)
	s=$(wall "$V" save --offline -q "$src" -o "$T/stream")
	r=$(wall "$V" resume -q "$dst" -i "$T/stream")
	[ "$(knob "$dst" checksum)" = "$sum" ] || die "$1: checksum after resume"
	rm -f "$T/stream"
	echo "$((s / 1000000)) $((r / 1000000))" >> "$T/$1"
	echo "module_ab: round $i $1 save $((s / 1000000)) ms resume $((r / 1000000)) ms"
	"$V" mdev remove "$src" && "$V" mdev remove "$dst" || die "mdev remove"
	"$V" module unload > /dev/null || die "unload $2"
}

lsmod | grep -q '^vfmig ' && { "$V" module unload > /dev/null || die "unload"; }
echo "module_ab: $rounds rounds, $mib MiB of $fill, data section $data MiB, destination $dest, knobs: $knobs"
echo "module_ab: A $a_ko"
echo "module_ab: B $b_ko"
i=1
while [ "$i" -le "$rounds" ]; do
	if [ $((i % 2)) = 1 ]; then
		run A "$a_ko"; run B "$b_ko"
	else
		run B "$b_ko"; run A "$a_ko"
	fi
	i=$((i + 1))
done
for l in A B; do
	echo "module_ab: $l median save $(cut -d' ' -f1 "$T/$l" | median) ms, resume $(cut -d' ' -f2 "$T/$l" | median) ms"
done
