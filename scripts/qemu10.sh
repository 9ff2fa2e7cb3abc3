#!/bin/sh
# QEMU 10 (Debian bookworm-backports) in a private root beside the system's
# QEMU 7.2: the VFIO migration v2 client for tests/selftests/qemu10_test.sh.
# Neither the system's apt sources nor its QEMU are touched: a private sources
# list, package lists and cache under $cache/apt, `apt-get download` of the
# QEMU packages and `dpkg -x` into $cache/<version>/root.  The bookworm
# libraries QEMU 10 links against are installed the ordinary way if missing.
#
# usage: qemu10.sh            install (idempotent; quick when done)
#        qemu10.sh --path     print the wrapper's path, exit 1 if not installed
# The wrapper, $cache/<version>/qemu-system-x86_64, runs the private binary
# with its own firmware, ROMs and modules; VFMIG_QEMU10 names it in the VM
# (the test VM sees the host's / over 9p, so the path is the same there).
# Must run as root to install.
set -eu

cache=${VFMIG_QEMU10_CACHE:-/var/cache/vfmig/qemu10}
suite=bookworm-backports
mirror=http://deb.debian.org/debian
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
# What runs the x86 system emulator: binary, its modules and helpers, data
# (keymaps, vgabios, kvmvapic), and the SeaBIOS it wants (newer than
# bookworm's).  ipxe-qemu (NIC option ROMs) is unused with -nodefaults.
pkgs="qemu-system-x86 qemu-system-common qemu-system-data seabios"

installed() { # the newest installed wrapper that reports QEMU 10
	for w in $(ls -d "$cache"/*/qemu-system-x86_64 2>/dev/null | sort -V -r); do
		if [ -x "$w" ] && "$w" --version 2>/dev/null | grep -q '^QEMU emulator version 10\.'; then
			echo "$w"
			return 0
		fi
	done
	return 1
}

if [ "${1:-}" = --path ]; then
	installed
	exit
fi

if w=$(installed); then
	echo "qemu10: $("$w" --version | head -n 1) at $w"
	exit 0
fi

apt=$cache/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/parts" "$apt/debs"
echo "deb [signed-by=$keyring] $mirror $suite main" > "$apt/sources.list"
set -- -o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts="$apt/parts" \
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache" \
	-o APT::Sandbox::User=root -q
apt-get "$@" update
ver=$(apt-cache "$@" show "qemu-system-x86/$suite" | sed -n 's/^Version: //p' | head -n 1)
[ -n "$ver" ] || { echo "qemu10: no qemu-system-x86 in $suite" >&2; exit 1; }
case $ver in
1:10.*) ;;
*) echo "qemu10: $suite has qemu-system-x86 $ver, not 10.x" >&2; exit 1 ;;
esac
up=${ver#1:}
up=${up%%+*}
dir=$cache/$up
echo "qemu10: qemu-system-x86 $ver into $dir"

rm -f "$apt/debs"/*.deb
for p in $pkgs; do
	(cd "$apt/debs" && apt-get "$@" download "$p/$suite")
done

# Library dependencies from bookworm (what QEMU 7.2 already pulled in, mostly).
need=""
for deb in "$apt/debs"/*.deb; do
	for d in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/[ (].*//; s/^ *//' |
		grep '^lib'); do
		dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q 'ok installed' ||
			need="$need $d"
	done
done
if [ -n "$need" ]; then
	echo "qemu10: installing libraries:$need"
	# shellcheck disable=SC2086
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need
fi

rm -rf "$dir.new"
mkdir -p "$dir.new/root"
for deb in "$apt/debs"/*.deb; do
	dpkg -x "$deb" "$dir.new/root"
done
root=$dir/root
# Absolute links inside the packages (e.g. /usr/share/qemu/bios-256k.bin ->
# /usr/share/seabios/...) would reach the system's 7.2 files: point them
# into the private root.
find "$dir.new/root" -type l | while read -r l; do
	t=$(readlink "$l")
	case $t in
	/*) ln -sfn "$root$t" "$l" ;;
	esac
done
cat > "$dir.new/qemu-system-x86_64" <<EOF
#!/bin/sh
# QEMU $ver from $suite, private root (scripts/qemu10.sh).
QEMU_MODULE_DIR=$root/usr/lib/x86_64-linux-gnu/qemu
export QEMU_MODULE_DIR
exec $root/usr/bin/qemu-system-x86_64 -L $root/usr/share/qemu -L $root/usr/share/seabios "\$@"
EOF
chmod 755 "$dir.new/qemu-system-x86_64"
rm -rf "$dir"
mv "$dir.new" "$dir"
w=$dir/qemu-system-x86_64
if ! "$w" --version | grep -q '^QEMU emulator version 10\.'; then
	"$w" --version >&2 || true
	echo "qemu10: $w does not run as QEMU 10" >&2
	exit 1
fi
# A firmware-only TCG guest must come up: firmware and ROMs are found.
if ! echo quit | "$w" -accel tcg -machine pc -m 32 -nodefaults -display none \
	-monitor stdio -S > "$dir/smoke.log" 2>&1; then
	cat "$dir/smoke.log" >&2
	echo "qemu10: $w does not start a guest" >&2
	exit 1
fi
echo "qemu10: $("$w" --version | head -n 1) at $w"
