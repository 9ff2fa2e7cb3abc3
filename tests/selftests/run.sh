#!/bin/sh
# Run the VM suites in order (inside the test VM, as root): by default every
# compiled build/*_test program, then the executable *_test.sh scripts.  Each
# suite prints TAP and loads/unloads the module itself; this script's exit
# status is non-zero if any suite failed, and a suite whose TAP is
# incomplete (a crash mid-way) gets a "not ok" line of its own.
#
# VFMIG_SUITES="device_test migration_test ..." runs only those, in that
# order: a name is build/NAME, NAME or NAME.sh here; a name with no such
# program is a failed suite (a typo must not drop a suite from a run).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}

suites() {
	if [ -z "${VFMIG_SUITES:-}" ]; then
		for t in "$here"/build/*_test "$here"/*_test.sh; do
			[ -x "$t" ] && echo "$t"
		done
		return 0
	fi
	for n in $VFMIG_SUITES; do
		found=
		for t in "$here/build/$n" "$here/$n" "$here/$n.sh"; do
			if [ -f "$t" ] && [ -x "$t" ]; then
				found=$t
				break
			fi
		done
		echo "${found:-missing:$n}"
	done
}

# tap_incomplete LOG RC: why a suite's TAP cannot be trusted, if it cannot:
# it bailed out, printed no plan or two, planned nothing without a SKIP
# reason, fewer or more results than planned
# (a crash mid-way), or exited non-zero without a failed test: status 0 and
# the reason; 1 when the TAP is whole; anything else if awk itself failed.
# The host counts "ok"/"not ok" lines, so such a suite gets one "not ok" more.
tap_incomplete() {
	awk -v rc="$2" '
		/^1\.\.[0-9]+/ { plans++; planned = substr($1, 4) + 0; skipall = /# *SKIP/ }
		/^(ok|not ok) / { results++ }
		/^not ok / { failed++ }
		/^Bail out!/ { bail = 1 }
		END {
			if (bail) why = "bailed out"
			else if (plans != 1) why = (plans + 0) " TAP plans"
			else if (planned == 0 && !skipall) why = "no tests planned"
			else if (results != planned) why = (results + 0) " results of " planned " planned"
			else if (rc != 0 && !failed) why = "exit status " rc " without a failed test"
			if (why == "") exit 1
			print why
			exit 0
		}' "$1"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0 i=0
for t in $(suites); do
	case $t in
	missing:*)
		echo "not ok - suite ${t#missing:}: no such suite (built?)"
		status=1
		continue
		;;
	esac
	name=$(basename "$t")
	start=$(date +%s)
	# Shown as it runs; tail ends with the suite even if a leaked child of it
	# still holds the log open (a pipe into tee would wait for that child).
	# Each suite its own log, created before tail opens it: with one shared
	# file tail could open it before the suite truncated it, showing the
	# previous suite's results twice or missing the first suite's.
	i=$((i + 1))
	log=$tmp/$i.log
	: > "$log"
	"$t" > "$log" 2>&1 < /dev/null &
	pid=$!
	tail -n +1 -s 0.2 -f --pid="$pid" "$log"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || status=1
	why=$(tap_incomplete "$log" "$rc")
	case $? in
	0) ;;
	1) why="" ;;
	*) why="cannot check its TAP (awk failed)" ;;
	esac
	if [ -n "$why" ]; then
		echo "not ok - suite $name: $why"
		status=1
	fi
	echo "# suite $name: $(($(date +%s) - start)) s"
done
exit $status
