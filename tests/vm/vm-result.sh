# SPDX-License-Identifier: GPL-2.0
# Whether one VM run counts as a passing result, for tests/run-checks.sh
# and tests/fuzz-vm.sh (and tested by vm-result_test.sh).
#
#   vm_result OUTDIR LOG   status 0 when the run of `run-vm.sh --out OUTDIR`,
#                          whose output is LOG, passes; else 1 and the reason
#                          on stdout.
# It passes when run-vm.sh's verdict is "ok" (the guest finished, its kernel
# log whole and clean, its taints allowed), some suite finished (a Totals
# line), and a command that exited non-zero said why in a "not ok" line
# (those are counted on their own).
vm_result() {
	_vr_v=$(cat "$1/verdict" 2>/dev/null || echo "no verdict")
	_vr_st=$(cat "$1/status" 2>/dev/null || echo none)
	if [ "$_vr_v" != ok ]; then
		echo "$_vr_v"
		return 1
	fi
	if ! grep -q 'Totals:' "$2" 2>/dev/null; then
		echo "no suite finished"
		return 1
	fi
	if [ "$_vr_st" != 0 ] && ! grep -q '^not ok ' "$2"; then
		echo "the command exited $_vr_st without a failed test"
		return 1
	fi
	return 0
}
