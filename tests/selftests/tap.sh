# SPDX-License-Identifier: GPL-2.0
# TAP for shell suites, matching tap.h's output.  A suite defines test_*
# functions and calls tap_main "$0" SUITE "$@"; each test runs in its own
# process under a timeout, and fails on the first failed check.

TAP_TIMEOUT=${TAP_TIMEOUT:-180}

# check DESCRIPTION COMMAND...: run it; on failure say what and fail the test.
check() {
	desc=$1
	shift
	if ! "$@"; then
		echo "# FAIL: $desc"
		exit 1
	fi
}

# fail MESSAGE: also from inside $(...), where exit alone would only end
# the subshell: the test process itself is terminated.
fail() {
	echo "# FAIL: $*" >&2
	[ -n "${TAP_TEST_PID:-}" ] && kill -TERM "$TAP_TEST_PID" 2>/dev/null
	exit 1
}

# skip REASON: the test is skipped (exit code 77, as automake's).
skip() {
	echo "# SKIP: $*"
	exit 77
}

diag() {
	echo "# $*"
}

tap_main() {
	self=$1
	suite=$2
	shift 2
	if [ "${1:-}" = --one ]; then
		TAP_TEST_PID=$$
		"$2"
		exit $?
	fi
	tests=$(grep -o '^test_[a-z0-9_]*()' "$self" | tr -d '()')
	[ $# -gt 0 ] && tests="$*"
	n=0
	for t in $tests; do n=$((n + 1)); done
	echo "TAP version 13"
	if [ "$n" = 0 ]; then
		echo "Bail out! no test_ functions found in $self"
		exit 1
	fi
	echo "1..$n"
	i=0 pass=0 failn=0 skipn=0
	for t in $tests; do
		i=$((i + 1))
		t0=$(date +%s)
		out=$(timeout -k 5 "$TAP_TIMEOUT" "$self" --one "$t" 2>&1)
		rc=$?
		echo "# $t: $(($(date +%s) - t0)) s"
		printf '%s\n' "$out" | sed 's/^/# /; s/^# # /# /'
		name=${t#test_}
		if [ $rc = 0 ]; then
			echo "ok $i $suite.$name"
			pass=$((pass + 1))
		elif [ $rc = 77 ]; then
			reason=$(printf '%s\n' "$out" | sed -n 's/^# SKIP: //p' | tail -n 1)
			echo "ok $i $suite.$name # SKIP $reason"
			skipn=$((skipn + 1))
		else
			[ $rc = 124 ] && echo "# timed out after ${TAP_TIMEOUT}s"
			echo "not ok $i $suite.$name"
			failn=$((failn + 1))
		fi
	done
	echo "# Totals: pass:$pass fail:$failn xfail:0 xpass:0 skip:$skipn error:0"
	[ $failn = 0 ]
}
