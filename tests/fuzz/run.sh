#!/bin/sh
# Run the host fuzz targets (built by `make -C tests/fuzz`), each for SECONDS.
# usage: run.sh SECONDS [SEED [TARGET...]]
#
# Every run gets a new directory build/fuzz/runs/<time>-<pid>/<target>/ with
# its own scratch corpus (what the run finds) and the log; the committed seed
# corpus tests/fuzz/corpus/<stream|payload>/ is only read.  A fixed SEED (`make
# check` uses 1) makes a run repeat the same mutations.  Ends with one
# line per target, "fuzz <target>: ok|FAILED ..."; exits non-zero if any
# target found something (crash, sanitizer report, leak, timeout, OOM), with
# the input saved next to the log and the command that reproduces it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:?usage: run.sh SECONDS [SEED [TARGET...]]}
seed=${2:-0}
[ $# -gt 2 ] && shift 2 || set -- stream_fuzz payload_fuzz
bin=$top/build/fuzz
runs=$top/build/fuzz/runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$runs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=0
summary=""

for t in "$@"; do
	dir=$runs/$t
	seeds=$top/tests/fuzz/corpus/${t%_fuzz}
	mkdir -p "$dir/corpus"
	if [ ! -x "$bin/$t" ]; then
		summary="$summary
fuzz $t: FAILED (not built: make -C tests/fuzz)"
		failed=1
		continue
	fi
	echo "== fuzz $t: ${secs}s, seed $seed, seeds from tests/fuzz/corpus/${t%_fuzz}, run dir $dir"
	# -seed=0 lets libFuzzer pick one; it prints it ("Seed: N").
	"$bin/$t" -max_total_time="$secs" -seed="$seed" -max_len=131072 -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/" \
		"$dir/corpus" "$seeds" > "$dir/log" 2>&1
	rc=$?
	used=$(sed -n 's/^INFO: Seed: \([0-9]*\)/\1/p' "$dir/log" | head -n 1)
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$dir/log" | tail -n 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
	cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.*corp: \([^ ]*\).*/\1/p')
	new=$(find "$dir/corpus" -type f | wc -l)
	if [ "$rc" = 0 ] && [ -n "$done_line" ]; then
		summary="$summary
fuzz $t: ok, ${execs:-?} execs in ${secs}s (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} (${new} new inputs), seed ${used:-$seed}"
	else
		failed=1
		tail -n 60 "$dir/log"
		art=$(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* "$dir"/oom-* 2>/dev/null | head -n 1)
		summary="$summary
fuzz $t: FAILED (exit $rc, seed ${used:-$seed}; log $dir/log)"
		[ -n "$art" ] && summary="$summary
  input: $art
  reproduce: $bin/$t $art"
	fi
done
echo "$summary" | sed '/^$/d'
exit "$failed"
