#!/bin/sh
# Run every VM suite in order (inside the test VM, as root).  Each suite
# prints TAP; this script's exit status is non-zero if any suite failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}
status=0
# Compiled suites first, then the shell suites that drive the CLI.
for t in "$here"/build/*_test "$here"/*_test.sh; do
	[ -x "$t" ] || continue
	"$t" || status=1
done
exit $status
