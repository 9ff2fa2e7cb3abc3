#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make bench` guest side (runs in the VM as root): the guest's memcpy
# bandwidth, then offline save+resume throughput of `vfmig migrate` for a
# 256 MiB device state per mmap layout, plus a 16 MiB run per layout so the
# engine's peak RSS can be compared across state sizes.
#
# usage: bench.sh OUTDIR     writes OUTDIR/bench.json and OUTDIR/bench.txt
# Environment: BENCH_REPEAT (migrations per case, best counts; default 3),
# BENCH_MIB (big state in MiB, default 256), BENCH_SMALL_MIB (default 16).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: bench.sh OUTDIR}
V=$top/user/build/vfmig
S=/sys/bus/mdev/devices
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}
repeat=${BENCH_REPEAT:-3}
big=$(( ${BENCH_MIB:-256} << 20 ))
small=$(( ${BENCH_SMALL_MIB:-16} << 20 ))
data=$((64 << 20))	# data section: 64 MiB, the device's maximum
T=${TMPDIR:-/tmp}/bench.$$
mkdir -p "$T" "$out"

die() { echo "bench: FAIL: $*" >&2; exit 1; }
knob() { # knob UUID NAME [VALUE]
	if [ $# -eq 3 ]; then
		echo "$3" > "$S/$1/vfmig/$2" || die "cannot set $2=$3 on $1"
	else
		IFS= read -r v < "$S/$1/vfmig/$2" && echo "$v"
	fi
}
# json_num FILE KEY: the number after "KEY": in a one-line JSON object.
json_num() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1"; }
now_ns() { date +%s%N; }
cleanup() {
	for u in $(ls "$S" 2>/dev/null); do "$V" mdev remove "$u" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

echo "bench: Linux $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
"$V" module load || die "module load"

# 1. The yardstick, before any device holds memory.
"$here/build/memcpy_bench" $((big >> 20)) 5 > "$T/memcpy.json" || die "memcpy_bench"
memcpy=$(json_num "$T/memcpy.json" best-mbps)
memcpy_med=$(json_num "$T/memcpy.json" median-mbps)
echo "bench: memcpy $((big >> 20)) MiB: best $memcpy MB/s, median $memcpy_med MB/s"

# 2. Cases: NAME SIZE KNOBS...  (knobs set in this order, before the device is opened)
cases="mmap:whole trapped:none sparse:sparse4"
layout_knobs() {
	case $1 in
	whole) echo "mmap_layout=whole data_offset_policy=fixed" ;;
	none) echo "mmap_layout=none data_offset_policy=fixed" ;;
	sparse4) echo "mmap_layout=sparse:4 data_offset_policy=straddle" ;;
	esac
}

rows=""
printf '%s\n' "case size-mib layout best-mbps ratio engine-mbps peak-rss-kib runs-mbps" > "$T/rows"
run_case() { # run_case NAME SIZE LAYOUT
	name=$1 size=$2 layout=$3
	a=$("$V" mdev create vfmig-large) || die "mdev create"
	b=$("$V" mdev create vfmig-large) || die "mdev create"
	for u in "$a" "$b"; do
		knob "$u" state_size "$size"
		knob "$u" data_size "$data"
		for kv in $(layout_knobs "$layout"); do knob "$u" "${kv%%=*}" "${kv#*=}"; done
		knob "$u" dirty_rate 0
	done
	knob "$a" seed 4242
	sum=$(knob "$a" checksum)
	best_ns=0 best_eng=0 rss=0 runs=""
	i=0
	while [ "$i" -lt "$repeat" ]; do
		# Alternate directions: the stopped source becomes the next destination.
		if [ $((i % 2)) = 0 ]; then from=$a to=$b; else from=$b to=$a; fi
		t0=$(now_ns)
		"$V" migrate --offline --json --from "$from" --to "$to" > "$T/json" 2> "$T/err" ||
			die "$name: migrate failed: $(cat "$T/err") $(cat "$T/json")"
		t1=$(now_ns)
		grep -q '"status": "completed"' "$T/json" || die "$name: $(cat "$T/json")"
		got=$(knob "$to" checksum)
		[ "$got" = "$sum" ] || die "$name: checksum after migrate $got != source $sum"
		[ "$(knob "$to" device_state)" = 1 ] || die "$name: destination not running"
		ns=$((t1 - t0))
		eng=$(json_num "$T/json" total-time)
		r=$(json_num "$T/json" peak-rss-kib)
		[ -n "$r" ] || die "$name: no peak-rss-kib in $(cat "$T/json")"
		[ "$r" -gt "$rss" ] && rss=$r
		if [ "$best_ns" = 0 ] || [ "$ns" -lt "$best_ns" ]; then best_ns=$ns best_eng=$eng; fi
		runs="$runs${runs:+,}$(awk -v b="$size" -v ns="$ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')"
		i=$((i + 1))
	done
	"$V" mdev remove "$a" && "$V" mdev remove "$b" || die "mdev remove"
	mbps=$(awk -v b="$size" -v ns="$best_ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
	eng_mbps=$(awk -v b="$size" -v ms="$best_eng" 'BEGIN { if (ms > 0) printf "%.1f", b / (ms / 1e3) / 1e6; else print 0 }')
	ratio=$(awk -v m="$mbps" -v c="$memcpy" 'BEGIN { printf "%.3f", m / c }')
	echo "bench: $name $((size >> 20)) MiB: best $mbps MB/s (${ratio}x memcpy), engine $eng_mbps MB/s, peak RSS $rss KiB, runs [$runs], checksum $sum"
	printf '%s\n' "$name $((size >> 20)) $layout $mbps $ratio $eng_mbps $rss $runs" >> "$T/rows"
	rows="$rows${rows:+, }{\"case\": \"$name\", \"state-bytes\": $size, \"layout\": \"$(layout_knobs "$layout")\", \"data-size\": $data, \"runs\": $repeat, \"best-ns\": $best_ns, \"mbps\": $mbps, \"ratio-to-memcpy\": $ratio, \"engine-total-time-ms\": $best_eng, \"engine-mbps\": $eng_mbps, \"peak-rss-kib\": $rss, \"runs-mbps\": [$runs], \"checksum\": \"$sum\"}"
}

for c in $cases; do run_case "${c%%:*}" "$big" "${c#*:}"; done
for c in $cases; do run_case "${c%%:*}" "$small" "${c#*:}"; done
"$V" module unload || die "module unload"

{
	printf '{"date": "%s", "kernel": "%s", "cpus": %s, "mem-mib": %s, ' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -r)" "$(nproc)" \
		"$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)"
	printf '"mb": 1000000, "memcpy": %s, "targets": {"mmap-ratio": 0.8, "trapped-ratio": 0.5}, "cases": [%s]}\n' \
		"$(cat "$T/memcpy.json")" "$rows"
} > "$out/bench.json"

{
	echo "vfmig bench on Linux $(uname -r) ($(nproc) CPUs), MB = 10^6 bytes"
	echo "memcpy $((big >> 20)) MiB: best $memcpy MB/s, median $memcpy_med MB/s"
	echo "save+resume (vfmig migrate --offline), best of $repeat, wall time of the command:"
	awk -v m="$memcpy" 'NR == 1 { printf "%-8s %8s %-8s %10s %8s %11s %12s  %s\n", "case", "state", "layout", "MB/s", "xmemcpy", "engineMB/s", "peakRSS KiB", "target"; next }
		{ tgt = $1 == "mmap" ? ">= 0.8x" : $1 == "trapped" ? ">= 0.5x" : "-"
		  printf "%-8s %5d MiB %-8s %10s %8s %11s %12s  %s\n", $1, $2, $3, $4, $5, $6, $7, tgt }' "$T/rows"
} > "$out/bench.txt"
cat "$out/bench.txt"
