#!/bin/sh
# Run every VM suite in order (inside the test VM, as root): the compiled
# build/*_test programs, then the executable *_test.sh scripts.  Each suite
# prints TAP and loads/unloads the module itself; this script's exit status
# is non-zero if any suite failed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}
status=0
for t in "$here"/build/*_test "$here"/*_test.sh; do
	[ -x "$t" ] || continue
	start=$(date +%s)
	"$t" || status=1
	echo "# suite $(basename "$t"): $(($(date +%s) - start)) s"
done
exit $status
