#!/bin/sh
# Runs in a VM (tests/vm/run-vm.sh): saves streams from real vfmig-small
# devices into DIR, for payload_fuzz's seeds from the module itself
# (`gen_corpus extract`) and test_payload's kernel-computed vectors.
# usage: capture-guest.sh DIR
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
vfmig=$top/user/build/vfmig
export VFMIG_MODULE=${VFMIG_MODULE:-$top/build/$(uname -r)/vfmig.ko}
dir=${1:?usage: capture-guest.sh DIR}
S=/sys/bus/mdev/devices
krel=$(uname -r)

"$vfmig" module load
a=$("$vfmig" mdev create vfmig-small)
b=$("$vfmig" mdev create vfmig-small)
# A stopped save: every page once.
echo 4242 > "$S/$a/vfmig/seed"
"$vfmig" save --quiet "$a" -o "$dir/small-$krel.stream"
# A live one with the device's own writes: pages sent again.
echo 77 > "$S/$b/vfmig/seed"
echo 262144 > "$S/$b/vfmig/dirty_rate"
"$vfmig" save --quiet "$b" -o "$dir/small-dirty-$krel.stream"
cat "$S/$a/vfmig/checksum" > "$dir/small-$krel.checksum"
"$vfmig" mdev remove "$a" "$b"
"$vfmig" module unload
ls -l "$dir"
