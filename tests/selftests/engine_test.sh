#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The vfmig engine and CLI against real devices (in the VM, as root): live
# migration per mmap layout, several devices per stream, file/pipe/TCP
# across network namespaces, offline, convergence and its failure, Ctrl-C,
# refused streams and destinations.  Every migration ends with the source's
# checksum equal to the destination's.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/lib.sh"

T=${TMPDIR:-/tmp}/engine_test.$$
DEVS=""

live() { # live TYPE KNOBS...: live migration with dirty generation on
	begin
	# The generator runs while the device is open, on 10 ms ticks.  At
	# 16 MiB/s 4 MiB fit the 300 ms downtime limit at once and went in one
	# stop-and-copy of ~35 ms, sometimes inside one tick (nothing dirtied);
	# at 8 MiB/s they take pre-copy rounds, ~250 ms, and 2 MB/s still converges.
	a=$(mk "$@" state_size=4194304 dirty_rate=2000000 seed=11)
	b=$(mk "$@" state_size=4194304)
	"$V" migrate --max-bandwidth 8M --from "$a" --to "$b" --json > "$T/json" ||
		fail "migrate failed"
	grep -q '"status": "completed"' "$T/json" || fail "status: $(cat "$T/json")"
	[ "$(knob "$a" stat_bytes_dirtied)" -gt 0 ] || fail "nothing was dirtied"
	same_state "$a" "$b"
}

test_live_trapped() { live vfmig-small mmap_layout=none; }
test_live_whole() { live vfmig-small mmap_layout=whole; }
test_live_sparse_rotate() {
	live vfmig-small data_size=65536 mmap_layout=sparse:4 data_offset_policy=rotate
}
test_live_sparse_straddle() {
	live vfmig-small data_size=65536 mmap_layout=sparse:3 data_offset_policy=straddle
}
test_live_trapped_no_mmap() {
	begin
	a=$(mk vfmig-small mmap_layout=sparse:2 data_offset_policy=gap dirty_rate=5000000)
	b=$(mk vfmig-small mmap_layout=whole)
	"$V" migrate --no-mmap --from "$a" --to "$b" -q || fail "migrate failed"
	same_state "$a" "$b"
}

test_several_devices() {
	begin
	a1=$(mk vfmig-small dirty_rate=10000000 seed=1) b1=$(mk vfmig-small)
	a2=$(mk vfmig-large seed=2 mmap_layout=whole) b2=$(mk vfmig-large mmap_layout=none)
	a3=$(mk vfmig-small seed=3 mmap_layout=sparse:2) b3=$(mk vfmig-small)
	"$V" migrate -q --from "$a1" --to "$b1" --from "$a2" --to "$b2" --from "$a3" --to "$b3" ||
		fail "migrate of three pairs failed"
	same_state "$a1" "$b1"
	same_state "$a2" "$b2"
	same_state "$a3" "$b3"
	# And back through one file: three devices, three instances.
	c1=$a1 c2=$a2 c3=$a3
	"$V" save -q "$b1" "$b2" "$b3" -o "$T/s" || fail "save of three failed"
	"$V" inspect "$T/s" > "$T/inspect" || fail "inspect failed"
	[ "$(grep -c 'START.*"vfmig" instance' "$T/inspect")" = 3 ] || fail "not 3 START sections"
	"$V" resume -q "$c1" "$c2" "$c3" -i "$T/s" || fail "resume of three failed"
	same_state "$b1" "$c1"
	same_state "$b2" "$c2"
	same_state "$b3" "$c3"
}

# The direct data window (device.md): chunks of device memory at the region's
# end, live with dirty generation, through a file, into a staged destination
# and over TCP; mmapped on both ends and trapped on one.
test_direct_window() {
	begin_netns
	w="state_size=16777216 data_size=8388608 mmap_layout=whole data_window=direct"
	a=$(mk vfmig-large $w dirty_rate=2000000 seed=21) b=$(mk vfmig-large $w)
	"$V" migrate --max-bandwidth 64M --json --from "$a" --to "$b" > "$T/json" ||
		fail "live migrate between direct windows failed"
	grep -q '"status": "completed"' "$T/json" || fail "status: $(cat "$T/json")"
	same_state "$a" "$b"
	[ "$(knob "$b" stat_chunks_restored)" -ge 8 ] || fail "fewer chunks than 4 MiB runs"
	knob "$a" dirty_rate 0
	c=$(mk vfmig-large state_size=16777216 data_window=direct mmap_layout=none data_size=65536)
	"$V" save -q --offline "$b" -o "$T/s" || fail "save from a direct window failed"
	"$V" resume -q "$c" -i "$T/s" || fail "resume into a trapped direct window failed"
	same_state "$b" "$c"
	d=$(mk vfmig-large state_size=16777216)
	"$V" migrate -q --offline --from "$c" --to "$d" || fail "direct into staged failed"
	same_state "$c" "$d"
	tcp_migrate "$d" "$a"
	[ "$(cat "$T/send.rc")" = 0 ] && [ "$(cat "$T/recv.rc")" = 0 ] ||
		fail "TCP into a direct window failed"
	same_state "$d" "$a"
}

# A state whose zero pages alternate with others (SPARSE records, device.md
# "Zero pages"), live with dirty generation that keeps the zero pages zero,
# into a direct window (the records go through its staging area), then
# saved offline from the direct window into a file and resumed trapped.
test_zero_mixed() {
	begin
	z="state_size=8388608 data_size=4194304"
	a=$(mk vfmig-large $z mmap_layout=whole fill=zero:50 dirty_rate=2000000 seed=31)
	b=$(mk vfmig-large $z mmap_layout=whole data_window=direct)
	"$V" migrate --max-bandwidth 16M --json --from "$a" --to "$b" > "$T/json" ||
		fail "live migrate of a zero:50 state failed"
	grep -q '"status": "completed"' "$T/json" || fail "status: $(cat "$T/json")"
	[ "$(knob "$a" stat_bytes_dirtied)" -gt 0 ] || fail "nothing was dirtied"
	# Half the pages zero: the stream is well under the state's size.
	moved=$(sed -n 's/.*"transferred": \([0-9]*\).*/\1/p' "$T/json")
	[ "${moved:-0}" -gt 0 ] && [ "$moved" -lt 8388608 ] || fail "$moved bytes moved for 8 MiB"
	same_state "$a" "$b"
	c=$(mk vfmig-large $z mmap_layout=none)
	"$V" save -q --offline "$b" -o "$T/z" || fail "save of a zero:50 state from a direct window failed"
	"$V" resume -q "$c" -i "$T/z" || fail "resume into a trapped destination failed"
	same_state "$b" "$c"
}

test_file() {
	begin
	a=$(mk vfmig-small dirty_rate=10000000 seed=5 mmap_layout=sparse:2) b=$(mk vfmig-small)
	"$V" save "$a" -o "$T/s" -q || fail "save failed"
	"$V" inspect "$T/s" > "$T/i" || fail "inspect failed"
	grep -q '^@.*EOF' "$T/i" || fail "no EOF in inspect output"
	"$V" resume "$b" -i "$T/s" -q || fail "resume failed"
	same_state "$a" "$b"
}

test_pipe() {
	begin
	a=$(mk vfmig-small dirty_rate=2000000 seed=6 mmap_layout=whole) b=$(mk vfmig-small)
	"$V" -v save --no-progress "$a" -o - 2> "$T/sv" | "$V" -v resume --no-progress "$b" -i - 2> "$T/rv" ||
		fail "save | resume failed"
	# Both ends on this host at once: page hashes stay in their threads.
	grep -q "save: 1 device" "$T/sv" || fail "no -v output: $(cat "$T/sv")"
	! grep -q "page hashes on the device's worker" "$T/sv" "$T/rv" ||
		fail "hashes offloaded through a pipe"
	same_state "$a" "$b"
}

# A save into a regular file and the resume out of it hash, and copy their
# chunks, on the devices' workers (offload.c), live with the generator
# writing, and put the knobs back.
test_file_hash_offload() {
	begin
	[ "$(nproc)" -ge 2 ] || skip "one CPU: the engine does not offload"
	a=$(mk vfmig-small dirty_rate=10000000 seed=8 mmap_layout=whole) b=$(mk vfmig-small)
	"$V" -v save --no-progress "$a" -o "$T/s" 2> "$T/sv" || fail "save failed: $(cat "$T/sv")"
	grep -q "device $a: page hashes on the device's worker (file stream)" "$T/sv" ||
		fail "save did not offload: $(cat "$T/sv")"
	"$V" -v resume --no-progress "$b" -i "$T/s" 2> "$T/rv" || fail "resume failed: $(cat "$T/rv")"
	grep -q "device $b: page hashes on the device's worker" "$T/rv" ||
		fail "resume did not offload: $(cat "$T/rv")"
	[ "$(knob "$a" hash_offload)" = 0 ] && [ "$(knob "$b" hash_offload)" = 0 ] ||
		fail "hash_offload left set"
	# v1 devices copy their chunks on the worker too (kernel/migration.c).
	grep -q "device $a: chunk copies on the device's worker (file stream)" "$T/sv" &&
		grep -q "device $b: chunk copies on the device's worker" "$T/rv" ||
		fail "chunk copies not offloaded: $(cat "$T/sv" "$T/rv")"
	[ "$(knob "$a" chunk_offload)" = 0 ] && [ "$(knob "$b" chunk_offload)" = 0 ] ||
		fail "chunk_offload left set"
	[ "$(knob "$a" stat_hash_spans)" -gt 0 ] && [ "$(knob "$b" stat_hash_spans)" -gt 0 ] ||
		fail "no span went to a worker"
	same_state "$a" "$b"
	# A resume refused half-way puts the knob back too.
	c=$(mk vfmig-small)
	head -c 9000 "$T/s" > "$T/cut"
	! "$V" resume -q "$c" -i "$T/cut" 2> /dev/null || fail "a cut stream resumed"
	[ "$(knob "$c" hash_offload)" = 0 ] && [ "$(knob "$c" chunk_offload)" = 0 ] ||
		fail "an offload knob left set after a failed resume"
	# A knob the user set stays set.
	knob "$b" hash_offload 1
	"$V" save -q --offline "$b" -o "$T/s2" || fail "save failed"
	[ "$(knob "$b" hash_offload)" = 1 ] || fail "the user's hash_offload=1 was reset"
}

# receive in namespace vfa, send from vfb; the sender's exit status and
# stderr land in $T/send.rc and $T/send.err.
tcp_migrate() { # tcp_migrate SRC DST [send options]
	src=$1 dst=$2
	shift 2
	ip netns exec vfa "$V" receive -q "$dst" --listen 7777 2> "$T/recv.err" &
	rpid=$!
	wait_listening 7777
	ip netns exec vfb "$V" send -q "$@" "$src" 10.77.0.1:7777 2> "$T/send.err"
	echo $? > "$T/send.rc"
	wait $rpid
	echo $? > "$T/recv.rc"
	diag "send: rc $(cat "$T/send.rc") $(cat "$T/send.err")"
	diag "receive: rc $(cat "$T/recv.rc") $(cat "$T/recv.err")"
}

test_tcp_netns() {
	begin_netns
	a=$(mk vfmig-small dirty_rate=10000000 seed=7 mmap_layout=sparse:2) b=$(mk vfmig-small)
	tcp_migrate "$a" "$b"
	[ "$(cat "$T/send.rc")" = 0 ] && [ "$(cat "$T/recv.rc")" = 0 ] || fail "TCP migration failed"
	same_state "$a" "$b"
	# A destination that refuses: the source runs again, state intact.
	a=$(mk vfmig-small seed=8) b=$(mk vfmig-small fault=resume_chunk)
	sum=$(knob "$a" checksum)
	tcp_migrate "$a" "$b"
	[ "$(cat "$T/send.rc")" != 0 ] || fail "send succeeded into a failing destination"
	[ "$(cat "$T/recv.rc")" != 0 ] || fail "receive succeeded with a failing device"
	grep -q 'running again' "$T/send.err" || fail "sender does not say the source runs again"
	running_intact "$a" "$sum"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset to running"
}

test_offline() {
	begin
	a=$(mk vfmig-small dirty_rate=50000000 seed=9) b=$(mk vfmig-small)
	"$V" save --offline --json "$a" -o "$T/s" > "$T/json" || fail "offline save failed"
	grep -q '"iterations": 0,' "$T/json" || fail "offline save iterated: $(cat "$T/json")"
	grep -q '"offline": true' "$T/json" || fail "not reported offline"
	"$V" resume -q "$b" -i "$T/s" || fail "resume failed"
	same_state "$a" "$b"
}

# vfmig status reads a save another process drives: pre-copy with bytes
# pending while the stream's reader stalls, then the counters after resume.
test_status() {
	begin
	a=$(mk vfmig-large seed=21) b=$(mk vfmig-large)
	mkfifo "$T/fifo"
	"$V" save -q "$a" -o "$T/fifo" &
	pid=$!
	exec 3< "$T/fifo"	# opened, never read yet: the save blocks in pre-copy
	i=0
	until "$V" status --json "$a" > "$T/st" &&
		grep -q '"device_state": "pre-copy"' "$T/st"; do
		i=$((i + 1))
		[ $i -lt 100 ] || fail "save never seen in pre-copy: $(cat "$T/st")"
		sleep 0.1
	done
	pending=$(sed -n 's/.*"pending_bytes": \([0-9]*\).*/\1/p' "$T/st")
	[ "${pending:-0}" -gt 0 ] || fail "no pending bytes in pre-copy: $(cat "$T/st")"
	diag "pre-copy, $pending bytes pending"
	cat <&3 > "$T/s"
	exec 3<&-
	wait $pid || fail "save failed"
	"$V" resume -q "$b" -i "$T/s" || fail "resume failed"
	same_state "$a" "$b"
	"$V" status --json "$a" "$b" > "$T/st" || fail "status failed"
	grep -q "\"uuid\": \"$a\", \"device_state\": \"stop\", \"pending_bytes\": 0," "$T/st" ||
		fail "source after the save: $(cat "$T/st")"
	grep "\"uuid\": \"$b\", \"device_state\": \"running\"" "$T/st" |
		grep -q '"stat_chunks_restored": [1-9]' || fail "destination after resume: $(cat "$T/st")"
	"$V" status "$a" | grep -q 'device_state *stop (0)' || fail "text status: $("$V" status "$a")"
	expect_fail "not a UUID" "$V" status nope
}

# vfmig -v/-vv: the library's log callback shows the engine's steps.
test_verbose() {
	begin
	a=$(mk vfmig-small state_size=1048576 dirty_rate=2000000 seed=3)
	b=$(mk vfmig-small state_size=1048576) c=$(mk vfmig-small state_size=1048576)
	"$V" -vv migrate --no-progress --max-bandwidth 4M --from "$a" --to "$b" 2> "$T/v" ||
		fail "migrate -vv failed: $(cat "$T/v")"
	while IFS= read -r l; do diag "$l"; done < "$T/v"
	for step in "device $a: opened as instance 0 (protocol v1, mapped data areas)" \
		"device $b: opened as instance 0" "save: 1 device, live" "load: 1 device" \
		"save: pre-copy after" "save: stop-and-copy after" "save: completed, " \
		"load: stream verified, devices running"; do
		grep -qF "vfmig: $step" "$T/v" || fail "no '$step' in the -vv output"
	done
	grep -q '^vfmig: save: pre-copy round [0-9]*: ' "$T/v" || fail "-vv shows no pre-copy round"
	same_state "$a" "$b"
	# Without -v the steps stay hidden.
	"$V" migrate --no-progress --from "$b" --to "$c" 2> "$T/q" || fail "migrate failed"
	! grep -q 'opened as instance' "$T/q" || fail "steps shown without -v: $(cat "$T/q")"
	same_state "$b" "$c"
}

test_converging() {
	begin
	a=$(mk vfmig-large dirty_rate=2000000 seed=10) b=$(mk vfmig-large)
	"$V" migrate --json --max-iterations 50 --from "$a" --to "$b" > "$T/json" ||
		fail "a 2 MB/s dirty rate did not converge"
	diag "$(cat "$T/json")"
	grep -q '"iterations": [1-9]' "$T/json" || fail "no pre-copy iteration"
	same_state "$a" "$b"
}

test_non_converging() {
	begin
	# The whole state dirtied every tick, the stream held to 256 KiB/s.
	a=$(mk vfmig-small dirty_rate=1000000000 seed=12) b=$(mk vfmig-small)
	expect_fail "did not converge" "$V" migrate -q --max-bandwidth 256K --downtime-limit 1 \
		--max-iterations 3 --from "$a" --to "$b"
	[ "$(knob "$a" device_state)" = 1 ] || fail "source not running after giving up"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset"
	# --json as well: the cause on stderr (printing the statistics once
	# cleared it) and in the JSON on stdout.
	expect_fail "did not converge after 3 iterations" "$V" migrate --json --max-bandwidth 256K \
		--downtime-limit 1 --max-iterations 3 --from "$a" --to "$b" > "$T/nc.json"
	grep -q '"status": "failed".*"error": "[^"]*did not converge' "$T/nc.json" ||
		fail "--json of a failed migration: $(cat "$T/nc.json")"
	[ "$(knob "$a" device_state)" = 1 ] || fail "source not running after giving up (--json)"
	# Intact and migratable once the load drops.
	knob "$a" dirty_rate 0
	"$V" migrate -q --from "$a" --to "$b" || fail "second migration failed"
	same_state "$a" "$b"
}

test_sigint() {
	begin
	a=$(mk vfmig-large seed=13 mmap_layout=whole) b=$(mk vfmig-large)
	sum=$(knob "$a" checksum)
	# 16 MiB at 1 MiB/s: sixteen seconds, interrupted once data flows.
	"$V" migrate -q --max-bandwidth 1M --from "$a" --to "$b" 2> "$T/err" &
	pid=$!
	wait_saving "$a" $pid
	interrupted $pid migration
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset"
	migrates_again "$a" "$sum" "$b"
}

test_corrupt_and_truncated() {
	begin
	a=$(mk vfmig-small seed=14) b=$(mk vfmig-small)
	"$V" save -q --offline "$a" -o "$T/s" || fail "save failed"
	size=$(stat -c %s "$T/s")
	head -c $((size / 2)) "$T/s" > "$T/trunc"
	expect_fail "stream offset" "$V" inspect "$T/trunc"
	expect_fail "stream offset" "$V" resume -q "$b" -i "$T/trunc"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset after truncation"
	# One byte flipped inside the first data chunk: the device refuses the
	# stream at its END record, whose state digest no longer matches.
	cp "$T/s" "$T/bad"
	printf '\377' | dd of="$T/bad" bs=1 seek=4000 conv=notrunc 2>/dev/null
	expect_fail "load chunk" "$V" resume -q "$b" -i "$T/bad"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset after corruption"
	# Without its FULL section (PCI config) the stream is incomplete: refused
	# at its end, naming the device by its UUID, and the destination reset.
	"$V" inspect "$T/s" > "$T/i" || fail "inspect failed"
	off=$(sed -n 's/^@\([0-9]*\): FULL .*/\1/p' "$T/i")
	[ -n "$off" ] || fail "no FULL section in: $(cat "$T/i")"
	{ head -c "$off" "$T/s"; printf '\000'; } > "$T/nofull"
	expect_fail "load of $b (\"vfmig\" instance 0) at end of stream .*: no FULL section" \
		"$V" resume -q "$b" -i "$T/nofull"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset after a stream without FULL"
	[ "$(knob "$b" checksum)" != "$(knob "$a" checksum)" ] ||
		fail "the reset destination runs the source's state"
	# Garbage at the start is not a stream at all.
	head -c 4096 /dev/urandom > "$T/junk"
	expect_fail "magic" "$V" resume -q "$b" -i "$T/junk"
	# Still resumable from the good file.
	"$V" resume -q "$b" -i "$T/s" || fail "good stream refused after bad ones"
	same_state "$a" "$b"
}

test_wrong_device() {
	begin
	a=$(mk vfmig-small seed=15) b=$(mk vfmig-large)
	sum=$(knob "$a" checksum)
	expect_fail "failed at the destination" "$V" migrate -q --from "$a" --to "$b"
	running_intact "$a" "$sum"
	# Fewer destinations than the stream has devices.
	c=$(mk vfmig-small)
	"$V" save -q "$a" "$c" -o "$T/two" || fail "save of two failed"
	[ "$(knob "$a" device_state)" = 0 ] || fail "source running after its save: $(knob "$a" device_state)"
	expect_fail "no device registered" "$V" resume -q "$a" -i "$T/two"
}

test_destination_refuses() {
	begin
	a=$(mk vfmig-small seed=16) b=$(mk vfmig-small fault=resume_chunk)
	sum=$(knob "$a" checksum)
	expect_fail "running again" "$V" migrate -q --from "$a" --to "$b"
	running_intact "$a" "$sum"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not reset"
}

test_source_fault() {
	begin
	a=$(mk vfmig-small seed=17 fault=save_chunk) b=$(mk vfmig-small)
	sum=$(knob "$a" checksum)
	expect_fail "running again" "$V" migrate -q --from "$a" --to "$b"
	running_intact "$a" "$sum"
	"$V" migrate -q --from "$a" --to "$b" || fail "migration after the fault failed"
	same_state "$a" "$b"
}

# A save that fails keeps what its file held (an earlier save, /dev/null)
# and leaves a source stopped by an earlier save stopped: its state may
# already run elsewhere (never two running copies).
test_failed_save_keeps_file() {
	begin
	a=$(mk vfmig-small seed=18) b=$(mk vfmig-small)
	"$V" save -q "$a" -o "$T/s" || fail "save failed"
	[ "$(knob "$a" device_state)" = 0 ] || fail "source not stopped after its save"
	sum=$(knob "$a" checksum)
	cp "$T/s" "$T/first"
	knob "$a" fault save_chunk
	expect_fail "devices back as they were" "$V" save -q "$a" -o "$T/s"
	[ "$(knob "$a" device_state)" = 0 ] || fail "stopped source runs: $(knob "$a" device_state)"
	[ "$(knob "$a" checksum)" = "$sum" ] || fail "source state changed"
	cmp -s "$T/s" "$T/first" || fail "a failed save replaced the earlier one"
	ls "$T" | grep -q 'vfmig-' && fail "partial file left: $(ls "$T")"
	knob "$a" fault save_chunk
	expect_fail "devices back as they were" "$V" save -q "$a" -o /dev/null
	[ -c /dev/null ] || fail "a failed save removed /dev/null"
	"$V" resume -q "$b" -i "$T/s" || fail "resume of the kept save failed"
	same_state "$a" "$b"
}

test_valgrind_clean() {
	command -v valgrind > /dev/null || skip "valgrind is not installed"
	[ -z "${VFMIG_CLI:-}" ] || skip "the CLI under test is another build (a sanitizer's)"
	begin
	a=$(mk vfmig-small dirty_rate=5000000 seed=18 mmap_layout=sparse:2) b=$(mk vfmig-small)
	# VFIO's ioctls carry no size hints, so valgrind warns about each once;
	# everything else it prints is a finding.
	vg="valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99"
	$vg "$V" migrate -q --from "$a" --to "$b" 2> "$T/vg" || fail "migrate under valgrind failed"
	same_state "$a" "$b"
	knob "$a" dirty_rate 0	# it becomes the destination: nothing may change it
	$vg "$V" save -q --offline "$b" -o - 2>> "$T/vg" | $vg "$V" resume -q "$a" -i - 2>> "$T/vg" ||
		fail "save | resume under valgrind failed"
	same_state "$b" "$a"
	grep -v -e 'unhandled ioctl 0x3b' -e 'spurious value errors' -e README_MISSING "$T/vg" \
		> "$T/findings"
	[ ! -s "$T/findings" ] || fail "valgrind: $(cat "$T/findings")"
}

test_usage_errors() {
	begin
	a=$(mk vfmig-small)
	expect_fail "usage" "$V" save "$a"
	expect_fail "not a device UUID" "$V" save not-a-uuid -o "$T/x"
	expect_fail "own destination" "$V" migrate --from "$a" --to "$a"
	"$V" migrate -q --from "$a" --to "$a" 2> /dev/null
	[ $? = 2 ] || fail "own destination: not a usage error"
	# Decimal numbers only: no blank-then-sign (wrapped to 2^64-1), no octal, no hex.
	expect_fail -1 "' -1' is not a number" "$V" save --max-bandwidth " -1" "$a" -o "$T/x"
	expect_fail -1 "'0x10' is not a number" "$V" save --downtime-limit 0x10 "$a" -o "$T/x"
	expect_fail -1 "--parallel" "$V" receive --parallel 0 -l 1 "$a"
	expect_fail -1 "not an mdev type name" "$V" mdev create "vfmig-small/../vfmig-large"
	"$V" module frobnicate 2> /dev/null
	[ $? = 2 ] || fail "module frobnicate: not a usage error"
	expect_fail "HOST:PORT" "$V" send "$a" nowhere
	expect_fail "only --no-mmap" "$V" resume --offline "$a" -i "$T/x"
	[ ! -e "$T/x" ] || fail "a failed save left a file behind"
	"$V" save --help | grep -q 'usage: vfmig save' || fail "save --help"
}

if [ "${1:-}" != --one ]; then
	load_module_or_bail
	run_then_unload "$0" engine "$@"
fi
tap_main "$0" engine "$@"
