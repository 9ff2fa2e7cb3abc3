#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Crashes and faults mid-migration (in the VM, as root).  The engine is
# killed with SIGKILL, on the source side and, where it is a process of its
# own, on the destination side, in setup, mid pre-copy, mid stop-and-copy
# and mid resume, for `migrate`, `save | resume` and `send`/`receive` over
# loopback TCP.  Afterwards: both devices open again; `vfmig recover` brings
# the source back to RUNNING with exactly the state it had at the kill
# point; the destination holds its own old state or a cleared one (never
# part of the stream) and does not run if its engine died mid-resume; a
# second migration of the same source into the same destination succeeds
# with equal checksums.  Then the refusals that must be clean: module
# unload while a device is open, bad UUIDs, no module, no permission, a
# full disk.  The VM runner fails the run on any kernel warning.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/lib.sh"

T=${TMPDIR:-/tmp}/crash_test.$$
# 4 MiB at 1 MiB/s: pre-copy and the resume last seconds.  Stop-and-copy
# is not rate-limited (as in QEMU, the limit is lifted for the downtime):
# 32 MiB of it at a few hundred MB/s under TCG is long enough to be seen.
SIZE=4194304
BIG=33554432
BW=1M

cleanup_more() { # before the shared cleanup: engines killed, the full disk unmounted
	for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
	mountpoint -q "$T/full" 2>/dev/null && umount "$T/full"
}

begin() {
	PIDS=""
	scratch_begin
	trap 'exit 1' TERM	# fail() ends the test with SIGTERM: clean up too
	remove_all_mdevs
}

one_line() { # one_line FILE WHAT: exactly one line, starting "vfmig: "
	[ "$(wc -l < "$1")" = 1 ] || fail "$2: not one error line: $(cat "$1")"
	grep -q '^vfmig: ' "$1" || fail "$2: error line without 'vfmig: ': $(cat "$1")"
}

expect_refused() { # expect_refused PATTERN CMD...: non-zero exit, one stderr line matching
	pat=$1
	shift
	if "$@" > /dev/null 2> "$T/err"; then
		fail "succeeded but should fail: $*"
	fi
	diag "$(cat "$T/err")"
	one_line "$T/err" "$*"
	grep -q -- "$pat" "$T/err" || fail "error does not mention '$pat'"
}

# alive PID...: every engine process of this run still runs.
alive() {
	for _p in "$@" $PIDS; do
		kill -0 "$_p" 2>/dev/null || return 1
	done
}

# until_phase PID COND...: poll until COND holds; fail if PID (or another
# process of the run) ends first.
until_phase() {
	_pid=$1
	shift
	_n=0
	until "$@"; do
		alive "$_pid" || fail "engine ended before the phase: $* ($(cat "$T"/*.err 2>/dev/null))"
		_n=$((_n + 1))
		[ $_n -lt 1000 ] || fail "phase never reached: $*"
		sleep 0.02
	done
}

# spin_phase PID COND...: the same with shell builtins only, no sleep, for
# the short phases (setup, stop-and-copy).
spin_phase() {
	_pid=$1
	shift
	until "$@"; do
		alive "$_pid" || fail "engine ended before the phase: $* ($(cat "$T"/*.err 2>/dev/null))"
	done
}

# The engine has its devices open: stdin/out/err plus a VFIO container,
# group and device fd (counted with builtins: an ls would be too slow).
has_vfio() {
	set -- /proc/"$1"/fd/*
	[ $# -ge 6 ]
}
in_state() { [ "$(knob "$1" device_state)" = "$2" ]; }
in_precopy() { in_state "$1" 3 && [ "$(knob "$1" stat_bytes_saved)" -gt "$2" ]; }
in_resume() { in_state "$1" 4 && [ "$(knob "$1" stat_bytes_restored)" -gt "$2" ]; }

PORT=7700
nosend=""
# start MODE [options]: run one migration a -> b in the background; spid is
# the source side's process, dpid the destination side's (the same for
# migrate).  A tcp destination is listening when start returns.
start() {
	mode=$1
	shift
	rm -f "$T/src.err" "$T/dst.err" "$T/p"
	case $mode in
	migrate)
		"$V" migrate -q "$@" --from "$a" --to "$b" 2> "$T/src.err" &
		spid=$! dpid=$!
		;;
	pipe)
		mkfifo "$T/p"
		"$V" resume -q "$b" -i - < "$T/p" 2> "$T/dst.err" &
		dpid=$!
		"$V" save -q "$@" "$a" -o - > "$T/p" 2> "$T/src.err" &
		spid=$!
		;;
	tcp)
		PORT=$((PORT + 1))
		"$V" receive -q "$b" --listen $PORT --bind 127.0.0.1 2> "$T/dst.err" &
		dpid=$!
		until_phase $dpid eval "ss -ltn | grep -q ':$PORT '"
		[ "$nosend" ] && { spid=""; PIDS="$dpid"; return; }
		"$V" send -q "$@" "$a" 127.0.0.1:$PORT 2> "$T/src.err" &
		spid=$!
		;;
	esac
	PIDS="$spid $dpid"
}

# crash MODE PHASE SIDE: kill -9 the source (src) or destination (dst)
# side's engine at PHASE (setup, precopy, stopcopy, resume), then check.
crash() {
	mode=$1 phase=$2 side=$3
	begin
	rate=0 size=$SIZE
	[ "$phase" = setup ] || rate=2000000
	[ "$phase" = stopcopy ] && size=$BIG
	a=$(mk vfmig-small state_size=$size seed=21 dirty_rate=$rate)
	b=$(mk vfmig-small state_size=$size seed=22)
	zero=$ZERO_SMALL bsum=$(knob "$b" checksum)
	[ "$size" = "$BIG" ] && zero=$ZERO_BIG
	[ "$zero" != "$bsum" ] || fail "cleared and old destination state look alike"
	saved0=$(knob "$a" stat_bytes_saved) restored0=$(knob "$b" stat_bytes_restored)

	# stopcopy: the first measured round (1 MiB/s) puts the rest under a
	# 2000 s threshold, so nearly all of it goes in stop-and-copy.
	dl=1
	[ "$phase" = stopcopy ] && dl=2000000
	nosend=""
	if [ "$phase" = setup ] && [ "$side" = dst ] && [ "$mode" = tcp ]; then
		# The receiver has its device open and waits for the sender.
		nosend=1
		start tcp
	elif [ "$phase" = setup ] && [ "$side" = src ] && [ "$mode" = pipe ]; then
		# save opens its device, then its output: a FIFO nobody reads
		# holds it there, devices open and nothing sent yet.
		mkfifo "$T/p"
		"$V" save -q "$a" -o "$T/p" 2> "$T/src.err" &
		spid=$! dpid=""
		PIDS=$spid
	else
		start "$mode" --max-bandwidth $BW --downtime-limit $dl
	fi
	nosend=""
	victim=$spid
	[ "$side" = dst ] && victim=$dpid
	case $phase in
	setup) spin_phase "$victim" has_vfio "$victim" ;;
	precopy) until_phase "$victim" in_precopy "$a" "$saved0" ;;
	stopcopy) spin_phase "$victim" in_state "$a" 2 ;;
	resume) until_phase "$victim" in_resume "$b" "$restored0" ;;
	esac
	# The state at the kill point, made exact: no more dirtying from here
	# (a stopped source does not dirty; a running one finishes its tick).
	knob "$a" dirty_rate 0
	if [ "$phase" = stopcopy ] || [ "$phase" = setup ]; then
		# Killed at once: in stop-and-copy the source is stopped, in
		# setup it never dirtied, so its state now is the kill point's.
		kill -9 "$victim"
		sum=$(knob "$a" checksum)
	else
		sleep 0.1
		sum=$(knob "$a" checksum)
		kill -9 "$victim"
	fi
	wait "$victim" 2>/dev/null
	rc=$?
	diag "kill -9 $side ($mode) at $phase: source in state $(knob "$a" device_state), destination in $(knob "$b" device_state), $(knob "$a" stat_bytes_saved) bytes saved of $size"
	[ $rc = 137 ] || fail "the engine was not killed mid-run (exit status $rc)"
	# The other side notices by itself and fails with one line; only a
	# receiver whose sender died before connecting waits on, until its
	# user gives up (SIGTERM, as a Ctrl-C).
	for p in $spid $dpid; do
		[ "$p" = "$victim" ] && continue
		_n=0 _max=100
		[ "$mode$phase$side" = tcpsetupsrc ] && _max=30
		while kill -0 "$p" 2>/dev/null && [ $_n -lt $_max ]; do
			sleep 0.1
			_n=$((_n + 1))
		done
		if kill -0 "$p" 2>/dev/null; then
			[ "$mode$phase$side" = tcpsetupsrc ] || fail "the surviving side hangs"
			kill -TERM "$p"
		fi
		wait "$p" && fail "the surviving side exited 0"
	done
	for f in src dst; do
		p=$spid
		[ "$f" = dst ] && p=$dpid
		# Only the killed side may leave no word.
		if [ -n "$p" ] && [ "$p" != "$victim" ] && [ ! -s "$T/$f.err" ]; then
			fail "the surviving $f failed without an error line"
		fi
		[ -s "$T/$f.err" ] || continue
		diag "$f: $(cat "$T/$f.err")"
		one_line "$T/$f.err" "surviving $f"
	done
	PIDS=""

	# Both devices open again (the source: by vfmig recover, below).
	"$V" info "$b" > /dev/null || fail "destination cannot be opened after the kill"

	# The destination never holds part of the stream, and if its engine
	# died it does not run (unless it was never touched).  Killed after
	# it had verified the whole stream, it holds that, stopped.
	dsum=$(knob "$b" checksum) dst=$(knob "$b" device_state)
	diag "destination: state $dst, checksum $dsum (old $bsum, cleared $zero)"
	[ "$dsum" = "$bsum" ] || [ "$dsum" = "$zero" ] || { [ "$dsum" = "$sum" ] && [ "$dst" = 0 ]; } ||
		fail "destination holds partial state: $dsum"
	if [ "$side" = dst ] || [ "$mode" = migrate ]; then
		[ "$dst" != 1 ] || [ "$dsum" = "$bsum" ] || fail "destination runs cleared state by itself"
		[ "$dst" != 4 ] || fail "destination still RESUMING after its engine died"
	else
		[ "$dst" = 1 ] || fail "destination not reset to running by its engine: $dst"
	fi

	# The source runs again with exactly the state of the kill point.
	"$V" recover "$a" > "$T/rec" || fail "recover of the source failed"
	diag "$(cat "$T/rec")"
	grep -q "^$a: .* -> running by " "$T/rec" || fail "recover does not say what it did"
	running_intact "$a" "$sum"

	# And migrates again into the same destination, whatever it was left in.
	start "$mode"
	wait "$spid" || fail "second migration failed (source side): $(cat "$T/src.err")"
	[ "$dpid" = "$spid" ] || wait "$dpid" ||
		fail "second migration failed (destination side): $(cat "$T/dst.err")"
	PIDS=""
	same_state "$a" "$b"
}

test_migrate_setup() { crash migrate setup src; }
test_migrate_precopy() { crash migrate precopy src; }
test_migrate_stopcopy() { crash migrate stopcopy src; }
test_pipe_save_setup() { crash pipe setup src; }
test_pipe_save_precopy() { crash pipe precopy src; }
test_pipe_save_stopcopy() { crash pipe stopcopy src; }
test_pipe_resume_setup() { crash pipe setup dst; }
test_pipe_resume_mid_resume() { crash pipe resume dst; }
test_pipe_resume_stopcopy() { crash pipe stopcopy dst; }
test_tcp_send_setup() { crash tcp setup src; }
test_tcp_send_precopy() { crash tcp precopy src; }
test_tcp_send_stopcopy() { crash tcp stopcopy src; }
test_tcp_receive_setup() { crash tcp setup dst; }
test_tcp_receive_mid_resume() { crash tcp resume dst; }
test_tcp_receive_stopcopy() { crash tcp stopcopy dst; }

# Destinations left in the error state or RESUMING: the engine resets them
# first; `vfmig recover` says what it did in each state.
test_recover_states() {
	begin
	a=$(mk vfmig-small seed=31) b=$(mk vfmig-small seed=32 fault=error)
	[ "$(knob "$b" device_state)" = 6 ] || fail "fault=error did not give the error state"
	"$V" migrate --no-progress --from "$a" --to "$b" 2> "$T/err" || fail "migrate into an error-state destination failed: $(cat "$T/err")"
	grep -q "destination $b: device was in error; reset it before the resume" "$T/err" ||
		fail "no word about the reset: $(cat "$T/err")"
	same_state "$a" "$b"
	"$V" recover "$a" > "$T/rec" || fail "recover from stop failed"
	grep -qx "$a: stop -> running by device_state write" "$T/rec" || fail "recover: $(cat "$T/rec")"
	knob "$b" fault error
	"$V" recover "$b" > "$T/rec" || fail "recover from error failed"
	grep -qx "$b: error -> running by VFIO_DEVICE_RESET (device was in error)" "$T/rec" ||
		fail "recover: $(cat "$T/rec")"
	sum=$(knob "$a" checksum)
	"$V" recover "$a" > "$T/rec" || fail "recover from running failed"
	grep -qx "$a: running -> running by device_state write" "$T/rec" || fail "recover: $(cat "$T/rec")"
	running_intact "$a" "$sum"
	expect_refused "recover: 'nope' is not a device UUID" "$V" recover nope
}

test_unload_while_open() {
	begin
	a=$(mk vfmig-small seed=41) b=$(mk vfmig-small)
	sum=$(knob "$a" checksum)
	# save opens its devices before its output: a FIFO nobody reads holds
	# the device open without touching it.
	mkfifo "$T/fifo"
	"$V" save -q "$a" -o "$T/fifo" 2> /dev/null &
	pid=$!
	PIDS=$pid
	until_phase $pid has_vfio $pid
	expect_refused "a vfmig device is still open" "$V" module unload
	grep -q '^vfmig ' /proc/modules || fail "module gone although a device was open"
	kill -9 $pid
	wait $pid 2>/dev/null
	PIDS=""
	running_intact "$a" "$sum"
	"$V" migrate -q --from "$a" --to "$b" || fail "migrate after the refused unload failed"
	same_state "$a" "$b"
}

test_bad_uuids() {
	begin
	a=$(mk vfmig-small seed=51)
	sum=$(knob "$a" checksum)
	none=01234567-89ab-cdef-0123-456789abcdef
	expect_refused "not a device UUID" "$V" info not-a-uuid
	expect_refused "not a device UUID" "$V" migrate --from "$a" --to 1234
	expect_refused "$none: no such mdev device" "$V" migrate --from "$a" --to "$none"
	expect_refused "$none: no such mdev device" "$V" save -q "$none" -o "$T/x"
	expect_refused "$none: no such mdev device" "$V" recover "$none"
	expect_refused "mdev remove $none" "$V" mdev remove "$none"
	[ ! -e "$T/x" ] || fail "a failed save left a file behind"
	running_intact "$a" "$sum"
}

test_no_permission() {
	command -v setpriv > /dev/null || skip "setpriv is not installed"
	begin
	a=$(mk vfmig-small seed=61) b=$(mk vfmig-small)
	sum=$(knob "$a" checksum)
	nobody="setpriv --reuid=65534 --regid=65534 --clear-groups"
	chmod 777 "$T"
	expect_refused "Permission denied" $nobody "$V" save -q "$a" -o "$T/x"
	expect_refused "Permission denied" $nobody "$V" migrate -q --from "$a" --to "$b"
	expect_refused "Permission denied" $nobody "$V" recover "$a"
	expect_refused "Permission denied" $nobody "$V" mdev create vfmig-small
	expect_refused "not permitted" $nobody "$V" module unload
	[ ! -e "$T/x" ] || fail "a refused save left a file behind"
	running_intact "$a" "$sum"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination touched"
}

test_full_disk() {
	begin
	a=$(mk vfmig-small state_size=$SIZE seed=71 dirty_rate=2000000)
	mkdir -p "$T/full"
	mount -t tmpfs -o size=256k tmpfs "$T/full" || skip "cannot mount a tmpfs"
	expect_refused "No space left on device" "$V" save -q "$a" -o "$T/full/s"
	[ ! -e "$T/full/s" ] || fail "the partial stream was left on the full disk"
	[ "$(knob "$a" device_state)" = 1 ] || fail "source not running after the full disk"
	knob "$a" dirty_rate 0
	sleep 0.1
	sum=$(knob "$a" checksum)
	expect_refused "No space left on device" "$V" save -q --offline "$a" -o "$T/full/s"
	running_intact "$a" "$sum"
	umount "$T/full"
}

# Last: the module goes away and comes back.
test_no_module() {
	begin
	for u in $(ls "$S" 2>/dev/null); do "$V" mdev remove "$u"; done
	"$V" module unload || fail "module unload with no device failed"
	none=01234567-89ab-cdef-0123-456789abcdef
	expect_refused "vfmig module is not loaded" "$V" mdev list
	expect_refused "is the vfmig module loaded" "$V" mdev types
	expect_refused "is the vfmig module loaded" "$V" mdev create vfmig-small
	expect_refused "the vfmig module is not loaded" "$V" info "$none"
	expect_refused "the vfmig module is not loaded" "$V" migrate --from "$none" --to 11111111-2222-3333-4444-555555555555
	expect_refused "the vfmig module is not loaded" "$V" recover "$none"
	"$V" module load > /dev/null || fail "module load failed"
	a=$(mk vfmig-small seed=81) b=$(mk vfmig-small)
	"$V" migrate -q --from "$a" --to "$b" || fail "migrate after reload failed"
	same_state "$a" "$b"
}

if [ "${1:-}" != --one ]; then
	load_module_or_bail
	ip link set lo up 2>/dev/null	# the VM's loopback starts down
	# What a cleared device of each size reads: a fresh one's checksum.
	for sz in SMALL:$SIZE BIG:$BIG; do
		u=$("$V" mdev create vfmig-small) && echo "${sz#*:}" > "$S/$u/vfmig/state_size" &&
			read -r c < "$S/$u/vfmig/checksum" && "$V" mdev remove "$u" ||
			{ echo "Bail out! cleared checksum"; exit 1; }
		export "ZERO_${sz%%:*}=$c"
	done
	run_then_unload "$0" crash "$@"
fi
tap_main "$0" crash "$@"
