#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench`: build the module for KRELEASE, boot a VM and run bench.sh in
# it; the figures land in build/bench/bench.json (and bench.txt), the plots
# (plot.py, gnuplot) in build/bench/*.png.
# usage: run.sh KRELEASE
# Environment: VFMIG_VM_MEM (default 3072 MiB: the zero-page rows' two 1 GiB
# devices, or 32 devices of 32 MiB for the parallel rows; before them two
# 256 MiB devices, their 64 MiB data sections and the 2 x 256 MiB memcpy
# buffers, not at once; a nested QEMU for the QEMU rows), BENCH_TIMEOUT
# (seconds, default 2400: the QEMU rows move the trapped state at a few
# MB/s), BENCH_REPEAT, BENCH_MIB, BENCH_SMALL_MIB, BENCH_QEMU, BENCH_CASES,
# BENCH_MAPCOST, BENCH_SWEEP, BENCH_SWEEP_RUNS, BENCH_SWEEP_MIB, BENCH_ZERO,
# BENCH_ZERO_MIB, BENCH_ZERO_ROUNDS, BENCH_PARALLEL, BENCH_PAR_MIB, BENCH_PAR_COUNTS,
# BENCH_COMPRESS, BENCH_Z_MIB, BENCH_Z_REPEAT (bench.sh, parallel.sh, compress_bench.sh),
# VFMIG_CPU (default max,-erms under TCG, see below), VFMIG_ACCEL.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
k=${1:?usage: run.sh KRELEASE}
out=$top/build/bench
mkdir -p "$out"
sh "$top/scripts/build-module.sh" "$k" "/usr/src/linux-headers-$k" > "$out/module-build.log" 2>&1 ||
	{ cat "$out/module-build.log"; exit 1; }
rm -f "$out/bench.json" "$out/bench.txt" "$out"/*.png "$out"/*.dat "$out"/*.gp
export VFMIG_VM_MEM=${VFMIG_VM_MEM:-3072}
# TCG runs `rep movsb` one byte per translated-block run, so with ERMS advertised every
# kernel copy (the device's memcpy, copy_to/from_user) runs at a fraction of
# what glibc's SSE memcpy reaches, a handicap no ERMS hardware has.  Without
# ERMS the kernel copies with rep movsq / 8-byte moves, which TCG runs at
# memcpy speed; glibc's memcpy, the yardstick, is not affected.  VFMIG_CPU=max
# measures with ERMS (Documentation/benchmark.md has both).
if [ "${VFMIG_ACCEL:-tcg}" = tcg ]; then
	export VFMIG_CPU=${VFMIG_CPU:-max,-erms}
fi
# The guest gets the BENCH_* settings on its command line through env(1).
set -- env BENCH_REPEAT="${BENCH_REPEAT:-3}" BENCH_MIB="${BENCH_MIB:-256}" \
	BENCH_SMALL_MIB="${BENCH_SMALL_MIB:-16}" BENCH_QEMU="${BENCH_QEMU:-1}" \
	BENCH_MAPCOST="${BENCH_MAPCOST:-1}" BENCH_SWEEP="${BENCH_SWEEP:-1}" \
	BENCH_PARALLEL="${BENCH_PARALLEL:-1}" BENCH_PAR_MIB="${BENCH_PAR_MIB:-32}" \
	BENCH_PAR_COUNTS="$(echo "${BENCH_PAR_COUNTS:-8 16}" | tr ' ' ,)" \
	BENCH_SWEEP_RUNS="${BENCH_SWEEP_RUNS:-5}" BENCH_SWEEP_MIB="${BENCH_SWEEP_MIB:-64}" \
	BENCH_ZERO="${BENCH_ZERO:-1}" BENCH_ZERO_MIB="${BENCH_ZERO_MIB:-1024}" \
	${BENCH_ZERO_ROUNDS:+BENCH_ZERO_ROUNDS=$BENCH_ZERO_ROUNDS} \
	BENCH_COMPRESS="${BENCH_COMPRESS:-1}" BENCH_Z_MIB="${BENCH_Z_MIB:-128}" \
	BENCH_Z_REPEAT="${BENCH_Z_REPEAT:-5}" \
	${BENCH_CASES+BENCH_CASES=$(echo "$BENCH_CASES" | tr ' ' ,)} \
	sh "$top/tests/bench/bench.sh" "$out"
# The guest's "bench:" lines show up as they come; everything is in vm.log.
echo "bench: booting Linux $k (${VFMIG_ACCEL:-tcg}, -cpu ${VFMIG_CPU:-host}, ${VFMIG_VM_MEM} MiB); this takes several minutes"
{ sh "$top/tests/vm/run-vm.sh" --out "$out" --timeout "${BENCH_TIMEOUT:-2400}" "$k" -- "$@" \
	2>&1 || echo "run-vm exit status $?"; } | tee "$out/vm.log" | grep --line-buffered '^bench:' | sed -u 's/\r//' || true
if grep -q '^run-vm exit status' "$out/vm.log"; then
	tail -n 30 "$out/vm.log" | tr -d '\r' >&2
	echo "bench: FAILED (VM log: $out/vm.log, console: $out/console.log)" >&2
	exit 1
fi
[ -s "$out/bench.json" ] && [ -s "$out/bench.txt" ] ||
	{ echo "bench: the VM wrote no figures; see $out/vm.log" >&2; exit 1; }
# The plots, on the host (gnuplot from scripts/deps.sh), beside the JSON.
python3 "$top/tests/bench/plot.py" "$out/bench.json" "$out" > "$out/plot.log" 2>&1 ||
	{ cat "$out/plot.log" >&2; echo "bench: FAILED to draw the plots" >&2; exit 1; }
echo
cat "$out/bench.txt"
echo
echo "JSON: $out/bench.json"
echo "plots: $(cd "$out" && ls ./*.png | sed 's|^\./||' | tr '\n' ' ')(in $out)"
