#!/bin/sh
# `make demo`: boot a VM on KRELEASE and run the main job inside it.
# usage: demo.sh KRELEASE
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
k=${1:?usage: demo.sh KRELEASE}
# A fresh clone has no build/ yet: the log below must not depend on another target.
mkdir -p "$top/build"
sh "$top/scripts/build-module.sh" "$k" "/usr/src/linux-headers-$k" > "$top/build/demo-build.log" 2>&1 ||
	{ cat "$top/build/demo-build.log"; exit 1; }
exec sh "$top/tests/vm/run-vm.sh" --out "$top/build/vm/demo-$k" "$k" -- sh "$top/tests/demo-guest.sh"
