#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The parallel-device rows of `make bench` (issue #13, section 2; runs in
# the VM as root, called by bench.sh or alone): N devices of BENCH_PAR_MIB
# MiB each (N in BENCH_PAR_COUNTS, default "8 16") in one live `migrate`
# and in one `send` to a `receive` on loopback, with --parallel 1 (the
# default) and --parallel auto (one lane per CPU), BENCH_REPEAT rounds of
# one run each, taking turns (medians count; the ratio is the median of the
# rounds' ratios), the devices speaking v1 (rows migrate, tcp) and then v2
# (migrate-v2: a socket pair per lane, the data files spliced; tcp-v2);
# BENCH_PAR_HOWS picks rows, which may also name migrate-direct and
# tcp-direct (v1 with data_window=direct):
# aggregate MB/s (state bytes / wall time of the command), the same over
# the engine's own clock (the migration without process start and device
# open, one thread before it), the engine's downtime for the whole set,
# the peak RSS of the commands, the CPUs the
# guest kept busy meanwhile (/proc/stat), and the ratio auto / 1 (target
# >= 1.6 with 2 CPUs).  "bound" = CPUs / CPUs busy with one lane: what
# more lanes could give at most if the work spread perfectly.
#
# usage: parallel.sh OUTDIR   writes OUTDIR/parallel.json and parallel.txt
# The module is reloaded with max_devices=32 (sources and destinations) and
# left loaded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: parallel.sh OUTDIR}
V=$top/user/build/vfmig
S=/sys/bus/mdev/devices
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}
TIMEIT=$here/build/timeit
repeat=${BENCH_REPEAT:-3}
mib=${BENCH_PAR_MIB:-32}
counts=$(echo "${BENCH_PAR_COUNTS:-8 16}" | tr , " ")	# commas: from the kernel command line
T=${TMPDIR:-/tmp}/bench-par.$$
mkdir -p "$T" "$out"

die() { echo "bench: FAIL: parallel: $*" >&2; exit 1; }
. "$here/lib.sh"	# knob, median, json_num
remove_all() { for u in $(ls "$S" 2>/dev/null); do "$V" mdev remove "$u" 2>/dev/null; done; }
trap 'remove_all; rm -rf "$T"' EXIT

remove_all
"$V" module unload > /dev/null 2>&1 || true
"$V" module load max_devices=32 > /dev/null || die "module load max_devices=32"
ip link set lo up 2>/dev/null || true
cpus=$(nproc)

# cpu_ticks: the guest's busy and total ticks over all CPUs so far (steal,
# the host running something else, counts as not busy).
cpu_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}
# busy_since "BUSY TOTAL": CPUs busy on average since that cpu_ticks.
busy_since() {
	echo "$1 $(cpu_ticks)" | awk -v n="$cpus" '{ t = $4 - $2; printf "%.2f\n", (t > 0 ? ($3 - $1) * n / t : 0) }'
}

# timed FILE CMD...: wall ns on stdout, CMD's stdout in FILE, peak RSS in $T/rss.
timed() {
	f=$1
	shift
	"$TIMEIT" "$@" > "$f" 2> "$T/err" || die "$* failed: $(tail -n 3 "$T/err")"
	sed -n 's/^timeit .*maxrss-kib \([0-9]*\).*/\1/p' "$T/err" > "$T/rss"
	sed -n 's/^timeit wall-ns \([0-9]*\).*/\1/p' "$T/err"
}

# move HOW LANES FROM... -- TO...: one live migration; wall ns on stdout,
# the source's --json in $T/json, the higher peak RSS of the two ends in $T/rss2.
move() {
	how=$1 popt=""
	popt="--parallel $2"
	shift 2
	from="" to=""
	while [ "$1" != -- ]; do from="$from $1"; shift; done
	shift
	to="$*"
	case $how in
	migrate*)
		pairs=""
		set -- $to
		for a in $from; do pairs="$pairs --from $a --to $1"; shift; done
		t0=$(cpu_ticks)
		timed "$T/json" "$V" migrate $popt --json $pairs
		busy_since "$t0" > "$T/busy"
		cp "$T/rss" "$T/rss2" ;;
	tcp*)
		"$TIMEIT" "$V" receive -q $to --listen 7793 --bind 127.0.0.1 2> "$T/recv.err" &
		rpid=$!
		i=0
		until ss -ltn 2>/dev/null | grep -q '127.0.0.1:7793'; do
			i=$((i + 1))
			[ "$i" -lt 100 ] || die "receive does not listen: $(cat "$T/recv.err")"
			sleep 0.1
		done
		t0=$(cpu_ticks)
		ns=$(timed "$T/json" "$V" send $popt --json $from 127.0.0.1:7793)
		cp "$T/rss" "$T/rss2"
		wait "$rpid" || die "receive failed: $(cat "$T/recv.err")"
		busy_since "$t0" > "$T/busy"
		r=$(sed -n 's/^timeit .*maxrss-kib \([0-9]*\).*/\1/p' "$T/recv.err")
		[ "$r" -gt "$(cat "$T/rss2")" ] && echo "$r" > "$T/rss2"
		echo "$ns" ;;
	esac
}

lines="" json=""
for n in $counts; do
	A="" B="" sums=""
	i=0
	while [ "$i" -lt "$n" ]; do
		a=$("$V" mdev create vfmig-large) && b=$("$V" mdev create vfmig-large) ||
			die "mdev create ($((2 * n)) devices)"
		for u in "$a" "$b"; do
			knob "$u" state_size $((mib << 20))
			knob "$u" data_size $((4 << 20))
			knob "$u" mmap_layout whole
			knob "$u" dirty_rate 0
		done
		knob "$a" seed $((500 + i))
		A="$A $a" B="$B $b" sums="$sums $(knob "$a" checksum)"
		i=$((i + 1))
	done
	size=$((n * mib << 20))
	for how in ${BENCH_PAR_HOWS:-migrate tcp migrate-v2 tcp-v2}; do
		proto=v1 window=staged
		case $how in
		*-v2) proto=v2 ;;
		*-direct) window=direct ;;
		esac
		for u in $A $B; do
			knob "$u" protocol "$proto"
			knob "$u" data_window "$window"
		done
		# The two settings take turns, round by round (which goes first
		# alternating too): this host's speed drifts over seconds to
		# minutes, and a round's pair sees the same host.  The ratio is
		# the median of the rounds' auto / 1.
		rm -f "$T"/par-*
		pratios="" eratios="" j=0 m=0
		while [ "$j" -lt "$repeat" ]; do
			if [ $((j % 2)) = 0 ]; then order="1 auto"; else order="auto 1"; fi
			for par in $order; do
				k=1
				[ "$par" = auto ] && k=0
				# Alternate directions: the stopped sources become the destinations.
				if [ $((m % 2)) = 0 ]; then src=$A dst=$B; else src=$B dst=$A; fi
				m=$((m + 1))
				ns=$(move "$how" "$par" $src -- $dst)
				grep -q '"status": "completed"' "$T/json" || die "$how: $(cat "$T/json")"
				set -- $sums
				for d in $dst; do
					[ "$(knob "$d" checksum)" = "$1" ] || die "$how $n: checksum of $d"
					shift
				done
				awk -v b="$size" -v ns="$ns" 'BEGIN { printf "%.1f\n", b / (ns / 1e9) / 1e6 }' >> "$T/par-$k.runs"
				awk -v b="$size" -v ms="$(json_num "$T/json" total-time)" 'BEGIN { printf "%.1f\n", (ms > 0 ? b / (ms / 1e3) / 1e6 : 0) }' >> "$T/par-$k.engs"
				json_num "$T/json" downtime >> "$T/par-$k.downs"
				cat "$T/busy" >> "$T/par-$k.busys"
				cat "$T/rss2" >> "$T/par-$k.rss"
			done
			pratios="$pratios${pratios:+ }$(paste -d' ' "$T/par-0.runs" "$T/par-1.runs" | tail -n 1 | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }')"
			eratios="$eratios${eratios:+ }$(paste -d' ' "$T/par-0.engs" "$T/par-1.engs" | tail -n 1 | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }')"
			j=$((j + 1))
		done
		for k in 0 1; do
			lanes=1
			[ "$k" = 0 ] && lanes=$(( cpus < n ? cpus : n ))
			eval "mbps_$k=$(median 0 < "$T/par-$k.runs") eng_$k=$(median 0 < "$T/par-$k.engs")"
			eval "down_$k=$(median 0 < "$T/par-$k.downs") busy_$k=$(median 0 < "$T/par-$k.busys")"
			eval "rss_$k=$(sort -n "$T/par-$k.rss" | tail -n 1) runs_$k=$(paste -sd, "$T/par-$k.runs") lanes_$k=$lanes"
		done
		ratio=$(echo "$pratios" | median 0)
		eratio=$(echo "$eratios" | median 0)
		bound=$(awk -v n="$cpus" -v b="$busy_1" 'BEGIN { printf "%.2f", (b > 0 ? n / b : 0) }')
		line=$(printf '%-8s %2d x %2d MiB  --parallel 1: %7s MB/s (engine %7s), downtime %4s ms, peak RSS %6s KiB, %s CPUs busy   auto (%d lanes): %7s MB/s (engine %7s), downtime %4s ms, peak RSS %6s KiB, %s CPUs busy   ratio %sx (engine %sx; target 1.6x, bound %sx; rounds %s)' \
			"$how" "$n" "$mib" "$mbps_1" "$eng_1" "$down_1" "$rss_1" "$busy_1" "$lanes_0" "$mbps_0" "$eng_0" "$down_0" "$rss_0" "$busy_0" "$ratio" "$eratio" "$bound" "$pratios")
		echo "bench: parallel $line"
		lines="$lines$line
"
		json="$json${json:+, }{\"how\": \"$how\", \"devices\": $n, \"device-mib\": $mib, \"cpus\": $cpus, \"runs\": $repeat, \"serial\": {\"lanes\": 1, \"median-mbps\": $mbps_1, \"median-engine-mbps\": $eng_1, \"runs-mbps\": [$runs_1], \"median-downtime-ms\": $down_1, \"peak-rss-kib\": $rss_1, \"median-cpus-busy\": $busy_1}, \"parallel\": {\"lanes\": $lanes_0, \"median-mbps\": $mbps_0, \"median-engine-mbps\": $eng_0, \"runs-mbps\": [$runs_0], \"median-downtime-ms\": $down_0, \"peak-rss-kib\": $rss_0, \"median-cpus-busy\": $busy_0}, \"ratio\": $ratio, \"round-ratios\": [$(echo "$pratios" | tr ' ' ,)], \"engine-ratio\": $eratio, \"engine-round-ratios\": [$(echo "$eratios" | tr ' ' ,)], \"bound\": $bound, \"target-ratio\": 1.6}"
	done
	remove_all
done
echo "[$json]" > "$out/parallel.json"
{
	echo "parallel devices: live migrate (in-process) and send/receive (loopback), $mib MiB per device,"
	echo "v1 (mmap whole; migrate over channels) and v2 (migrate over socket pairs, data files spliced),"
	echo "median of $repeat runs each, the two taking turns; MB/s = all devices' state / wall time of the command (engine: / the engine's total time);"
	echo "ratio = the median of each round's auto / 1; $cpus CPUs;"
	echo "CPUs busy = the guest's, meanwhile; bound = $cpus / CPUs busy with one lane:"
	printf '%s' "$lines"
} > "$out/parallel.txt"
