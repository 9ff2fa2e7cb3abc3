#!/bin/sh
# Run the VM suites in order (inside the test VM, as root): by default every
# compiled build/*_test program, then the executable *_test.sh scripts.  Each
# suite prints TAP and loads/unloads the module itself; this script's exit
# status is non-zero if any suite failed.
#
# VFMIG_SUITES="device_test migration_test ..." runs only those, in that
# order: a name is build/NAME, NAME or NAME.sh here; a name with no such
# program is skipped without a word (so a list may name a suite that a
# branch does not have yet, e.g. fuzz_test).
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
		for t in "$here/build/$n" "$here/$n" "$here/$n.sh"; do
			if [ -f "$t" ] && [ -x "$t" ]; then
				echo "$t"
				break
			fi
		done
	done
}

status=0
for t in $(suites); do
	start=$(date +%s)
	"$t" || status=1
	echo "# suite $(basename "$t"): $(($(date +%s) - start)) s"
done
exit $status
