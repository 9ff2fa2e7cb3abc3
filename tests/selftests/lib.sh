# SPDX-License-Identifier: GPL-2.0
# Helpers shared by the shell VM suites that drive the vfmig CLI (in the VM,
# as root).  A suite sets $top (the checkout) and sources tap.sh, then this.

# VFMIG_CLI: another build of the CLI (make check's ASan + UBSan run).
V=${VFMIG_CLI:-$top/user/build/vfmig}
S=/sys/bus/mdev/devices
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}

knob() { # knob UUID NAME [VALUE]
	if [ $# -eq 3 ]; then
		echo "$3" > "$S/$1/vfmig/$2" || fail "cannot set $2=$3 on $1"
	else
		# read, not cat: every exec is slow under TCG
		IFS= read -r v < "$S/$1/vfmig/$2" && echo "$v"
	fi
}

mk() { # mk TYPE [NAME=VALUE...]: a new device with knobs set; prints its UUID
	u=$("$V" mdev create "$1") || fail "mdev create $1"
	shift
	for kv in "$@"; do knob "$u" "${kv%%=*}" "${kv#*=}"; done
	echo "$u"
}

remove_all_mdevs() { # every mdev left behind, quietly
	for u in $(ls "$S" 2>/dev/null); do "$V" mdev remove "$u" 2>/dev/null; done
}

same_state() { # same_state SRC DST: checksums equal, SRC stopped, DST running
	_a=$(knob "$1" checksum) _b=$(knob "$2" checksum)
	[ -n "$_a" ] && [ -n "$_b" ] || fail "no checksum from $1 ('$_a') or $2 ('$_b')"
	[ "$_a" = "$_b" ] || fail "checksum $1 $_a != $2 $_b"
	[ "$(knob "$1" device_state)" = 0 ] || fail "source $1 not stopped: $(knob "$1" device_state)"
	[ "$(knob "$2" device_state)" = 1 ] || fail "destination $2 not running: $(knob "$2" device_state)"
	diag "checksum $_a on both"
}

running_intact() { # running_intact UUID CHECKSUM: running again, state unchanged
	[ "$(knob "$1" device_state)" = 1 ] || fail "$1 not running: $(knob "$1" device_state)"
	[ "$(knob "$1" checksum)" = "$2" ] || fail "$1 state changed: $(knob "$1" checksum) != $2"
}

# A test's start and end, for a suite that sets its scratch directory $T:
# scratch_begin makes $T and has cleanup run at exit, which runs the suite's
# cleanup_more (if it defines one), removes every mdev and deletes $T.
# begin is scratch_begin; a suite that needs more defines its own around it.
cleanup() {
	if command -v cleanup_more > /dev/null; then cleanup_more; fi
	remove_all_mdevs
	rm -rf "$T"
}

scratch_begin() {
	mkdir -p "$T"
	trap cleanup EXIT
}

begin() {
	scratch_begin
}

netns_pair() { # two namespaces joined by a veth pair, 10.77.0.1 <-> 10.77.0.2
	ip netns add vfa && ip netns add vfb &&
	ip link add vfa0 netns vfa type veth peer name vfb0 netns vfb &&
	ip -n vfa addr add 10.77.0.1/24 dev vfa0 && ip -n vfa link set vfa0 up &&
	ip -n vfb addr add 10.77.0.2/24 dev vfb0 && ip -n vfb link set vfb0 up &&
	ip -n vfa link set lo up && ip -n vfb link set lo up
}

netns_gone() {
	ip netns del vfa 2>/dev/null
	ip netns del vfb 2>/dev/null
}

# begin_netns: begin, with namespaces vfa and vfb (netns_pair) that are
# deleted again at exit.
begin_netns() {
	begin
	trap 'netns_gone; cleanup' EXIT
	modprobe veth 2>/dev/null
	netns_pair || fail "cannot set up network namespaces"
}

# wait_listening PORT [NETNS]: a listener on PORT in NETNS (default vfa; "-":
# this namespace), or 3 s passed.
wait_listening() {
	_ns=${2:-vfa}
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		if [ "$_ns" = - ]; then
			ss -ltn 2>/dev/null | grep -q ":$1 " && break
		else
			ip netns exec "$_ns" ss -ltn 2>/dev/null | grep -q ":$1 " && break
		fi
		sleep 0.3
	done
}

# expect_fail [-1] PATTERN CMD...: CMD exits non-zero and its stderr (kept in
# $T/err) is a message, ending in a newline, that mentions PATTERN; with -1
# it is exactly one line.
expect_fail() {
	one=
	if [ "$1" = -1 ]; then
		one=1
		shift
	fi
	pat=$1
	shift
	if "$@" 2> "$T/err"; then
		fail "succeeded but should fail: $*"
	fi
	diag "stderr: $(cat "$T/err")"
	grep -q -- "$pat" "$T/err" || fail "error does not mention '$pat'"
	if [ -n "$one" ]; then
		[ "$(wc -l < "$T/err")" = 1 ] || fail "not a one-line error"
	else
		[ "$(wc -l < "$T/err")" -ge 1 ] || fail "no error message"
	fi
}

# wait_saving UUID PID: until UUID's device has saved data, or PID has ended.
wait_saving() {
	while [ "$(knob "$1" stat_bytes_saved)" = 0 ] && kill -0 "$2" 2>/dev/null; do
		sleep 0.1
	done
}

# interrupted PID WHAT: SIGINT to PID, a vfmig WHAT (migrate, save) run in
# the background with its stderr in $T/err; it must exit non-zero saying it
# was cancelled.
interrupted() {
	kill -INT "$1"
	wait "$1"
	rc=$?
	diag "rc $rc: $(cat "$T/err")"
	[ $rc != 0 ] || fail "an interrupted $2 exited 0"
	grep -q cancelled "$T/err" || fail "does not say cancelled"
}

# migrates_again SRC SUM DST: after a cancel SRC runs with checksum SUM, and
# migrates into DST.
migrates_again() {
	running_intact "$1" "$2"
	"$V" migrate -q --from "$1" --to "$3" || fail "migration after the cancel failed"
	same_state "$1" "$3"
}

load_module_or_bail() { # vfmig loaded (if it is not yet), or the whole suite bails out
	lsmod | grep -q '^vfmig ' || "$V" module load > /dev/null || { echo "Bail out! module load"; exit 1; }
}

# run_then_unload SCRIPT SUITE [TEST...]: tap_main, then every mdev removed
# and the module unloaded; a failed unload fails the suite.  Exits.
run_then_unload() {
	tap_main "$@"
	rc=$?
	remove_all_mdevs
	"$V" module unload > /dev/null || { echo "not ok - module unload"; rc=1; }
	exit $rc
}
