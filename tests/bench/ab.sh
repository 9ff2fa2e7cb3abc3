#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# `make bench-ab`: the module as committed at AB_BASE (default HEAD) against
# the working tree's, round by round in one guest (module_ab.sh says how).
# usage: ab.sh KRELEASE
# Environment: AB_BASE (a commit), AB_ROUNDS, AB_MIB, AB_DATA_MIB, AB_FILL,
# AB_DEST, AB_KNOBS (module_ab.sh), VFMIG_VM_MEM (default 3072), VFMIG_CPU
# (default max,-erms under TCG, as make bench).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
k=${1:?usage: ab.sh KRELEASE}
out=$top/build/ab
base=$(git -C "$top" rev-parse --short "${AB_BASE:-HEAD}")
rm -rf "$out/base"
mkdir -p "$out/base"
# The base's whole tree, so that its module builds from its own sources.
git -C "$top" archive "$base" | tar -x -C "$out/base"
for t in "$out/base" "$top"; do
	sh "$t/scripts/build-module.sh" "$k" "/usr/src/linux-headers-$k" > "$out/module-build.log" 2>&1 ||
		{ cat "$out/module-build.log"; exit 1; }
done
export VFMIG_VM_MEM=${VFMIG_VM_MEM:-3072}
if [ "${VFMIG_ACCEL:-tcg}" = tcg ]; then
	export VFMIG_CPU=${VFMIG_CPU:-max,-erms}
fi
echo "bench-ab: A = $base, B = the working tree; Linux $k"
sh "$top/tests/vm/run-vm.sh" --out "$out" --timeout "${AB_TIMEOUT:-1800}" "$k" -- \
	env AB_ROUNDS="${AB_ROUNDS:-6}" AB_MIB="${AB_MIB:-256}" AB_DATA_MIB="${AB_DATA_MIB:-8}" \
	AB_FILL="${AB_FILL:-random}" AB_DEST="${AB_DEST:-zero}" \
	AB_KNOBS="${AB_KNOBS:-chunk_offload=1 hash_offload=1}" \
	sh "$top/tests/bench/module_ab.sh" "$out/base/build/$k/vfmig.ko" "$top/build/$k/vfmig.ko" \
	2>&1 | tee "$out/vm.log" | grep --line-buffered '^module_ab' | sed -u 's/\r//'
grep -q '^module_ab: B median' "$out/vm.log" ||
	{ tail -n 30 "$out/vm.log" | tr -d '\r' >&2; echo "bench-ab: FAILED (VM log: $out/vm.log)" >&2; exit 1; }
