# SPDX-License-Identifier: GPL-2.0
# Sourced by the host TAP scripts of tests/vm (the runner's own tests): one
# result line per check; the script ends with echo "1..$n" and [ "$failed" = 0 ].
n=0 failed=0

ok() { # ok STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n $2"
	else
		echo "not ok $n $2"
		failed=$((failed + 1))
	fi
}
