#!/bin/sh
# The demo, as it runs inside the VM: load the module through the engine,
# create an mdev and show what VFIO reports about it.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
vfmig=$top/user/build/vfmig
export VFMIG_MODULE=$top/build/$(uname -r)/vfmig.ko

step() { printf '\n$ %s\n' "$*"; "$@"; }

echo "vfmig demo on Linux $(uname -r)"
step "$vfmig" module load
step "$vfmig" mdev types
printf '\n$ %s\n' "$vfmig mdev create vfmig-small"
uuid=$("$vfmig" mdev create vfmig-small)
echo "$uuid"
step "$vfmig" mdev list
echo 1234 > "/sys/bus/mdev/devices/$uuid/vfmig/seed"
step "$vfmig" info "$uuid"
step "$vfmig" mdev remove "$uuid"
step "$vfmig" module unload
echo
echo "demo finished"
