#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The `make bench` compression rows (runs in the VM as root, module loaded;
# bench.sh calls it, or run it alone): a BENCH_Z_MIB (default 128) MiB
# device (data section 8 MiB, mapped whole) with random and with
# compressible state (the fill knob's pattern:, not zero pages, which the
# payload sends as ZERO records anyway; a device without the knob: a
# never-seeded one, zeroes), saved to a tmpfs file and resumed (file: the
# two wall times added) and sent to a receive on loopback (tcp: send's wall
# time), with --compress none, zstd and lz4 taking turns in each round (in
# an order that rotates between rounds).
# Best and median of BENCH_Z_REPEAT (5) rounds' wall times, the best save
# alone as the engine saw it (its --json total-time, without process
# start-up), and "paired": the median over rounds of none's wall time over
# the codec's in the same round (> 1: the codec was faster), which a host
# that drifts between rounds does not skew.  MB/s of device state; ratio =
# state / stream bytes.  Every run's destination checksum must equal the
# source's.
#
# usage: compress_bench.sh OUTDIR   writes OUTDIR/compress.json (a JSON
# array's items, comma-separated) and OUTDIR/compress.txt
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${1:?usage: compress_bench.sh OUTDIR}
V=$top/user/build/vfmig
S=/sys/bus/mdev/devices
TIMEIT=$here/build/timeit
repeat=${BENCH_Z_REPEAT:-5}
T=${TMPDIR:-/tmp}/compress_bench.$$
mkdir -p "$T" "$out"
trap 'rm -rf "$T"' EXIT
ip link set lo up 2>/dev/null || true

die() { echo "compress_bench: FAIL: $*" >&2; exit 1; }
. "$here/lib.sh"	# knob, median
# timed FILE CMD...: run CMD under timeit, stdout to FILE; prints wall ns.
timed() {
	f=$1
	shift
	"$TIMEIT" "$@" > "$f" 2> "$T/err" || die "$* failed: $(cat "$T/err") $(cat "$f")"
	sed -n 's/^timeit wall-ns \([0-9]*\).*/\1/p' "$T/err"
}

zsize=$(( ${BENCH_Z_MIB:-128} << 20 ))
z_lines="" z_json=""
zmove() { # zmove HOW CODEC FROM TO: wall ns; stream bytes in $T/zbytes
	case $1 in
	file)
		s_ns=$(timed "$T/zjson" "$V" save --offline --json --compress "$2" "$3" -o "$T/zs")
		stat -c %s "$T/zs" > "$T/zbytes"
		r_ns=$(timed /dev/null "$V" resume -q "$4" -i "$T/zs")
		rm -f "$T/zs"
		echo $((s_ns + r_ns)) ;;
	tcp)
		"$V" receive -q "$4" --listen 7791 --bind 127.0.0.1 2> "$T/zrecv.err" &
		rpid=$!
		i=0
		until ss -ltn 2>/dev/null | grep -q '127.0.0.1:7791'; do
			i=$((i + 1))
			[ "$i" -lt 50 ] || die "compress: receive does not listen: $(cat "$T/zrecv.err")"
			sleep 0.1
		done
		ns=$(timed "$T/zjson" "$V" send --offline --json --compress "$2" "$3" 127.0.0.1:7791)
		wait "$rpid" || die "compress: receive failed: $(cat "$T/zrecv.err")"
		grep -o '"transferred": [0-9]*' "$T/zjson" | head -n 1 | sed 's/.*: //' > "$T/zbytes"
		echo "$ns" ;;
	esac
}
for zstate in random compressible; do
	a=$("$V" mdev create vfmig-large) && b=$("$V" mdev create vfmig-large) || die "mdev create"
	for u in "$a" "$b"; do
		knob "$u" state_size "$zsize"
		knob "$u" data_size $((8 << 20))
		knob "$u" mmap_layout whole
		knob "$u" dirty_rate 0
	done
	zfill=zeroes
	if [ "$zstate" = random ]; then
		knob "$a" seed 4242
		zfill=random
	elif [ -e "$S/$a/vfmig/fill" ]; then
		knob "$a" fill pattern:0x00000000deadbeef
		knob "$a" seed 4242
		zfill=pattern:0x00000000deadbeef
	fi
	sum=$(knob "$a" checksum)
	for how in file tcp; do
		# Codecs take turns within each round, so a host that slows down
		# or speeds up during the runs weighs on all three alike.
		for codec in none zstd lz4; do eval "best_$codec=0 runs_$codec='' eng_$codec=0 pair_$codec=''"; done
		i=0
		while [ "$i" -lt "$repeat" ]; do
			if [ $((i % 2)) = 0 ]; then from=$a to=$b; else from=$b to=$a; fi
			# The order rotates too: none is not always the first run
			# after the direction changes.
			case $((i % 3)) in
			0) order="none zstd lz4" ;;
			1) order="zstd lz4 none" ;;
			*) order="lz4 none zstd" ;;
			esac
			for codec in $order; do
				ns=$(zmove "$how" "$codec" "$from" "$to")
				eval "round_$codec=\$ns"
				[ "$(knob "$to" checksum)" = "$sum" ] || die "compress $zstate $how $codec: checksum"
				cp "$T/zbytes" "$T/zbytes.$codec"
				eval "best=\$best_$codec runs=\$runs_$codec eng=\$eng_$codec"
				if [ "$best" = 0 ] || [ "$ns" -lt "$best" ]; then best=$ns; fi
				e=$(sed -n 's/.*"total-time": \([0-9]*\).*/\1/p' "$T/zjson")
				if [ -n "$e" ] && { [ "$eng" = 0 ] || [ "$e" -lt "$eng" ]; }; then eng=$e; fi
				runs="$runs${runs:+,}$(awk -v b="$zsize" -v ns="$ns" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')"
				eval "best_$codec=\$best runs_$codec=\$runs eng_$codec=\$eng"
			done
			# This round's none run against each codec's: a pair shares
			# whatever the host was doing then.
			for codec in none zstd lz4; do
				eval "pair=\$pair_$codec ns=\$round_$codec"
				pair="$pair${pair:+,}$(awk -v a="$round_none" -v b="$ns" 'BEGIN { printf "%.3f", a / b }')"
				eval "pair_$codec=\$pair"
			done
			i=$((i + 1))
		done
		for codec in none zstd lz4; do
			eval "best=\$best_$codec runs=\$runs_$codec eng=\$eng_$codec pair=\$pair_$codec"
			zb=$(cat "$T/zbytes.$codec")
			mbps=$(awk -v b="$zsize" -v ns="$best" 'BEGIN { printf "%.1f", b / (ns / 1e9) / 1e6 }')
			ratio=$(awk -v a="$zsize" -v b="$zb" 'BEGIN { printf "%.2f", a / b }')
			med=$(echo "$runs" | median)
			pmed=$(echo "$pair" | median)
			emb=$(awk -v b="$zsize" -v ms="$eng" 'BEGIN { if (ms > 0) printf "%.1f", b / (ms / 1e3) / 1e6; else print 0 }')
			line=$(printf '%-12s %-4s %-5s best %7s MB/s  median %7s MB/s  save engine %7s MB/s  ratio %8s  /none paired %5s  runs [%s]' \
				"$zstate" "$how" "$codec" "$mbps" "$med" "$emb" "$ratio" "$pmed" "$runs")
			echo "bench: compress $line"
			z_lines="$z_lines$line
"
			z_json="$z_json${z_json:+, }{\"state\": \"$zstate\", \"fill\": \"$zfill\", \"how\": \"$how\", \"codec\": \"$codec\", \"state-bytes\": $zsize, \"stream-bytes\": $zb, \"ratio\": $ratio, \"best-ns\": $best, \"mbps\": $mbps, \"median-mbps\": $med, \"save-engine-mbps\": $emb, \"runs-mbps\": [$runs], \"paired-to-none\": $pmed, \"paired-runs\": [$pair]}"
		done
	done
	"$V" mdev remove "$a" && "$V" mdev remove "$b" || die "mdev remove"
done

{
	echo "stream compression, $((zsize >> 20)) MiB device (mmap whole), save+resume via tmpfs (file) and send to"
	echo "receive on loopback (tcp), $repeat runs (wall time); save engine = the save's own total-time;"
	echo "MB/s of device state; ratio = state / stream bytes; /none paired = median over rounds of none's"
	echo "wall time over the codec's in the same round (above 1: the codec was faster):"
	printf '%s' "$z_lines"
} > "$out/compress.txt"
printf '%s\n' "$z_json" > "$out/compress.json"
cat "$out/compress.txt"
