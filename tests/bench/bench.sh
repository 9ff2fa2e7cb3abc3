#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make bench` guest side (runs in the VM as root): the guest's memcpy
# bandwidth, then offline save+resume throughput of `vfmig migrate` for a
# 256 MiB device state per mmap layout and through protocol v2's data
# files, the same through a file (`save` then
# `resume`) and over TCP on loopback (`send` to `receive`), plus a 16 MiB run
# per layout so the engine's peak RSS can be compared across state sizes.
# The file and TCP rows are also set against the raw path in the same run
# (dd into and out of a tmpfs file; a loopback socket copy; same bytes, same
# block size).  Then what mapping a 64 MiB data section costs (open, map,
# RSS after touching a quarter), and QEMU 7.2's own v1 client saving the
# same 256 MiB device against `vfmig save --offline` per layout; the
# downtime sweep; a 90%-zero state against a random one (BENCH_ZERO_MIB);
# 8 and 16 devices in lanes (parallel.sh).
#
# usage: bench.sh OUTDIR     writes OUTDIR/bench.json and OUTDIR/bench.txt
# Environment: BENCH_REPEAT (migrations per case, best and median shown, a
# file or TCP row's raw run beside each; default 3),
# BENCH_MIB (big state in MiB, default 256), BENCH_SMALL_MIB (default 16),
# BENCH_QEMU (0 leaves the QEMU rows out; default 1, skipped without QEMU),
# BENCH_PARALLEL (0 leaves the parallel rows out; BENCH_PAR_MIB and
# BENCH_PAR_COUNTS: parallel.sh).
# BENCH_ZERO (0 leaves the zero-page rows out; BENCH_ZERO_MIB, default 1024,
# and BENCH_ZERO_ROUNDS, default BENCH_REPEAT but at least 5: section 6).
# BENCH_COMPRESS (0 leaves the compression rows out; BENCH_Z_MIB, default 128,
# and BENCH_Z_REPEAT, default 5: compress_bench.sh).
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
TIMEIT=$here/build/timeit
T=${TMPDIR:-/tmp}/bench.$$
mkdir -p "$T" "$out"

die() { echo "bench: FAIL: $*" >&2; exit 1; }
. "$here/lib.sh"	# knob, median, json_num
cleanup() {
	for u in $(ls "$S" 2>/dev/null); do "$V" mdev remove "$u" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT

if grep -qw erms /proc/cpuinfo; then erms=true; else erms=false; fi
echo "bench: Linux $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB, ERMS $erms"
"$V" module load || die "module load"

# 1. The yardstick, before any device holds memory.
# It runs again after the migrations; the better of the two runs counts, so
# a neighbour's load during one of them does not flatter the ratios.
memcpy_run() { # memcpy_run WHEN
	"$here/build/memcpy_bench" $((big >> 20)) 7 > "$T/memcpy-$1.json" || die "memcpy_bench"
	echo "bench: memcpy $((big >> 20)) MiB ($1): best $(json_num "$T/memcpy-$1.json" best-mbps) MB/s, median $(json_num "$T/memcpy-$1.json" median-mbps) MB/s; rep movsb $(json_num "$T/memcpy-$1.json" rep-movsb-mbps) MB/s, rep movsq $(json_num "$T/memcpy-$1.json" rep-movsq-mbps) MB/s"
}
memcpy_run before

# 2. Cases NAME:LAYOUT:DATA_MIB:HOW.  The data section is 8 MiB; "mmap-d64"
# maps the device's maximum, 64 MiB (its pages fault in on first touch).  HOW: migrate (both ends in one process),
# file (save to a tmpfs file, then resume from it: the two wall times
# added), tcp (send to a receive on loopback; send's wall time, which ends
# with the receiver's verdict, so after the destination runs).
# "v2": the same device speaking protocol v2 only, its state through the
# saving and resuming data files instead of the v1 region (protocol.md).
# "direct": v1 with data_window=direct, PAGES payloads as chunks of device
# memory (device.md, "The direct data window"); "direct-none" trapped.
cases="mmap:whole:8:migrate trapped:none:8:migrate sparse:sparse4:8:migrate v2:v2:8:migrate"
big_only="mmap-d64:whole:64:migrate mmap-file:whole:8:file trapped-file:none:8:file mmap-tcp:whole:8:tcp v2-file:v2:8:file v2-tcp:v2:8:tcp direct:direct:8:migrate direct-file:direct:8:file direct-trapped-file:direct-none:8:file direct-tcp:direct:8:tcp"
# BENCH_CASES (set, even empty): only these NAME:LAYOUT:DATA_MIB:HOW (separated
# by spaces or commas), big state only.
if [ "${BENCH_CASES+set}" = set ]; then
	cases="" big_only=$(echo "$BENCH_CASES" | tr , ' ')
fi
ip link set lo up 2>/dev/null || true
layout_knobs() {
	case $1 in
	whole) echo "mmap_layout=whole data_offset_policy=fixed" ;;
	none) echo "mmap_layout=none data_offset_policy=fixed" ;;
	sparse4) echo "mmap_layout=sparse:4 data_offset_policy=straddle" ;;
	direct) echo "mmap_layout=whole data_offset_policy=fixed data_window=direct" ;;
	direct-none) echo "mmap_layout=none data_offset_policy=fixed data_window=direct" ;;
	v2) echo "protocol=v2" ;;
	esac
}
# timed FILE CMD...: run CMD under timeit, stdout to FILE; prints wall ns.
# The command's peak RSS is left in $T/rss.
timed() {
	f=$1
	shift
	"$TIMEIT" "$@" > "$f" 2> "$T/err" || die "$name: $* failed: $(cat "$T/err") $(cat "$f")"
	sed -n 's/^timeit .*maxrss-kib \([0-9]*\).*/\1/p' "$T/err" > "$T/rss"
	sed -n 's/^timeit wall-ns \([0-9]*\).*/\1/p' "$T/err"
}
# move HOW FROM TO: one offline migration; prints wall ns, the source
# side's --json in $T/json, the highest peak RSS of the commands in $T/rss2.
move() {
	case $1 in
	migrate)
		timed "$T/json" "$V" migrate --offline --json --from "$2" --to "$3"
		cp "$T/rss" "$T/rss2" ;;
	file)
		s_ns=$(timed "$T/json" "$V" save --offline --json "$2" -o "$T/stream")
		cp "$T/rss" "$T/rss2"
		r_ns=$(timed /dev/null "$V" resume -q "$3" -i "$T/stream")
		rm -f "$T/stream"
		[ "$(cat "$T/rss")" -gt "$(cat "$T/rss2")" ] && cp "$T/rss" "$T/rss2"
		echo $((s_ns + r_ns)) ;;
	tcp)
		"$TIMEIT" "$V" receive -q "$3" --listen 7790 --bind 127.0.0.1 2> "$T/recv.err" &
		rpid=$!
		i=0
		until ss -ltn 2>/dev/null | grep -q '127.0.0.1:7790'; do
			i=$((i + 1))
			[ "$i" -lt 50 ] || die "$name: receive does not listen: $(cat "$T/recv.err")"
			sleep 0.1
		done
		ns=$(timed "$T/json" "$V" send --offline --json "$2" 127.0.0.1:7790)
		cp "$T/rss" "$T/rss2"
		wait "$rpid" || die "$name: receive failed: $(cat "$T/recv.err")"
		r=$(sed -n 's/^timeit .*maxrss-kib \([0-9]*\).*/\1/p' "$T/recv.err")
		[ "$r" -gt "$(cat "$T/rss2")" ] && echo "$r" > "$T/rss2"
		echo "$ns" ;;
	esac
}

rows=""
printf '%s\n' "case size-mib layout best-mbps ratio engine-mbps peak-rss-kib save-only-mbps data-mib median-mbps median-ratio raw-mbps ratio-to-raw median-ratio-to-raw paired-ratio-to-raw" > "$T/rows"
# raw_once HOW SIZE BLOCK: the same bytes through the same path without
# vfmig, once: file = dd of SIZE bytes in BLOCK writes into a tmpfs file,
# then dd out of it in BLOCK reads (the engine writes and reads device data
# in whole chunks; the two wall times added, as the file rows add save and
# resume); tcp = sockcopy, BLOCK writes over loopback until the receiver has
# it all, the command's wall time (each side of the comparison starts one
# process); sockcopy's own clock, connect to the receiver's exit (the
# measure before session 16), is kept beside it in raw_clock_runs.  Leaves
# the wall ns in raw_ns and adds the run to raw_best, raw_runs,
# raw_clock_runs; sets raw_what.
raw_once() {
	case $1 in
	file)
		raw_what="dd bs=$(($3 >> 20))M into and out of a tmpfs file"
		w=$(timed /dev/null dd if=/dev/zero of="$T/raw" bs="$3" count=$(($2 / $3)))
		r=$(timed /dev/null dd if="$T/raw" of=/dev/null bs="$3")
		rm -f "$T/raw"
		raw_ns=$((w + r)) ;;
	tcp)
		# The command's wall time, fork to exit, as for dd and
		# for vfmig send: both pay a process start.
		raw_what="loopback socket, $(($3 >> 20)) MiB writes"
		raw_ns=$(timed "$T/sock.json" "$here/build/sockcopy" "$2" "$3")
		raw_clock_runs="$raw_clock_runs${raw_clock_runs:+,}$(awk -v b="$2" -v ns="$(json_num "$T/sock.json" wall-ns)" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')" ;;
	esac
	if [ "$raw_best" = 0 ] || [ "$raw_ns" -lt "$raw_best" ]; then raw_best=$raw_ns; fi
	raw_runs="$raw_runs${raw_runs:+,}$(awk -v b="$2" -v ns="$raw_ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')"
}
# raw_summary SIZE: raw_mbps (best), raw_med and raw_json from raw_once's runs.
raw_summary() {
	raw_mbps=$(awk -v b="$1" -v ns="$raw_best" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
	raw_med=$(echo "$raw_runs" | tr , ' ' | median)
	raw_json=", \"raw-path\": \"$raw_what\", \"raw-mbps\": $raw_mbps, \"raw-median-mbps\": $raw_med, \"raw-runs-mbps\": [$raw_runs], \"raw-own-clock-runs-mbps\": [$raw_clock_runs], \"ratio-to-raw\": @XRAW-$name@, \"median-ratio-to-raw\": @MXRAW-$name@, \"paired-ratios-to-raw\": [$(echo "$pairs" | tr ' ' ,)], \"paired-ratio-to-raw\": $pxraw"
}
run_case() { # run_case NAME SIZE LAYOUT DATA_MIB HOW
	name=$1 size=$2 layout=$3 data=$(($4 << 20)) how=$5 raw_json=""
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
	raw_best=0 raw_runs="" raw_clock_runs="" pairs=""
	i=0
	while [ "$i" -lt "$repeat" ]; do
		# Alternate directions: the stopped source becomes the next destination.
		if [ $((i % 2)) = 0 ]; then from=$a to=$b; else from=$b to=$a; fi
		# A file or TCP row runs its raw path in the same round, before
		# or after vfmig by turns: the host's speed drifts over minutes
		# here, and a pair sees the same host (the paired ratio).
		[ "$how" = migrate ] || [ $((i % 2)) = 0 ] || raw_once "$how" "$size" "$data"
		ns=$(move "$how" "$from" "$to")
		[ "$how" = migrate ] || [ $((i % 2)) = 1 ] || raw_once "$how" "$size" "$data"
		[ "$how" = migrate ] || pairs="$pairs${pairs:+ }$(awk -v r="$raw_ns" -v v="$ns" 'BEGIN { printf "%.3f", r / v }')"
		grep -q '"status": "completed"' "$T/json" || die "$name: $(cat "$T/json")"
		got=$(knob "$to" checksum)
		[ "$got" = "$sum" ] || die "$name: checksum after migrate $got != source $sum"
		[ "$(knob "$to" device_state)" = 1 ] || die "$name: destination not running"
		eng=$(json_num "$T/json" total-time)
		r=$(cat "$T/rss2")
		[ -n "$r" ] || die "$name: no peak RSS from timeit"
		[ "$r" -gt "$rss" ] && rss=$r
		if [ "$best_ns" = 0 ] || [ "$ns" -lt "$best_ns" ]; then best_ns=$ns best_eng=$eng; fi
		runs="$runs${runs:+,}$(awk -v b="$size" -v ns="$ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')"
		i=$((i + 1))
	done
	raw_mbps=- xraw=- med_xraw=- pxraw=-
	if [ "$how" != migrate ]; then
		pxraw=$(echo "$pairs" | median)
		raw_summary "$size"
	fi
	# Save alone (to /dev/null, best of 2) from the last destination, which
	# runs with the state: what the source device and the engine's save side
	# cost without the pipe and the destination.
	save_ns=0
	for i in 1 2; do
		ns=$(timed /dev/null "$V" save --offline -q "$to" -o /dev/null)
		if [ "$save_ns" = 0 ] || [ "$ns" -lt "$save_ns" ]; then save_ns=$ns; fi
	done
	save_mbps=$(awk -v b="$size" -v ns="$save_ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
	"$V" mdev remove "$a" && "$V" mdev remove "$b" || die "mdev remove"
	mbps=$(awk -v b="$size" -v ns="$best_ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
	eng_mbps=$(awk -v b="$size" -v ms="$best_eng" 'BEGIN { if (ms > 0) printf "%.1f", b / (ms / 1e3) / 1e6; else print 0 }')
	echo "bench: $name $((size >> 20)) MiB: best $mbps MB/s, engine $eng_mbps MB/s, save only $save_mbps MB/s, peak RSS $rss KiB, runs [$runs], checksum $sum"
	# The median run: the best alone flatters a noisy host.
	med=$(echo "$runs" | tr , ' ' | median)
	if [ "$raw_mbps" != - ]; then
		xraw=$(awk -v a="$mbps" -v b="$raw_mbps" 'BEGIN { printf "%.3f", a / b }')
		med_xraw=$(awk -v a="$med" -v b="$raw_med" 'BEGIN { printf "%.3f", a / b }')
		echo "bench: $name raw path ($raw_what): best $raw_mbps MB/s, median $raw_med MB/s, runs [$raw_runs]${raw_clock_runs:+ (its own clock, connect to exit: [$raw_clock_runs])}; vfmig best/best $xraw, median/median $med_xraw, paired $pxraw (rounds [$pairs]) (target 0.8)"
	fi
	printf '%s\n' "$name $((size >> 20)) $layout $mbps - $eng_mbps $rss $save_mbps $4 $med - $raw_mbps $xraw $med_xraw $pxraw" >> "$T/rows"
	rows="$rows${rows:+, }{\"case\": \"$name\", \"how\": \"$how\", \"state-bytes\": $size, \"layout\": \"$(layout_knobs "$layout")\", \"data-size\": $data, \"runs\": $repeat, \"best-ns\": $best_ns, \"mbps\": $mbps, \"ratio-to-memcpy\": @RATIO-$name-$((size >> 20))@, \"median-mbps\": $med, \"median-ratio-to-memcpy-median\": @MRATIO-$name-$((size >> 20))@, \"save-only-mbps\": $save_mbps, \"engine-total-time-ms\": $best_eng, \"engine-mbps\": $eng_mbps, \"peak-rss-kib\": $rss, \"runs-mbps\": [$runs], \"checksum\": \"$sum\"$raw_json}"
}

for c in $cases $big_only; do
	IFS=: read -r n l d h <<-EOF
	$c
	EOF
	run_case "$n" "$big" "$l" "$d" "$h"
done
for c in $cases; do
	IFS=: read -r n l d h <<-EOF
	$c
	EOF
	run_case "$n" "$small" "$l" "$d" "$h"
done

# 3. What mapping a data section costs: open the device, map its whole
# 64 MiB section, touch a quarter of its pages, then the rest (mapcost.c).
# The run with the fastest open+map counts.
mapcost_json=null mapcost_line="mmap-cost: left out (BENCH_MAPCOST=0)"
if [ "${BENCH_MAPCOST:-1}" != 0 ]; then
u=$("$V" mdev create vfmig-large) || die "mdev create"
knob "$u" state_size 1048576
knob "$u" data_size 67108864
for kv in $(layout_knobs whole); do knob "$u" "${kv%%=*}" "${kv#*=}"; done
best=0
i=0
while [ "$i" -lt "$repeat" ]; do
	"$here/build/mapcost" "$u" 25 > "$T/map.json" || die "mapcost $u"
	t=$(awk -v a="$(json_num "$T/map.json" open-us)" -v b="$(json_num "$T/map.json" map-us)" 'BEGIN { print a + b }')
	if [ "$best" = 0 ] || awk -v t="$t" -v b="$best" 'BEGIN { exit !(t < b) }'; then
		best=$t
		cp "$T/map.json" "$T/map-best.json"
	fi
	i=$((i + 1))
done
"$V" mdev remove "$u" || die "mdev remove"
mapcost_json=$(cat "$T/map-best.json")
m() { json_num "$T/map-best.json" "$1"; }
mapcost_line="mmap-cost: 64 MiB data section (whole): open $(m open-us) us + map $(m map-us) us; mapped pages (mincore) $(m resident-kib-after-map) KiB after the map, $(m resident-kib-after-touch) KiB after touching 25% ($(m touch-us) us; VmRSS +$(m rss-kib-after-touch) KiB), the other 75% $(m touch-rest-us) us"
fi
echo "bench: $mapcost_line"

# 4. QEMU 7.2's own v1 client (and QEMU 10's v2 client on the same device
# speaking v2) against vfmig on the same device: a paused
# guest holding it saved to "exec:cat > /dev/null" (QEMU's total-time minus
# that of a RAM-only run of the same QEMU), then `vfmig save --offline` of
# the device to /dev/null (best of 2: wall time, and the engine's
# total-time, which like QEMU's leaves out process start-up).
# qemu_row NAME LAYOUT PROTOCOL RUNS [--qemu10]: one device of the big state,
# saved by QEMU (7.2's v1 client, or 10's v2 one; RUNS times each with and
# without the device, medians) and by `vfmig save`.
qemu_row() {
	name=$1 l=$2 proto=$3 qruns=$4 q10flag=$5
	u=$("$V" mdev create vfmig-large) || die "mdev create"
	knob "$u" state_size "$big"
	knob "$u" data_size 8388608
	for kv in $(layout_knobs "$l"); do knob "$u" "${kv%%=*}" "${kv#*=}"; done
	knob "$u" protocol "$proto"
	knob "$u" dirty_rate 0
	knob "$u" seed 4242
	# shellcheck disable=SC2086 # q10flag is empty or one word
	python3 "$here/qemu_bench.py" $q10flag "$u" 1800 "$qruns" > "$T/q.json" 2> "$T/err" ||
		die "$name: qemu_bench.py: $(tail -n 20 "$T/err")"
	q_ms=$(json_num "$T/q.json" qemu-device-ms)
	q_noise=false q_mark=""
	if grep -q '"below-noise": true' "$T/q.json"; then
		q_noise=true q_mark="  (QEMU's device time below the RAM-only runs' spread)"
	fi
	q_tot=$(json_num "$T/q.json" qemu-total-ms)
	q_ram=$(json_num "$T/q.json" qemu-ram-only-ms)
	v_ns=0 v_ms=0
	for i in 1 2; do
		ns=$(timed "$T/s.json" "$V" save --offline --json "$u" -o /dev/null)
		grep -q '"status": "completed"' "$T/s.json" || die "$name: $(cat "$T/s.json")"
		if [ "$v_ns" = 0 ] || [ "$ns" -lt "$v_ns" ]; then
			v_ns=$ns v_ms=$(json_num "$T/s.json" total-time)
		fi
	done
	"$V" mdev remove "$u" || die "mdev remove"
	v_wall_ms=$(awk -v ns="$v_ns" 'BEGIN { printf "%.1f", ns / 1e6 }')
	ratio=$(awk -v q="$q_ms" -v v="$v_ms" 'BEGIN { if (v > 0) printf "%.1f", q / v; else print 0 }')
	q_mbps=$(awk -v b="$big" -v ms="$q_ms" 'BEGIN { if (ms > 0) printf "%.1f", b / (ms / 1e3) / 1e6; else print 0 }')
	v_mbps=$(awk -v b="$big" -v ms="$v_ms" 'BEGIN { if (ms > 0) printf "%.1f", b / (ms / 1e3) / 1e6; else print 0 }')
	line=$(printf '%-14s %5d MiB %-8s %-7s %9s ms (%7s MB/s; total %s - RAM only %s)  vfmig %8s ms (%7s MB/s, wall %s ms)  QEMU/vfmig %6sx%s' \
		"$name" $((big >> 20)) "$l" "$([ -n "$q10flag" ] && echo "QEMU 10" || echo "QEMU")" "$q_ms" "$q_mbps" "$q_tot" "$q_ram" "$v_ms" "$v_mbps" "$v_wall_ms" "$ratio" "$q_mark")
	echo "bench: $line"
	qemu_lines="$qemu_lines$line
"
	qemu_json="$qemu_json${qemu_json:+, }{\"case\": \"$name\", \"state-bytes\": $big, \"layout\": \"$(layout_knobs "$l")\", \"protocol\": \"$proto\", \"qemu\": \"$([ -n "$q10flag" ] && echo 10 || echo 7.2)\", \"data-size\": 8388608, \"qemu-total-ms\": $q_tot, \"qemu-ram-only-ms\": $q_ram, \"qemu-device-ms\": $q_ms, \"qemu-below-noise\": $q_noise, \"qemu-mbps\": $q_mbps, \"vfmig-save-ms\": $v_ms, \"vfmig-save-wall-ms\": $v_wall_ms, \"vfmig-mbps\": $v_mbps, \"qemu-over-vfmig\": $ratio}"
}
qemu_json="" qemu_lines=""
Q=${VFMIG_QEMU:-/usr/bin/qemu-system-x86_64}
if [ "${BENCH_QEMU:-1}" = 0 ]; then
	echo "bench: QEMU rows left out (BENCH_QEMU=0)"
elif ! [ -x "$Q" ]; then
	echo "bench: QEMU rows left out: $Q not installed"
else
	for l in none whole sparse4; do
		qemu_row "qemu-$l" "$l" v1 1 ""
	done
	q10=$(ls /var/cache/vfmig/qemu10/*/qemu-system-x86_64 2>/dev/null | tail -n 1)
	if [ -x "${VFMIG_QEMU10:-$q10}" ]; then
		# QEMU 10 moves the state in about the time its RAM-only run
		# varies by: 3 runs each, medians.
		qemu_row qemu10-v2 none v2 3 --qemu10
	else
		echo "bench: QEMU 10 row left out: no QEMU 10 (make deps puts it in /var/cache/vfmig/qemu10)"
	fi
fi

# 5. Downtime against dirty rate (issue #13, section 5): live migrations of
# one BENCH_SWEEP_MIB (64) MiB device with --max-bandwidth SWEEP_BW (32 MiB/s)
# and a 300 ms downtime limit while the source dirties its memory at 0 to
# 1.0x that bandwidth; per rate, BENCH_SWEEP_RUNS runs (default 5): how many
# converged, how many kept the measured downtime within the limit, the
# medians, and each run's pending bytes per pre-copy query (for the plot).
# A round is one 100 ms rate window, so a round sends 3.2 MiB and the source
# dirties rate x 0.1 s meanwhile: the 64 MiB must come down to the threshold
# (bandwidth x limit, 9.6 MiB) within --max-iterations 50 rounds (5 s), which
# takes about 17 / (1 - x) rounds.  Above about 0.65x it cannot, the engine
# gives up and the source runs on ("did not converge").
SWEEP_BW=$((32 << 20))
sweep_mib=${BENCH_SWEEP_MIB:-64}
sweep_runs=${BENCH_SWEEP_RUNS:-5}
sweep_iters=50
sweep_json="" sweep_lines=""
# pending_of FILE: the "pending" array of a --json line, as "[a, b, ...]".
pending_of() { sed -n 's/.*"pending": \(\[[0-9, ]*\]\).*/\1/p' "$1"; }
if [ "${BENCH_SWEEP:-1}" = 0 ]; then
	sweep_rates="" sweep_lines="left out (BENCH_SWEEP=0)
"
else
	sweep_rates="0 0.1 0.25 0.4 0.5 0.6 0.75 1.0"
	a=$("$V" mdev create vfmig-large) && b=$("$V" mdev create vfmig-large) || die "mdev create"
	for u in "$a" "$b"; do knob "$u" state_size $((sweep_mib << 20)); done
fi
[ -n "$sweep_rates" ] && knob "$a" seed 99
for x in $sweep_rates; do
	rate=$(awk -v x="$x" -v b="$SWEEP_BW" 'BEGIN { printf "%d", x * b }')
	ok=0 within=0 gaveup=0 iters="" exp="" down="" tot="" pend="" j=0
	while [ "$j" -lt "$sweep_runs" ]; do
		knob "$a" dirty_rate "$rate"
		knob "$b" dirty_rate 0
		if "$V" migrate --json --downtime-limit 300 --max-bandwidth "$SWEEP_BW" \
			--max-iterations "$sweep_iters" --from "$a" --to "$b" > "$T/sweep.json" 2> "$T/sweep.err"; then
			ok=$((ok + 1))
			d=$(json_num "$T/sweep.json" downtime)
			[ "$d" -le 300 ] && within=$((within + 1))
			iters="$iters $(json_num "$T/sweep.json" iterations)"
			exp="$exp $(json_num "$T/sweep.json" expected-downtime)"
			down="$down $d"
			tot="$tot $(json_num "$T/sweep.json" total-time)"
			[ "$(knob "$b" device_state)" = 1 ] || die "sweep: destination not running"
			[ "$(knob "$b" checksum)" = "$(knob "$a" checksum)" ] ||
				die "sweep $x: destination checksum differs from the stopped source's"
			knob "$a" dirty_rate 0
			t=$a a=$b b=$t		# the running destination is the next source
		else
			grep -q 'did not converge' "$T/sweep.err" ||
				die "sweep $x: $(cat "$T/sweep.err")"
			[ "$(knob "$a" device_state)" = 1 ] || die "sweep: source not running after giving up"
			gaveup=$((gaveup + 1))
		fi
		# Converged or not, --json printed the run's pending bytes per query.
		pend="$pend${pend:+, }$(pending_of "$T/sweep.json")"
		j=$((j + 1))
	done
	line=$(printf '%-5s %10d B/s  converged %d/%d  downtime <= 300 ms %d/%d  median: iterations %s, expected %s ms, measured %s ms, total %s ms' \
		"$x" "$rate" "$ok" "$sweep_runs" "$within" "$sweep_runs" "$(echo "$iters" | median)" \
		"$(echo "$exp" | median)" "$(echo "$down" | median)" "$(echo "$tot" | median)")
	echo "bench: sweep $line"
	sweep_lines="$sweep_lines$line
"
	sweep_json="$sweep_json${sweep_json:+, }{\"rate-x-bandwidth\": $x, \"dirty-rate\": $rate, \"bandwidth\": $SWEEP_BW, \"state-mib\": $sweep_mib, \"downtime-limit-ms\": 300, \"max-iterations\": $sweep_iters, \"runs\": $sweep_runs, \"converged\": $ok, \"within-limit\": $within, \"did-not-converge\": $gaveup, \"iterations\": [$(echo $iters | tr ' ' ,)], \"expected-downtime-ms\": [$(echo $exp | tr ' ' ,)], \"downtime-ms\": [$(echo $down | tr ' ' ,)], \"total-time-ms\": [$(echo $tot | tr ' ' ,)], \"pending\": [$pend]}"
done
if [ -n "$sweep_rates" ]; then
	"$V" mdev remove "$a" && "$V" mdev remove "$b" || die "mdev remove"
fi

# 6. Zero pages (issue #13, section 4): the same state size, once 90% zero
# pages (fill zero:90, named in ZERO and SPARSE records) and once random,
# each a `vfmig migrate --offline` from a freshly filled source into a
# freshly zeroed destination, as a first migration finds it.  The two fills
# take turns, round by round ($zrounds rounds, BENCH_ZERO_ROUNDS, default
# BENCH_REPEAT but at least 5), so a change in the host's speed, which moves
# a random 1 GiB by up to 2x between minutes of one boot here
# (benchmark.md, "Comparing like with like"), hits both alike.  The ratio
# is the median of the rounds'
# random / zero:90 times (target >= 5); best / best is printed beside it.
# BENCH_ZERO_MIB (default 1024) shrinks by halves to what two devices fit in
# beside 768 MiB for the rest, and says so.  BENCH_ZERO=0 leaves it out.
zmib=${BENCH_ZERO_MIB:-1024} zfills="zero:90 random"
[ "${BENCH_ZERO:-1}" = 0 ] && zfills=""
zrounds=${BENCH_ZERO_ROUNDS:-$((repeat > 5 ? repeat : 5))}
zfit=$(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo)
while [ $((2 * zmib + 768)) -gt "$zfit" ] && [ "$zmib" -gt 16 ]; do zmib=$((zmib / 2)); done
[ "$zmib" = "${BENCH_ZERO_MIB:-1024}" ] || [ -z "$zfills" ] || echo "bench: zero pages: ${zfit} MiB of memory, so $zmib MiB states (not ${BENCH_ZERO_MIB:-1024})"
zsize=$((zmib << 20)) zero_json="" zero_line=""
# zero_fill_run FILL: fill the source, zero the destination, migrate, check;
# adds the wall ns and the engine's ms to $T/zero-KEY.ns and .eng (KEY: the
# fill before any colon), the bytes moved to .moved.
zero_fill_run() {
	zk=$T/zero-${1%%:*}
	knob "$a" fill "$1"
	knob "$a" seed 4242
	knob "$b" fill zero
	knob "$b" seed 1
	name="zero-$1"
	ns=$(move migrate "$a" "$b")
	grep -q '"status": "completed"' "$T/json" || die "$name: $(cat "$T/json")"
	# The seed makes the same state each round: its checksum once.
	[ -f "$zk.sum" ] || knob "$a" checksum > "$zk.sum"
	[ "$(knob "$b" checksum)" = "$(cat "$zk.sum")" ] || die "$name: checksum after migrate"
	echo "$ns" >> "$zk.ns"
	json_num "$T/json" total-time >> "$zk.eng"
	json_num "$T/json" transferred > "$zk.moved"
}
# zero_ratio FILE: the last round's random / zero:90 of $T/zero-*.FILE.
zero_ratio() {
	awk -v r="$(tail -n 1 "$T/zero-random.$1")" -v z="$(tail -n 1 "$T/zero-zero.$1")" \
		'BEGIN { printf "%.2f", (z > 0 ? r / z : 0) }'
}
if [ -n "$zfills" ]; then
	a=$("$V" mdev create vfmig-large) && b=$("$V" mdev create vfmig-large) || die "mdev create"
	for u in "$a" "$b"; do
		knob "$u" state_size "$zsize"
		for kv in $(layout_knobs whole); do knob "$u" "${kv%%=*}" "${kv#*=}"; done
	done
	rm -f "$T"/zero-*
	zratios="" zeratios="" r=0
	while [ "$r" -lt "$zrounds" ]; do
		# Alternate which fill goes first, so neither always follows the other.
		if [ $((r % 2)) = 0 ]; then order="zero:90 random"; else order="random zero:90"; fi
		for f in $order; do zero_fill_run "$f"; done
		zratios="$zratios${zratios:+ }$(zero_ratio ns)" zeratios="$zeratios${zeratios:+ }$(zero_ratio eng)"
		r=$((r + 1))
	done
	"$V" mdev remove "$a" && "$V" mdev remove "$b" || die "mdev remove"
	for f in $zfills; do
		zk=$T/zero-${f%%:*}
		best=$(sort -n "$zk.ns" | head -n 1) med=$(median < "$zk.ns")
		beng=$(sort -n "$zk.eng" | head -n 1) moved=$(cat "$zk.moved")
		runs_ms=$(awk '{ printf "%s%d", (NR > 1 ? "," : ""), $1 / 1000000 }' "$zk.ns")
		mbps=$(awk -v b="$zsize" -v ns="$best" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
		echo "bench: zero pages, fill $f, $zmib MiB: best $((best / 1000000)) ms ($mbps MB/s of state), median $((med / 1000000)) ms, engine best $beng ms, runs [$runs_ms] ms, $moved bytes moved"
		echo "$best" > "$zk.best"
		zero_line="$zero_line$(printf '%-8s %5d MiB  best %6d ms  median %6d ms  %8s MB/s of state  engine best %6d ms  runs [%s] ms  moved %s bytes' "$f" "$zmib" $((best / 1000000)) $((med / 1000000)) "$mbps" "$beng" "$runs_ms" "$moved")
"
		zero_json="$zero_json${zero_json:+, }{\"fill\": \"$f\", \"state-bytes\": $zsize, \"best-ns\": $best, \"median-ns\": $med, \"mbps\": $mbps, \"engine-best-ms\": $beng, \"runs-ms\": [$runs_ms], \"engine-runs-ms\": [$(paste -sd, "$zk.eng")], \"transferred\": $moved}"
	done
	zratio=$(echo "$zratios" | median)
	zeratio=$(echo "$zeratios" | median)
	zbratio=$(awk -v r="$(cat "$T/zero-random.best")" -v z="$(cat "$T/zero-zero.best")" 'BEGIN { printf "%.2f", r / z }')
	echo "bench: zero pages: zero:90 migrates ${zratio}x faster than random (median of $zrounds rounds' wall-time ratios [$zratios]; best/best ${zbratio}x), ${zeratio}x by the engine's clock (target >= 5)"
	zero_json="{\"cases\": [$zero_json], \"rounds\": $zrounds, \"speedup\": $zratio, \"round-speedups\": [$(echo "$zratios" | tr ' ' ,)], \"best-speedup\": $zbratio, \"engine-speedup\": $zeratio, \"engine-round-speedups\": [$(echo "$zeratios" | tr ' ' ,)], \"target\": 5}"
else
	zratio=- zero_json=null zero_line="left out (BENCH_ZERO=0)
"
fi

# 7. Several devices at once, in lanes (parallel.sh; it reloads the module
# with room for 32 devices).
mkdir -p "$T/par"
if [ "${BENCH_PARALLEL:-1}" = 0 ]; then
	echo null > "$T/par/parallel.json"
	echo "parallel devices: left out (BENCH_PARALLEL=0)" > "$T/par/parallel.txt"
else
	sh "$here/parallel.sh" "$T/par" || die "parallel rows"
fi

# 8. Stream compression (compress_bench.sh): random and compressible state
# through a file and over TCP with --compress none, zstd and lz4.
# BENCH_COMPRESS=0 leaves them out.
z_json="" z_lines="stream compression: left out (BENCH_COMPRESS=0)"
if [ "${BENCH_COMPRESS:-1}" != 0 ]; then
	sh "$here/compress_bench.sh" "$T/z" || die "compression bench failed"
	z_json=$(cat "$T/z/compress.json")
	z_lines=$(cat "$T/z/compress.txt")
fi

"$V" module unload || die "module unload"
memcpy_run after
m1=$(json_num "$T/memcpy-before.json" best-mbps) m2=$(json_num "$T/memcpy-after.json" best-mbps)
if awk -v a="$m1" -v b="$m2" 'BEGIN { exit !(a >= b) }'; then best_run=before; else best_run=after; fi
cp "$T/memcpy-$best_run.json" "$T/memcpy.json"
memcpy=$(json_num "$T/memcpy.json" best-mbps)
memcpy_med=$(json_num "$T/memcpy.json" median-mbps)
# Ratios against the best memcpy of the run.
awk -v c="$memcpy" -v m="$memcpy_med" 'NR == 1 { print; next } { $5 = sprintf("%.3f", $4 / c); $11 = sprintf("%.3f", $10 / m); print }' "$T/rows" > "$T/rows2"
mv "$T/rows2" "$T/rows"

{
	printf '{"date": "%s", "kernel": "%s", "cpus": %s, "erms": %s, "mem-mib": %s, ' \
		"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -r)" "$(nproc)" "$erms" \
		"$(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo)"
	printf '"mb": 1000000, "memcpy-before": %s, "memcpy-after": %s, "memcpy": %s, "targets": {"mmap-ratio": 0.8, "trapped-ratio": 0.5, "ratio-to-raw": 0.8}, "cases": [%s], "mmap-cost": %s, "qemu": [%s], "downtime-sweep": [%s], "zero-pages": %s, "parallel": %s, "compression": [%s]}\n' \
		"$(cat "$T/memcpy-before.json")" "$(cat "$T/memcpy-after.json")" "$(cat "$T/memcpy.json")" "$rows" \
		"$mapcost_json" "$qemu_json" "$sweep_json" "$zero_json" "$(cat "$T/par/parallel.json")" "$z_json"
} > "$T/bench.json"
# Fill in the ratios, now that the best memcpy is known.
while read -r c mib _ _ ratio _ _ _ _ _ mratio _ xraw mxraw _; do
	[ "$c" = case ] && continue
	sed -i "s/@RATIO-$c-$mib@/$ratio/; s/@MRATIO-$c-$mib@/$mratio/" "$T/bench.json"
	sed -i "s/@XRAW-$c@/$xraw/; s/@MXRAW-$c@/$mxraw/" "$T/bench.json"
done < "$T/rows"
grep -q "@M*\(RATIO\|XRAW\)" "$T/bench.json" && die "a ratio is missing in bench.json"
cp "$T/bench.json" "$out/bench.json"

{
	echo "vfmig bench on Linux $(uname -r) ($(nproc) CPUs, ERMS $erms), MB = 10^6 bytes"
	echo "memcpy $((big >> 20)) MiB: best $memcpy MB/s, median $memcpy_med MB/s (better of the runs before and after)"
	echo "rep movsb $(json_num "$T/memcpy.json" rep-movsb-mbps) MB/s, rep movsq $(json_num "$T/memcpy.json" rep-movsq-mbps) MB/s (the kernel's copy primitives with and without ERMS)"
	echo "save+resume = vfmig migrate --offline, $repeat runs, wall time of the command (fork to exit): best, x best memcpy,"
	echo "median, x median memcpy;"
	echo "*-file: save to a tmpfs file + resume from it; *-tcp: send to receive on loopback"
	echo "engine = state / the engine's total-time; save only = vfmig save --offline -o /dev/null"
	echo "raw = the same bytes through the same path without vfmig (dd via tmpfs; loopback socket copy), best;"
	echo "xraw = best / best raw, median / median raw, and paired: the median of each round's raw / vfmig time, the"
	echo "raw run next to its vfmig run (target >= 0.8x raw for the *-file and *-tcp rows)"
	awk 'NR == 1 { printf "%-12s %9s %-8s %6s %7s %7s %7s %7s %7s %9s %11s %7s %6s %6s %6s  %s\n", "case", "state", "layout", "data", "best", "xmemcpy", "median", "xmemcpy", "engine", "save-only", "peakRSS KiB", "raw", "xraw", "xraw-m", "xraw-p", "target"; next }
		{ tgt = $1 ~ /^mmap(-d64)?$/ ? ">= 0.8x" : $1 == "trapped" ? ">= 0.5x" : $1 ~ /-(file|tcp)$/ ? ">= 0.8x raw" : "-"
		  printf "%-12s %5d MiB %-8s %2d MiB %7s %7s %7s %7s %7s %9s %11s %7s %6s %6s %6s  %s\n", $1, $2, $3, $9, $4, $5, $10, $11, $6, $8, $7, $12, $13, $14, $15, tgt }' "$T/rows"
	echo
	echo "$mapcost_line"
	if [ -n "$qemu_lines" ]; then
		echo
		echo "QEMU 7.2 v1 client vs vfmig save --offline, same device, both to /dev/null (QEMU: its total-time"
		echo "minus a RAM-only run of the same QEMU; vfmig: the engine's total-time, best of 2):"
		printf '%s' "$qemu_lines"
	fi
	echo
	echo "downtime against dirty rate: live migrate of a $sweep_mib MiB device, --max-bandwidth $((SWEEP_BW >> 20))M, --downtime-limit 300,"
	echo "--max-iterations $sweep_iters, $sweep_runs runs per rate; the rate as a fraction of that bandwidth:"
	printf '%s' "$sweep_lines"
	echo
	echo "zero pages: vfmig migrate --offline of a 90%-zero state (fill zero:90) and a random one, each from a fresh fill"
	echo "into a zeroed destination, the two taking turns for $zrounds rounds:"
	printf '%s' "$zero_line"
	[ "$zratio" = - ] || echo "zero:90 is ${zratio}x faster by wall time (median of the rounds' ratios; best/best ${zbratio}x), ${zeratio}x by the engine's (target >= 5)"
	echo
	cat "$T/par/parallel.txt"
	echo
	printf '%s\n' "$z_lines"
} > "$out/bench.txt"
cat "$out/bench.txt"
