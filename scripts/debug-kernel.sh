#!/bin/sh
# vfmig's debug kernel: Linux 6.12 from Debian's linux-source-6.12 with KASAN,
# lockdep, UBSAN, KFENCE and the list/atomic-sleep checks, configured from
# `make tinyconfig` plus scripts/debug-kernel.config, built once and cached
# outside the clone.  Installs nothing (scripts/deps.sh does).
#
# usage: debug-kernel.sh [build|dir]
#   build  (default) build unless the cache already holds this key; print
#          the cache directory on stdout (progress goes to stderr)
#   dir    print the cache directory if a complete build is there, else fail
#
# Cache: $VFMIG_DEBUG_KERNEL_CACHE, default /var/cache/vfmig/debug-kernel
# (or ~/.cache/vfmig/debug-kernel when that is not writable), one directory
# per key <source version>-<hash of the fragment, compiler and recipe>:
#   bzImage        the kernel QEMU boots
#   release        its `uname -r` (e.g. 6.12.117-vfmig-debug)
#   linux/         the built tree: KDIR for `make -C linux M=...`
#   modules/       INSTALL_MOD_PATH: lib/modules/<release>/ after depmod
#   config         the final .config; build.log; build-seconds (wall time)
#   complete       written last; without it the directory is a build that
#                  was interrupted and the next run resumes it
set -eu
here=$(cd "$(dirname "$0")" && pwd)
frag=$here/debug-kernel.config
tarball=/usr/src/linux-source-6.12.tar.xz
# Bump when the steps below change in a way that changes the result.
recipe=1

# Not make's children: flags of an outer make (jobserver, variables) stay out.
unset MAKEFLAGS MFLAGS MAKELEVEL

mode=${1:-build}
case $mode in
build|dir) ;;
*) echo "usage: debug-kernel.sh [build|dir]" >&2; exit 2 ;;
esac

die() {
	echo "debug-kernel: $*" >&2
	exit 1
}

[ -r "$tarball" ] || die "no $tarball (install linux-source-6.12: make deps)"
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.12 2>/dev/null) ||
	die "cannot read the version of linux-source-6.12 (make deps)"
srcver=$(printf '%s' "$srcver" | tr -c 'A-Za-z0-9.-' '_')
# The kernel's Makefile builds with gcc whatever CC says in the environment.
hash=$({ cat "$frag"; gcc --version | head -n 1; echo "recipe $recipe"; } |
	sha256sum | cut -c1-12)
key=$srcver-$hash

cache=${VFMIG_DEBUG_KERNEL_CACHE:-}
if [ -z "$cache" ]; then
	cache=/var/cache/vfmig/debug-kernel
	if ! mkdir -p "$cache" 2>/dev/null || [ ! -w "$cache" ]; then
		cache=${XDG_CACHE_HOME:-$HOME/.cache}/vfmig/debug-kernel
	fi
fi
dir=$cache/$key

if [ "$mode" = dir ]; then
	[ -f "$dir/complete" ] || die "no debug kernel built at $dir (run scripts/debug-kernel.sh)"
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
# One build per key at a time; a second caller waits and then reuses it.
exec 9> "$cache/.lock-$key"
flock 9
if [ -f "$dir/complete" ]; then
	echo "debug-kernel: reusing $dir" >&2
	echo "$dir"
	exit 0
fi

start=$(date +%s)
mkdir -p "$dir"
tree=$dir/linux
if [ ! -f "$tree/Makefile" ]; then
	echo "debug-kernel: unpacking $tarball into $tree" >&2
	rm -rf "$dir/unpack"
	mkdir -p "$dir/unpack"
	tar -xf "$tarball" -C "$dir/unpack"
	rm -rf "$tree"
	mv "$dir/unpack/linux-source-6.12" "$tree"
	rmdir "$dir/unpack"
fi

log=$dir/build.log
: > "$log"
run() { # run CMD...: output to the build log, its tail on failure
	if ! "$@" >> "$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "'$*' failed in $tree (log: $log)"
	fi
}

echo "debug-kernel: configuring (tinyconfig + $(basename "$frag"))" >&2
run make -C "$tree" tinyconfig
run sh "$tree/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" "$frag"
run make -C "$tree" olddefconfig

# Kconfig drops what it cannot satisfy without a word: every option the
# fragment asks for must be in the final .config, as asked.
missing=""
while IFS= read -r line; do
	case $line in
	CONFIG_*=n)
		opt=${line%%=*}
		if grep -qE "^$opt=[ym]" "$tree/.config"; then
			missing="$missing
  $line (got: $(grep "^$opt=" "$tree/.config"))"
		fi
		;;
	CONFIG_*=*)
		opt=${line%%=*}
		if ! grep -qxF "$line" "$tree/.config"; then
			got=$(grep "^$opt=" "$tree/.config" || echo "not set")
			missing="$missing
  $line (got: $got)"
		fi
		;;
	esac
done < "$frag"
[ -z "$missing" ] || die "the final .config lost options of $(basename "$frag"):$missing"

jobs=$(nproc)
echo "debug-kernel: building bzImage and modules with -j$jobs (log: $log)" >&2
run make -C "$tree" -j"$jobs" bzImage modules
rel=$(cat "$tree/include/config/kernel.release")
rm -rf "$dir/modules"
run make -C "$tree" modules_install INSTALL_MOD_PATH="$dir/modules"
run depmod -b "$dir/modules" "$rel"
ln -sfn "$tree" "$dir/modules/lib/modules/$rel/build"
cp "$tree/arch/x86/boot/bzImage" "$dir/bzImage"
cp "$tree/.config" "$dir/config"
echo "$rel" > "$dir/release"
echo $(($(date +%s) - start)) > "$dir/build-seconds"
touch "$dir/complete"
echo "debug-kernel: built $rel in $(cat "$dir/build-seconds") s: $dir" >&2
echo "$dir"
