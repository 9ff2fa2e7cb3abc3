#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Several devices in parallel lanes (--parallel, Documentation/engine.md
# "Lanes") against real devices, in the VM as root: migrate and send/receive
# of 4 devices over 2 and 4 lanes, the lanes' own streams as inspect sees
# them, a destination device that refuses, peak RSS bounded by the lanes,
# and Ctrl-C.  Every success ends with each source's checksum equal to its
# destination's.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/lib.sh"

T=${TMPDIR:-/tmp}/parallel_test.$$

begin() {
	# A failed test is killed before its EXIT trap: start from no devices
	# (four pairs use all 8 the module allows by default).
	remove_all_mdevs
	scratch_begin
	ip link set lo up 2>/dev/null	# the VM boots with loopback down
}

# wait_or_kill PID: its exit status, or kill it after 30 s (a peer that failed early).
wait_or_kill() {
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 300 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill "$1" 2>/dev/null
	wait "$1"
}

# four_pairs [KNOB=VALUE...]: sets A="a0 a1 a2 a3", B="b0 ..", PAIRS
# (--from/--to), SUMS; the knobs go to the sources; SIZE sizes both ends,
# PROTO (v1, v2) sets the protocol of both, FROM_PROTO of the sources only.
four_pairs() {
	A="" B="" PAIRS="" SUMS=""
	for i in 0 1 2 3; do
		# The seed last: it fills the state as sized, with the fill given.
		a=$(mk vfmig-small ${SIZE:+state_size=$SIZE} ${PROTO:+protocol=$PROTO} \
			${FROM_PROTO:+protocol=$FROM_PROTO} dirty_rate=2000000 "$@" seed=$((20 + i)))
		b=$(mk vfmig-small ${SIZE:+state_size=$SIZE} ${PROTO:+protocol=$PROTO})
		A="$A $a" B="$B $b" PAIRS="$PAIRS --from $a --to $b" SUMS="$SUMS $(knob "$a" checksum)"
	done
}

all_same() { # every source in A stopped with its state in B's device, running
	set -- $B
	for a in $A; do
		same_state "$a" "$1"
		shift
	done
}

all_running_intact() { # every source in A running again with its checksum in SUMS
	set -- $SUMS
	for a in $A; do
		running_intact "$a" "$1"
		shift
	done
}

# migrate_n LANES OVER [SPLICED]: four pairs over LANES lanes, each lane
# over OVER (what `migrate -v` names: in-process channels, socket pairs);
# SPLICED "yes": the v2 data went by splice at both ends, "no": the v2
# source's data did not (a channel has no fd to splice into).
migrate_n() {
	begin
	four_pairs mmap_layout=whole
	"$V" migrate -v --parallel "$1" $PAIRS --json > "$T/json" 2> "$T/log" ||
		fail "migrate --parallel $1 failed: $(cat "$T/log")"
	grep -q "4 devices, live, $1 lanes" "$T/log" || fail "not $1 lanes: $(cat "$T/log")"
	grep -q "migrate: $1 lanes over $2" "$T/log" || fail "lanes not over $2: $(cat "$T/log")"
	grep -q '"status": "completed"' "$T/json" || fail "status: $(cat "$T/json")"
	case ${3:-} in
	yes)	grep -q "save: [1-9][0-9]* bytes of device data spliced" "$T/log" &&
			grep -q "load: [1-9][0-9]* bytes of device data spliced" "$T/log" ||
			fail "v2 data not spliced: $(grep spliced "$T/log")" ;;
	no)	grep -q "save: 0 bytes of device data spliced" "$T/log" ||
			fail "v2 data spliced into a channel: $(grep spliced "$T/log")" ;;
	esac
	all_same
}

test_migrate_parallel_2() { migrate_n 2 "in-process channels"; }
test_migrate_parallel_4() { migrate_n 4 "in-process channels"; }
# v2 on both ends, uncompressed: a socket pair per lane, the data spliced.
test_migrate_v2_parallel_2() { PROTO=v2 migrate_n 2 "socket pairs" yes; }
test_migrate_v2_parallel_4() { PROTO=v2 migrate_n 4 "socket pairs" yes; }
# v2 sources into v1 destinations: the v1 ends cannot splice, channels.
test_migrate_v2_to_v1_parallel() { FROM_PROTO=v2 migrate_n 2 "in-process channels" no; }

# One v2 destination refuses its data: its lane fails at the loader, which
# shuts every lane's socket down; every lane stops, every source runs
# again intact, every destination is reset.
test_migrate_v2_refused_in_one_lane() {
	begin
	PROTO=v2 four_pairs dirty_rate=0
	set -- $B
	knob "$4" fault resume_chunk
	"$V" migrate -q --parallel 2 $PAIRS 2> "$T/err" && fail "migrate into a failing destination succeeded"
	diag "$(cat "$T/err")"
	[ "$(grep -c . "$T/err")" = 1 ] || fail "error is not one line"
	grep -q "migrate failed at the destination, sources running again: lane 1: " "$T/err" ||
		fail "error does not name the destination's lane"
	grep -q "$4" "$T/err" || fail "error does not name the device"
	all_running_intact
	for b in $B; do
		[ "$(knob "$b" device_state)" = 1 ] || fail "destination $b not reset to running"
	done
}

test_migrate_trapped_mixed() {
	begin
	four_pairs mmap_layout=none
	"$V" migrate -q --parallel 3 $PAIRS || fail "migrate over 3 lanes failed"
	all_same
}

# receive on loopback in the background; send; both exit codes.
tcp_n() { # tcp_n LANES [send options]
	n=$1
	shift
	"$V" receive -q $B --listen 7791 --bind 127.0.0.1 2> "$T/recv.err" &
	rpid=$!
	wait_listening 7791 -
	"$V" send -v --parallel "$n" "$@" $A 127.0.0.1:7791 2> "$T/send.err"
	src=$?
	wait_or_kill $rpid
	rrc=$?
	diag "send: rc $src $(grep -v '^vfmig: save' "$T/send.err" | tail -3)"
	diag "receive: rc $rrc $(cat "$T/recv.err")"
}

tcp_ok() {
	begin
	four_pairs mmap_layout=sparse:2
	tcp_n "$1"
	[ "$src" = 0 ] && [ "$rrc" = 0 ] || fail "send/receive over $1 lanes failed"
	grep -q "4 devices, live, $1 lanes" "$T/send.err" || fail "not $1 lanes"
	all_same
}

test_tcp_parallel_2() { tcp_ok 2; }
test_tcp_parallel_4() { tcp_ok 4; }

# Each lane's connection compressed on its own (a pattern fill compresses;
# zero pages would already be ZERO records in the device payload).
test_tcp_parallel_compressed() {
	begin
	four_pairs mmap_layout=whole fill=pattern:0x00000000deadbeef
	tcp_n 2 --compress zstd
	[ "$src" = 0 ] && [ "$rrc" = 0 ] || fail "send --parallel 2 --compress zstd failed"
	grep -q "4 devices, live, 2 lanes" "$T/send.err" || fail "not 2 lanes"
	all_same
}

test_tcp_refused_in_one_lane() {
	begin
	# No dirtying: the sources' state must come back unchanged.
	four_pairs dirty_rate=0
	# The last destination refuses its data: lane 1 of 2 fails at the
	# receiver, every lane stops, every source runs again intact.
	set -- $B
	knob "$4" fault resume_chunk
	tcp_n 2
	[ "$src" != 0 ] || fail "send succeeded into a failing destination"
	[ "$rrc" != 0 ] || fail "receive succeeded with a failing device"
	grep -q 'running again' "$T/send.err" || fail "sender does not say the sources run again"
	[ "$(grep -c . "$T/recv.err")" = 1 ] || fail "receiver error is not one line"
	grep -q "lane 1" "$T/recv.err" || fail "receiver error does not name the lane"
	all_running_intact
	for b in $B; do
		[ "$(knob "$b" device_state)" = 1 ] || fail "destination $b not reset to running"
	done
}

# stalled_pair: four 16 MiB pairs (more than two lanes' socket buffers
# hold), a receiver on port 7792 in the background ($rpid), and a send over
# 2 lanes into it ($spid) once it listens.
stalled_pair() {
	SIZE=16777216 four_pairs dirty_rate=0
	"$V" receive -q $B --listen 7792 --bind 127.0.0.1 2> "$T/recv.err" &
	rpid=$!
	wait_listening 7792 -
}

# exits_soon PID WHAT: PID ends within 5 s; its status in $rc.
exits_soon() {
	_i=0
	while kill -0 "$1" 2>/dev/null && [ $_i -lt 50 ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1"
		fail "$2 still running 5 s after SIGINT"
	fi
	wait "$1"
	rc=$?
}

# Ctrl-C of a send over lanes whose receiver stopped reading: the lanes are
# blocked in send(), the signal reaches the coordinator, which cuts their
# sockets; the send ends at once, every source running intact.
test_tcp_parallel_sigint_stalled_receiver() {
	begin
	stalled_pair
	kill -STOP $rpid
	"$V" send -q --parallel 2 $A 127.0.0.1:7792 2> "$T/err" &
	spid=$!
	sleep 3		# the connections are in the backlog; the buffers fill
	kill -INT $spid
	exits_soon $spid "send"
	diag "send: rc $rc: $(cat "$T/err")"
	[ $rc != 0 ] || fail "an interrupted send exited 0"
	grep -q cancelled "$T/err" || fail "does not say cancelled"
	kill -CONT $rpid
	wait_or_kill $rpid
	all_running_intact
}

# The other way: a receive over lanes whose sender stopped writing.
test_tcp_parallel_sigint_stalled_sender() {
	begin
	stalled_pair
	"$V" send -q --parallel 2 $A 127.0.0.1:7792 2> "$T/err" &
	spid=$!
	wait_saving "$(echo $A | cut -d' ' -f2)" $spid
	kill -STOP $spid
	sleep 1
	kill -INT $rpid
	exits_soon $rpid "receive"
	diag "receive: rc $rc: $(cat "$T/recv.err")"
	[ $rc != 0 ] || fail "an interrupted receive exited 0"
	grep -q cancelled "$T/recv.err" || fail "does not say cancelled"
	kill -CONT $spid
	wait_or_kill $spid
	all_running_intact
	for b in $B; do
		[ "$(knob "$b" device_state)" = 1 ] || fail "destination $b not reset to running"
	done
}

test_inspect_lanes() {
	begin
	four_pairs dirty_rate=0
	mkdir -p "$T/cap"
	python3 "$here/lane_capture.py" 7792 4 "$T/cap" &
	cpid=$!
	wait_listening 7792 -
	"$V" send -q --offline --parallel 4 $A 127.0.0.1:7792 2> "$T/send.err" &&
		fail "send to the capture succeeded"
	wait_or_kill $cpid || fail "capture failed"
	grep -q "receiver .*: captured" "$T/send.err" || fail "no refusal: $(cat "$T/send.err")"
	all_running_intact
	k=0
	for a in $A; do
		f=$T/cap/conn$k
		"$V" inspect "$f" > "$T/inspect$k" || fail "inspect of lane connection $k failed"
		grep -q "version 2 features 0x00000000 lane $k of 4" "$T/inspect$k" ||
			fail "connection $k is not lane $k of 4: $(head -1 "$T/inspect$k")"
		[ "$(grep -c 'START.*"vfmig" instance' "$T/inspect$k")" = 1 ] ||
			fail "lane $k: not one START section"
		grep -q "START.*\"vfmig\" instance $k" "$T/inspect$k" || fail "lane $k: not instance $k"
		grep -q ': EOF' "$T/inspect$k" || fail "lane $k: no EOF"
		k=$((k + 1))
	done
	# A lane alone is refused by a resume: it is not the whole stream.
	set -- $B
	if "$V" resume -q "$1" -i "$T/cap/conn0" 2> "$T/err"; then
		fail "resume of one lane succeeded"
	fi
	grep -q "loads only with its other lanes" "$T/err" || fail "resume: $(cat "$T/err")"
}

# Peak RSS follows the lanes, not the devices: each device's mapped window
# is let go once its pass is over (Documentation/engine.md, "Lanes"). Four
# pairs, sources and destinations with 4 MiB windows, would hold 32 MiB
# mapped if every window stayed; one lane holds a source's and a
# destination's at a time.
test_rss_follows_lanes() {
	# ASan's shadow and quarantine are in the RSS: the bound is the plain build's.
	[ -z "${VFMIG_CLI:-}" ] || skip "the CLI under test is another build (a sanitizer's)"
	begin
	A="" B="" PAIRS=""
	for i in 0 1 2 3; do
		a=$(mk vfmig-small state_size=8388608 mmap_layout=whole data_size=4194304 seed=$((30 + i)))
		b=$(mk vfmig-small state_size=8388608 mmap_layout=whole data_size=4194304)
		A="$A $a" B="$B $b" PAIRS="$PAIRS --from $a --to $b"
	done
	"$V" migrate -q --offline --parallel 1 $PAIRS --json > "$T/json" 2> "$T/err" ||
		fail "migrate failed: $(cat "$T/err")"
	all_same
	rss=$(sed -n 's/.*"peak-rss-kib": \([0-9]*\).*/\1/p' "$T/json")
	diag "peak RSS $rss KiB for 4 pairs with 4 MiB windows"
	[ -n "$rss" ] && [ "$rss" -lt 20480 ] || fail "peak RSS ${rss:-?} KiB: windows kept mapped"
}

test_sigint_parallel() {
	begin
	SIZE=1048576 four_pairs mmap_layout=whole dirty_rate=0
	# 4 x 512 KiB at 256 KiB/s: seconds, interrupted once data flows.
	"$V" migrate -q --parallel 2 --max-bandwidth 256K $PAIRS 2> "$T/err" &
	pid=$!
	set -- $A
	wait_saving "$1" $pid
	interrupted $pid migration
	all_running_intact
	for b in $B; do
		[ "$(knob "$b" device_state)" = 1 ] || fail "destination $b not reset"
	done
}

# The same over socket pairs: the lanes stop at their next cancel check,
# the loader sees its lanes end or stops itself, and either way the error
# says cancelled (not a destination failure).  Needs PRE_COPY (Linux
# 6.2+): without it the whole state goes in stop-copy, which the bandwidth
# limit does not slow.
test_sigint_parallel_v2() {
	case $(uname -r) in
	6.1.*) skip "no PRE_COPY on $(uname -r): the migration ends before a signal" ;;
	esac
	begin
	SIZE=1048576 PROTO=v2 four_pairs mmap_layout=whole dirty_rate=0
	"$V" migrate -q --parallel 2 --max-bandwidth 256K $PAIRS 2> "$T/err" &
	pid=$!
	set -- $A
	wait_saving "$1" $pid
	interrupted $pid migration
	grep -q "^vfmig: migrate cancelled" "$T/err" || fail "not reported as a cancel"
	all_running_intact
	for b in $B; do
		[ "$(knob "$b" device_state)" = 1 ] || fail "destination $b not reset"
	done
}

if [ "${1:-}" != --one ]; then
	load_module_or_bail
	run_then_unload "$0" parallel "$@"
fi
tap_main "$0" parallel "$@"
