#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Host test (TAP) of the VM suite runner (tests/selftests/run.sh): the host
# counts "ok"/"not ok" lines, so a suite that crashes mid-way, prints no plan,
# bails out or exits non-zero without a failed test must add a "not ok" line
# of its own, and a whole suite must not.  Fake suites in a copy of run.sh's
# folder stand in for the real ones.
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$here/host-tap.sh"

mkdir "$tmp/selftests"
cp "$top/tests/selftests/run.sh" "$tmp/selftests/"
suite() { # suite NAME BODY: an executable fake suite
	printf '#!/bin/sh\n%s\n' "$2" > "$tmp/selftests/$1"
	chmod +x "$tmp/selftests/$1"
}
suite whole 'echo "TAP version 13"; echo 1..2; echo "ok 1 a"; echo "ok 2 b"'
suite failing 'echo 1..2; echo "ok 1 a"; echo "not ok 2 b"; exit 1'
suite crashed 'echo 1..5; echo "ok 1 a"; echo "ok 2 b"; kill -SEGV $$'
suite noplan 'echo "ok 1 a"'
suite twoplans 'echo 1..1; echo "ok 1 a"; echo 1..1; echo "ok 1 a"'
suite bailed 'echo 1..2; echo "Bail out! module load"; exit 1'
suite silentfail 'echo 1..1; echo "ok 1 a"; exit 3'
suite skipped 'echo "1..0 # SKIP no such kernel"'
suite empty 'echo 1..0'
suite leaky 'echo 1..1; echo "ok 1 a"; sleep 30 &'

# run NAME: the runner on one fake suite; its output in $tmp/NAME.out.
run() {
	VFMIG_SUITES=$1 VFMIG_MODULE=/dev/null sh "$tmp/selftests/run.sh" > "$tmp/$1.out" 2>&1
}
extra() { # extra NAME: the runner's own "not ok" line for NAME, if any
	grep "^not ok - suite $1: " "$tmp/$1.out"
}

run whole
rc=$?
[ "$rc" = 0 ] && [ -z "$(extra whole)" ]
ok $? "a whole suite passes with no extra line (exit $rc)"
run skipped
[ $? = 0 ] && [ -z "$(extra skipped)" ]
ok $? "a suite that plans nothing and skips passes"
VFMIG_SUITES="whole nosuchsuite" VFMIG_MODULE=/dev/null sh "$tmp/selftests/run.sh" > "$tmp/missing.out" 2>&1
rc=$?
[ "$rc" != 0 ] && grep -q '^ok 2 b' "$tmp/missing.out" &&
	[ "$(grep '^not ok' "$tmp/missing.out")" = "not ok - suite nosuchsuite: no such suite (built?)" ]
ok $? "a suite named but not there fails the run (exit $rc)"
start=$(date +%s)
run leaky
rc=$?
took=$(($(date +%s) - start))
[ "$rc" = 0 ] && [ "$took" -lt 20 ] && grep -q '^ok 1 a' "$tmp/leaky.out"
ok $? "a suite whose child outlives it: shown, and not waited for (exit $rc, $took s)"
run failing
rc=$?
[ "$rc" != 0 ] && [ -z "$(extra failing)" ]
ok $? "a suite with a failed test fails with no extra line (exit $rc)"
for s in crashed:"2 results of 5 planned" noplan:"0 TAP plans" twoplans:"2 TAP plans" \
	bailed:"bailed out" empty:"no tests planned" silentfail:"exit status 3 without a failed test"; do
	name=${s%%:*} why=${s#*:}
	run "$name"
	rc=$?
	[ "$rc" != 0 ] && [ "$(extra "$name")" = "not ok - suite $name: $why" ]
	ok $? "$name: the runner adds \"$why\" and fails (exit $rc: $(extra "$name"))"
done

echo "1..$n"
[ "$failed" = 0 ]
