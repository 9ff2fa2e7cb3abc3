#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The vfmig engine and CLI over VFIO migration protocol v2 (in the VM, as
# root): v2 -> v2 live with dirty data (6.12: pre-copy rounds through
# PRECOPY_INFO; 6.1: no PRE_COPY, everything in stop-copy), v1 <-> v2 in
# both directions, a file (by splice, and by read/write when splice is
# refused), TCP, refused streams and destinations with the source running
# again, Ctrl-C mid pre-copy, --protocol against a device that does not
# speak it, info/status/inspect/recover.  Every migration ends
# with the source's checksum equal to the destination's.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/lib.sh"

T=${TMPDIR:-/tmp}/engine_v2_test.$$

# PRE_COPY came with Linux 6.2: the 6.1 device offers stop-copy only.
has_precopy() {
	case $(uname -r) in
	6.1.*) return 1 ;;
	*) return 0 ;;
	esac
}

test_v2_live_dirty() {
	begin
	a=$(mk vfmig-small protocol=v2 state_size=4194304 dirty_rate=2000000 seed=11)
	b=$(mk vfmig-small protocol=v2 state_size=4194304)
	# 4 MiB/s: the first pass alone takes about a second, so the
	# generator (a tick per 10 ms) dirties pages during pre-copy however
	# fast the path is (over a socket pair with a 4 MiB buffer, 16 MiB/s
	# converged after one round and finished in 8 ms, before any tick).
	"$V" migrate -v --max-bandwidth 4M --max-iterations 200 --from "$a" --to "$b" --json \
		> "$T/json" 2> "$T/log" || fail "migrate failed: $(cat "$T/log")"
	diag "$(cat "$T/json")"
	grep -q '"status": "completed"' "$T/json" || fail "status: $(cat "$T/json")"
	grep -q "device $a: opened as instance 0 (protocol v2" "$T/log" ||
		fail "source not driven with v2: $(cat "$T/log")"
	grep -q "device $b: opened as instance 0 (protocol v2" "$T/log" ||
		fail "destination not driven with v2"
	if has_precopy; then
		# Without PRE_COPY the source stops right after setup: whether a
		# generator tick (10 ms) came first is chance on a quiet host.
		[ "$(knob "$a" stat_bytes_dirtied)" -gt 0 ] || fail "nothing was dirtied"
		grep -q '"iterations": [1-9]' "$T/json" || fail "no pre-copy round on $(uname -r)"
		grep -q '"transferred": [1-9]' "$T/json" || fail "no transferred count"
	else
		grep -q '"iterations": 0,' "$T/json" || fail "pre-copy rounds without PRE_COPY"
		grep -q 'no pre-copy: stop-copy only' "$T/log" || fail "log does not say stop-copy only"
	fi
	same_state "$a" "$b"
}

cross() { # cross SRC_PROTOCOL DST_PROTOCOL: auto picks each side's only protocol
	a=$(mk vfmig-small protocol="$1" dirty_rate=5000000 seed=12 mmap_layout=sparse:2)
	b=$(mk vfmig-small protocol="$2")
	"$V" migrate -v --from "$a" --to "$b" 2> "$T/log" || fail "migrate $1 -> $2 failed: $(cat "$T/log")"
	grep -q "device $a: opened as instance 0 (protocol $1" "$T/log" || fail "source not on $1"
	grep -q "device $b: opened as instance 0 (protocol $2" "$T/log" || fail "destination not on $2"
	same_state "$a" "$b"
}

test_v1_to_v2() { begin; cross v1 v2; }
test_v2_to_v1() { begin; cross v2 v1; }

# Devices that speak both: each side's protocol chosen on the command line.
test_both_explicit() {
	begin
	a=$(mk vfmig-small protocol=both dirty_rate=5000000 seed=13) b=$(mk vfmig-small protocol=both)
	"$V" migrate -v --from-protocol v1 --to-protocol v2 --from "$a" --to "$b" 2> "$T/log" ||
		fail "v1 -> v2 failed: $(cat "$T/log")"
	grep -q "device $a: opened as instance 0 (protocol v1" "$T/log" || fail "source not on v1"
	grep -q "device $b: opened as instance 0 (protocol v2" "$T/log" || fail "destination not on v2"
	same_state "$a" "$b"
	# $a becomes the destination: its generator would change it once it runs
	# (a slower CLI, the sanitized one, let a tick land before the checksum).
	knob "$a" dirty_rate 0
	"$V" migrate -v --protocol v1 --to-protocol v2 --from "$b" --to "$a" 2> "$T/log" ||
		fail "v1 -> v2 back failed"
	grep -q "device $b: opened as instance 0 (protocol v1" "$T/log" || fail "--protocol not used"
	same_state "$b" "$a"
	# auto on a device that offers both: v2.
	"$V" migrate -v --from "$a" --to "$b" 2> "$T/log" || fail "auto failed"
	grep -q "device $a: opened as instance 0 (protocol v2" "$T/log" || fail "auto did not pick v2"
	same_state "$a" "$b"
}

test_v2_file_inspect() {
	begin
	a=$(mk vfmig-small protocol=v2 dirty_rate=10000000 seed=14)
	b=$(mk vfmig-small protocol=v2) c=$(mk vfmig-small protocol=v1)
	"$V" save "$a" -o "$T/s" -q || fail "save failed"
	"$V" inspect "$T/s" > "$T/i" || fail "inspect failed"
	diag "$(grep START "$T/i")"
	grep -q 'START id 1 "vfmig" instance 0 version 2 (protocol v2)' "$T/i" ||
		fail "inspect does not show protocol v2: $(cat "$T/i")"
	grep -q '^@.*EOF' "$T/i" || fail "no EOF in inspect output"
	"$V" resume "$b" -i "$T/s" -q || fail "resume into v2 failed"
	same_state "$a" "$b"
	# The same file into a v1-only device.
	"$V" resume "$c" -i "$T/s" -q || fail "resume of a v2 stream into v1 failed"
	[ "$(knob "$c" checksum)" = "$(knob "$a" checksum)" ] || fail "v1 resume checksum differs"
	# And a v1 file into a v2 device.
	"$V" save --offline "$c" -o "$T/s1" -q || fail "v1 save failed"
	"$V" inspect "$T/s1" | grep -q 'version 1 (protocol v1)' || fail "inspect: no protocol v1"
	"$V" resume "$b" -i "$T/s1" -q || fail "resume of a v1 stream into v2 failed"
	same_state "$c" "$b"
}

test_v2_offline() {
	begin
	a=$(mk vfmig-large protocol=v2 dirty_rate=50000000 seed=15) b=$(mk vfmig-large protocol=v2)
	"$V" -v save --offline --json "$a" -o "$T/s" > "$T/json" 2> "$T/sv" ||
		fail "offline save failed"
	grep -q '"iterations": 0,' "$T/json" || fail "offline save iterated: $(cat "$T/json")"
	# Chunk copies are a v1 region's: a v2 device is not asked (offload.c).
	grep -q "device $a: page hashes on the device's worker" "$T/sv" &&
		! grep -q "chunk copies" "$T/sv" || fail "offload for a v2 save: $(cat "$T/sv")"
	"$V" resume -q "$b" -i "$T/s" || fail "resume failed"
	same_state "$a" "$b"
}

test_v2_tcp() {
	begin
	# The VM's loopback may be down; a receiver left behind would hold the
	# TAP output pipe open, so it never shares stdout and dies with the test.
	ip link set lo up 2>/dev/null
	a=$(mk vfmig-small protocol=v2 dirty_rate=10000000 seed=16) b=$(mk vfmig-small protocol=v1)
	"$V" receive -q "$b" --bind 127.0.0.1 --listen 7791 > "$T/recv.out" 2> "$T/recv.err" &
	rpid=$!
	trap 'kill $rpid 2>/dev/null; cleanup' EXIT
	i=0
	until ss -ltn 2>/dev/null | grep -q '127.0.0.1:7791'; do
		i=$((i + 1))
		[ $i -lt 50 ] || fail "receiver never listened: $(cat "$T/recv.err")"
		sleep 0.2
	done
	"$V" send -q "$a" 127.0.0.1:7791 > "$T/send.out" 2> "$T/send.err" ||
		fail "send failed: $(cat "$T/send.err")"
	wait $rpid || fail "receive failed: $(cat "$T/recv.err")"
	same_state "$a" "$b"
}

test_v2_corrupt_stream() {
	begin
	a=$(mk vfmig-small protocol=v2 seed=17) b=$(mk vfmig-small protocol=v2)
	"$V" save -q "$a" -o "$T/s" || fail "save failed"
	cp "$T/s" "$T/bad"
	# One byte inside the first data blob: the device refuses the write
	# (EINVAL, into ERROR); the destination is reset.
	printf '\377' | dd of="$T/bad" bs=1 seek=4000 conv=notrunc 2>/dev/null
	expect_fail "resuming file refused" "$V" resume -q "$b" -i "$T/bad"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset after corruption"
	size=$(stat -c %s "$T/s")
	head -c $((size / 2)) "$T/s" > "$T/trunc"
	expect_fail "stream offset" "$V" resume -q "$b" -i "$T/trunc"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset after truncation"
	"$V" resume -q "$b" -i "$T/s" || fail "good stream refused after bad ones"
	same_state "$a" "$b"
}

# A destination that refuses mid-stream: the v2 source runs again, intact.
test_v2_destination_refuses() {
	begin
	a=$(mk vfmig-small protocol=v2 seed=18) b=$(mk vfmig-small protocol=v2 fault=resume_chunk)
	sum=$(knob "$a" checksum)
	expect_fail "running again" "$V" migrate -q --from "$a" --to "$b"
	running_intact "$a" "$sum"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset"
	"$V" migrate -q --from "$a" --to "$b" || fail "migration after the refusal failed"
	same_state "$a" "$b"
}

# A source whose arc fails into ERROR: cleanup resets it to running.
test_v2_source_error() {
	begin
	a=$(mk vfmig-small protocol=v2 seed=19 fault=transition) b=$(mk vfmig-small protocol=v2)
	expect_fail "running again" "$V" migrate -q --from "$a" --to "$b"
	[ "$(knob "$a" device_state)" = 1 ] || fail "source not running: $(knob "$a" device_state)"
	"$V" migrate -q --from "$a" --to "$b" || fail "migration after the fault failed"
	same_state "$a" "$b"
}

# A v2 source stopped by an earlier save: saved live again it never runs
# (the arc STOP -> PRE_COPY would run it), and a failed save leaves it stopped.
test_v2_stopped_source_stays_stopped() {
	begin
	a=$(mk vfmig-small protocol=v2 seed=22) b=$(mk vfmig-small protocol=v2)
	"$V" save -q "$a" -o "$T/s" || fail "save failed"
	[ "$(knob "$a" device_state)" = 0 ] || fail "source not stopped after its save"
	sum=$(knob "$a" checksum)
	gen=$(knob "$a" generation)
	knob "$a" dirty_rate 100000000
	knob "$a" fault save_chunk
	expect_fail "devices back as they were" "$V" save -q "$a" -o "$T/again"
	[ "$(knob "$a" device_state)" = 0 ] || fail "stopped source runs: $(knob "$a" device_state)"
	[ "$(knob "$a" generation)" = "$gen" ] || fail "the stopped source ran (generation moved)"
	# Held to 64 KiB/s, a pre-copy would take a second of running (and dirtying).
	"$V" save -q --max-bandwidth 64K --max-iterations 3 "$a" -o "$T/again" ||
		fail "second save failed"
	[ "$(knob "$a" device_state)" = 0 ] || fail "source not stopped after the second save"
	[ "$(knob "$a" generation)" = "$gen" ] || fail "the stopped source ran during its save"
	[ "$(knob "$a" checksum)" = "$sum" ] || fail "source state changed"
	cmp -s "$T/s" "$T/again" || diag "streams differ (same state; allowed)"
	"$V" resume -q "$b" -i "$T/again" || fail "resume failed"
	knob "$a" dirty_rate 0
	same_state "$a" "$b"
}

test_v2_sigint() {
	has_precopy || skip "no PRE_COPY on $(uname -r): test_v2_sigint_blocked covers it"
	begin
	a=$(mk vfmig-large protocol=v2 seed=20) b=$(mk vfmig-large protocol=v2)
	sum=$(knob "$a" checksum)
	# 16 MiB at 1 MiB/s, interrupted once data flows: on 6.12 mid pre-copy.
	"$V" migrate -q --max-bandwidth 1M --from "$a" --to "$b" > /dev/null 2> "$T/err" &
	pid=$!
	trap 'kill $pid 2>/dev/null; cleanup' EXIT
	wait_saving "$a" $pid
	st=$(knob "$a" device_state)
	diag "device_state $st at the interrupt"
	interrupted $pid migration
	[ "$st" = 3 ] || fail "not interrupted in pre-copy (device_state $st)"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset"
	migrates_again "$a" "$sum" "$b"
}

# A save blocked writing into a FIFO nobody reads (6.12: in pre-copy; 6.1:
# in stop-copy, the device stopped): SIGINT ends the blocked write.
test_v2_sigint_blocked() {
	begin
	a=$(mk vfmig-large protocol=v2 seed=23) b=$(mk vfmig-large protocol=v2)
	sum=$(knob "$a" checksum)
	mkfifo "$T/fifo"
	# Held open read-write, never read: opening does not wait for the save,
	# and the save blocks once the pipe is full.
	exec 3<> "$T/fifo"
	"$V" save -q "$a" -o "$T/fifo" > /dev/null 2> "$T/err" &
	pid=$!
	trap 'kill -KILL $pid 2>/dev/null; wait $pid; cleanup' EXIT
	if has_precopy; then want=3; else want=2; fi
	i=0
	until [ "$(knob "$a" device_state)" = $want ]; do
		i=$((i + 1))
		kill -0 $pid 2>/dev/null || fail "save ended early: $(cat "$T/err")"
		[ $i -lt 50 ] || fail "save never in device_state $want: $(knob "$a" device_state)"
		sleep 0.2
	done
	diag "device_state $want, $(knob "$a" stat_bytes_saved) bytes saved"
	sleep 1		# blocked in write() by now: the pipe holds 64 KiB
	interrupted $pid save
	exec 3<&-
	migrates_again "$a" "$sum" "$b"
}

# DATA by splice(2) both ways (saving file -> pipe -> stream file -> pipe
# -> resuming file), counted with strace; an O_APPEND stream refuses splice
# (EINVAL) and the save falls back to read/write with the same stream.
test_v2_splice() {
	command -v strace > /dev/null || skip "no strace in the guest"
	# LeakSanitizer cannot run under ptrace: the sanitized CLI leaves it off here.
	[ -z "${VFMIG_CLI:-}" ] || export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
	begin
	a=$(mk vfmig-large protocol=v2 seed=24) b=$(mk vfmig-large protocol=v2)
	c=$(mk vfmig-large protocol=v2)
	moved() { grep -c 'splice(.*) = [1-9]' "$1"; }
	strace -f -qq -e trace=splice -o "$T/tr-save" "$V" save -q --offline "$a" -o "$T/s" ||
		fail "save failed"
	strace -f -qq -e trace=splice -o "$T/tr-resume" "$V" resume -q "$b" -i "$T/s" ||
		fail "resume failed"
	diag "splice calls that moved data: save $(moved "$T/tr-save"), resume $(moved "$T/tr-resume")"
	# 16 MiB in reads of at most 1 MiB: two splices each, in and out.
	[ "$(moved "$T/tr-save")" -ge 32 ] || fail "save did not splice: $(head -3 "$T/tr-save")"
	[ "$(moved "$T/tr-resume")" -ge 16 ] ||
		fail "resume did not splice: $(head -3 "$T/tr-resume")"
	same_state "$a" "$b"
	: > "$T/s2"
	strace -f -qq -e trace=splice -o "$T/tr-append" "$V" save -q --offline "$a" -o - >> "$T/s2" ||
		fail "save to an O_APPEND stream failed"
	grep -q 'splice(.*EINVAL' "$T/tr-append" || fail "O_APPEND stream not refused: $(cat "$T/tr-append")"
	[ "$(grep -c 'splice(' "$T/tr-append")" -le 3 ] || fail "kept trying splice after EINVAL"
	cmp -s "$T/s" "$T/s2" || fail "the fallback's stream differs from the splice one"
	"$V" resume -q "$c" -i "$T/s2" || fail "resume of the fallback's stream failed"
	same_state "$a" "$c"
}

test_protocol_refused() {
	begin
	a=$(mk vfmig-small protocol=v1 seed=21) b=$(mk vfmig-small protocol=v2)
	sum=$(knob "$a" checksum)
	expect_fail -1 "device $a: does not speak migration protocol v2 (it offers v1)" \
		"$V" save --protocol v2 "$a" -o "$T/x"
	[ ! -e "$T/x" ] || fail "a refused save left a file"
	running_intact "$a" "$sum"
	expect_fail "device $b: does not speak migration protocol v1 (it offers v2)" \
		"$V" migrate --protocol v1 --from "$b" --to "$a"
	expect_fail "does not speak migration protocol v2" \
		"$V" migrate --to-protocol v2 --from "$b" --to "$a"
	expect_fail "not auto, v1 or v2" "$V" save --protocol v3 "$a" -o "$T/x"
	running_intact "$a" "$sum"
}

test_info_status_recover() {
	begin
	a=$(mk vfmig-small protocol=v2) b=$(mk vfmig-small protocol=both) c=$(mk vfmig-small)
	"$V" info "$a" > "$T/i" || fail "info failed"
	grep -q '^migration protocols: v2 (v2: STOP_COPY P2P' "$T/i" || fail "info: $(head -3 "$T/i")"
	"$V" info "$b" | grep -q '^migration protocols: v1 v2' || fail "info of a both device"
	"$V" info "$c" | grep -qx 'migration protocols: v1' || fail "info of a v1 device"
	if has_precopy; then
		grep -q 'PRE_COPY' "$T/i" || fail "no PRE_COPY on $(uname -r)"
		grep -q '^v2 stop-copy size: [1-9][0-9]* bytes (MIG_DATA_SIZE)' "$T/i" ||
			fail "no MIG_DATA_SIZE line on $(uname -r)"
	else
		grep -q 'no PRE_COPY' "$T/i" || fail "PRE_COPY on 6.1"
	fi
	"$V" status "$a" | grep -q '^  protocol *v2$' || fail "status: $("$V" status "$a")"
	"$V" status --json "$b" | grep -q '"protocol": "both"' || fail "status --json of both"
	# A v2-only device in the error state: recover resets it.
	knob "$a" fault error
	"$V" recover "$a" > "$T/rec" || fail "recover from error failed"
	grep -qx "$a: ERROR -> RUNNING by VFIO_DEVICE_RESET (device was in ERROR)" "$T/rec" ||
		fail "recover: $(cat "$T/rec")"
	"$V" recover "$a" > "$T/rec" || fail "recover from running failed"
	grep -qx "$a: RUNNING -> RUNNING by nothing to do" "$T/rec" || fail "recover: $(cat "$T/rec")"
	# A v2 destination in the error state is reset before the resume.
	d=$(mk vfmig-small protocol=v2 seed=22)
	knob "$a" fault error
	"$V" migrate --no-progress --from "$d" --to "$a" 2> "$T/err" || fail "migrate into ERROR failed"
	grep -q "destination $a: device was in ERROR; reset it before the resume" "$T/err" ||
		fail "no word about the reset: $(cat "$T/err")"
	same_state "$d" "$a"
}

if [ "${1:-}" != --one ]; then
	load_module_or_bail
	run_then_unload "$0" engine_v2 "$@"
fi
tap_main "$0" engine_v2 "$@"
