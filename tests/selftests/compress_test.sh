#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Stream compression against real devices (in the VM, as root): send
# --compress zstd over TCP and save --compress lz4 to a file, each resumed
# with equal checksums; inspect names the codec and the coded sizes; random
# state goes raw at no cost in size; a corrupt compressed file is refused
# with the stream offset and leaves the device usable.  Compressible state:
# the fill knob's repeating pattern (not zero pages, which the device
# payload already sends as ZERO records); send also runs the dirty
# generator, which writes random pages while the device is open.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$here/tap.sh"
. "$here/lib.sh"

T=${TMPDIR:-/tmp}/compress_test.$$
MIB4=4194304

# A repeating 64-bit pattern: compressible, never a zero page.
mk_compressible() { # mk_compressible [KNOB=VALUE...]
	mk vfmig-small "$@" state_size=$MIB4 fill=pattern:0x00000000deadbeef seed=1
}

test_send_zstd() {
	begin_netns
	a=$(mk_compressible) b=$(mk vfmig-small state_size=$MIB4 seed=3)
	knob "$a" dirty_rate 1000000
	ip netns exec vfa "$V" receive -q "$b" --listen 7777 2> "$T/recv.err" &
	rpid=$!
	wait_listening 7777
	ip netns exec vfb "$V" send --compress zstd --json "$a" 10.77.0.1:7777 \
		> "$T/json" 2> "$T/send.err"
	src=$?
	wait $rpid
	dst=$?
	diag "send: rc $src $(cat "$T/send.err"); receive: rc $dst $(cat "$T/recv.err")"
	[ $src = 0 ] && [ $dst = 0 ] || fail "compressed TCP migration failed"
	same_state "$a" "$b"
	# 4 MiB of mostly zeroes crossed as far fewer bytes.
	sent=$(grep -o '"transferred": [0-9]*' "$T/json" | head -n 1 | sed 's/.*: //')
	diag "transferred $sent bytes for $MIB4"
	[ -n "$sent" ] && [ "$sent" -lt $((MIB4 / 2)) ] || fail "transferred ${sent:-?} bytes"
}

test_save_lz4_resume() {
	begin
	a=$(mk_compressible) b=$(mk vfmig-small state_size=$MIB4 seed=4)
	"$V" save -q --compress lz4 "$a" -o "$T/s" || fail "save --compress lz4 failed"
	"$V" inspect "$T/s" > "$T/i" || fail "inspect failed: $(cat "$T/i")"
	diag "$(tail -n 2 "$T/i")"
	grep -q '^stream: .* version 2 features 0x00000002 (lz4) ' "$T/i" || fail "no lz4 feature"
	grep -q '^compressed: [1-9][0-9]* of [0-9]* chunks, [0-9]* raw bytes as [0-9]* coded' "$T/i" ||
		fail "inspect shows no compressed chunks"
	size=$(stat -c %s "$T/s")
	[ "$size" -lt $((MIB4 / 2)) ] || fail "compressed file of $size bytes"
	"$V" resume -q "$b" -i "$T/s" || fail "resume of a compressed file failed"
	same_state "$a" "$b"
}

# Random state: blocks go raw, the file is as large as without compression.
test_random_raw() {
	begin
	a=$(mk vfmig-small state_size=$MIB4 seed=21) b=$(mk vfmig-small state_size=$MIB4)
	"$V" save -q --offline "$a" -o "$T/plain" || fail "plain save failed"
	knob "$a" seed 21
	"$V" save -q --offline --compress zstd:3 "$a" -o "$T/z" || fail "zstd save failed"
	p=$(stat -c %s "$T/plain") z=$(stat -c %s "$T/z")
	diag "random state: plain $p bytes, zstd $z bytes"
	[ "$z" -le $((p + p / 100)) ] || fail "random state grew from $p to $z bytes"
	"$V" inspect "$T/z" > "$T/i" || fail "inspect failed"
	grep -q 'features 0x00000001 (zstd)' "$T/i" || fail "no zstd feature"
	"$V" resume -q "$b" -i "$T/z" || fail "resume failed"
	same_state "$a" "$b"
}

test_corrupt_compressed() {
	begin
	a=$(mk_compressible) b=$(mk vfmig-small state_size=$MIB4 seed=5)
	"$V" save -q --offline --compress zstd "$a" -o "$T/s" || fail "save failed"
	sum=$(knob "$b" checksum)
	# One byte in the middle of the first ZDATA item's coded bytes (after
	# be64 tag, raw size, coded size and the codec byte).
	python3 - "$T/s" "$T/bad" <<'PY' || fail "no ZDATA item in the file"
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
at = b.find(bytes.fromhex("ffffffffef10f001"))
if at < 0:
    sys.exit(1)
coded = struct.unpack(">Q", b[at + 16:at + 24])[0]
b[at + 25 + coded // 2] ^= 0x5a
open(sys.argv[2], "wb").write(b)
PY
	expect_fail -1 "stream offset [0-9]*: corrupt zstd data in a compressed chunk" \
		"$V" resume -q "$b" -i "$T/bad"
	[ "$(knob "$b" device_state)" = 1 ] || fail "destination not running after the refusal"
	expect_fail -1 "corrupt zstd data" "$V" inspect "$T/bad"
	# The device is usable: the good file resumes into it.
	"$V" resume -q "$b" -i "$T/s" || fail "good stream refused after the corrupt one"
	same_state "$a" "$b"
	[ "$(knob "$b" checksum)" != "$sum" ] || fail "destination unchanged"
}

# Protocol v2: the data files' bytes are compressed and decoded the same way.
test_v2_zstd() {
	begin
	a=$(mk_compressible protocol=v2) b=$(mk vfmig-small protocol=v2 state_size=$MIB4 seed=6)
	"$V" save -q --compress zstd "$a" -o "$T/s" || fail "v2 save --compress zstd failed"
	"$V" inspect "$T/s" > "$T/i" || fail "inspect failed"
	grep -q '(protocol v2)' "$T/i" || fail "not saved with protocol v2"
	grep -q '^compressed: [1-9]' "$T/i" || fail "no compressed chunks"
	"$V" resume -q "$b" -i "$T/s" || fail "v2 resume of a compressed stream failed"
	same_state "$a" "$b"
}

test_usage() {
	begin
	a=$(mk vfmig-small) b=$(mk vfmig-small)
	expect_fail -1 "not none, zstd" "$V" save --compress gzip "$a" -o "$T/x"
	expect_fail -1 "level 20 out of range" "$V" save --compress zstd:20 "$a" -o "$T/x"
	expect_fail -1 "bad level" "$V" save --compress lz4:x "$a" -o "$T/x"
	expect_fail -1 "not compressed" "$V" migrate --compress zstd --from "$a" --to "$b"
	expect_fail -1 "only --no-mmap" "$V" resume --compress zstd "$a" -i "$T/x"
}

if [ "${1:-}" != --one ]; then
	load_module_or_bail
	run_then_unload "$0" compress "$@"
fi
tap_main "$0" compress "$@"
