#!/bin/sh
# The demo, as it runs inside the VM: load the module through the engine,
# create two mdevs, turn on dirty generation on the first and migrate it
# live into the second with a progress line, then prove the state equal.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
vfmig=$top/user/build/vfmig
export VFMIG_MODULE=$top/build/$(uname -r)/vfmig.ko
S=/sys/bus/mdev/devices

step() { printf '\n$ %s\n' "$*"; "$@"; }
knob() { IFS= read -r v < "$S/$1/vfmig/$2" && echo "$v"; }

echo "vfmig demo on Linux $(uname -r)"
step "$vfmig" module load
step "$vfmig" mdev types
printf '\n$ %s\n' "$vfmig mdev create vfmig-large   (twice)"
src=$("$vfmig" mdev create vfmig-large)
dst=$("$vfmig" mdev create vfmig-large)
echo "source      $src"
echo "destination $dst"
# The source: 16 MiB of state seeded, four mmap areas with trapped gaps and a
# data_offset that rotates across them, and 4 MB/s of its own writes.
echo 1234 > "$S/$src/vfmig/seed"
echo sparse:4 > "$S/$src/vfmig/mmap_layout"
echo rotate > "$S/$src/vfmig/data_offset_policy"
echo 4000000 > "$S/$src/vfmig/dirty_rate"
step "$vfmig" info "$src"

printf '\n$ %s\n' "$vfmig migrate --from $src --to $dst --max-bandwidth 32M --progress --json"
"$vfmig" migrate --from "$src" --to "$dst" --max-bandwidth 32M --progress --json > /run/demo.json
echo "statistics:"
sed 's/, "/,\n  "/g' /run/demo.json

a=$(knob "$src" checksum)
b=$(knob "$dst" checksum)
echo
echo "source      $src: $(knob "$src" device_state | sed 's/^0$/stopped/') checksum $a, dirtied $(knob "$src" stat_bytes_dirtied) bytes"
echo "destination $dst: $(knob "$dst" device_state | sed 's/^1$/running/') checksum $b"
if [ "$a" != "$b" ]; then
	echo "demo FAILED: checksums differ"
	exit 1
fi
echo "checksums equal: the destination holds the state the source had when it stopped"
step "$vfmig" mdev remove "$src" "$dst"
step "$vfmig" module unload
echo
echo "demo finished"
