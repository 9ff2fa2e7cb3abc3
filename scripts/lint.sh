#!/bin/sh
# `make lint`: checkpatch.pl --strict, from Debian's linux-source-6.12, over
# the module's sources and the shared headers.  Exit status non-zero on any
# report outside the exceptions below.
#
# Exceptions, each for a reason:
# - kernel/compat.h compares LINUX_VERSION_CODE: it is the one place that
#   adapts to the kernels vfmig builds against (6.1 and 6.12), which is what
#   an out-of-tree module must do and checkpatch asks in-tree code not to.
# - include/vfmig/ is shared with user space like a uapi header: BIT() and
#   __packed do not exist there (uapi headers spell the attribute out), and
#   the state predicates take their argument twice.
# - include/vfmig/libvfmig.h is the C library's API for user programs, not
#   a kernel interface: it spells its types the C way (uint64_t), as every
#   caller's compiler knows them, instead of the kernel's u64.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
tarball=$(ls /usr/src/linux-source-6.12.tar.* 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "lint: no /usr/src/linux-source-6.12.tar.*; run 'make deps'" >&2; exit 1; }
cp_dir=$top/build/checkpatch
if [ ! -x "$cp_dir/scripts/checkpatch.pl" ] || [ "$tarball" -nt "$cp_dir/scripts/checkpatch.pl" ]; then
	rm -rf "$cp_dir"
	mkdir -p "$cp_dir"
	tar -xf "$tarball" -C "$cp_dir" --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
	touch "$cp_dir/scripts/checkpatch.pl"
fi
cd "$top"
status=0
checkpatch() { # checkpatch [--ignore TYPES] FILE...: print only the reports
	perl "$cp_dir/scripts/checkpatch.pl" --strict --no-tree --terse --show-types -f "$@" \
		> build/checkpatch.out 2>&1 || status=1
	grep -v '^total: 0 errors, 0 warnings, 0 checks' build/checkpatch.out || true
}
# shellcheck disable=SC2046
checkpatch $(ls kernel/*.c kernel/*.h | grep -v '^kernel/compat.h$')
checkpatch --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON kernel/compat.h
# shellcheck disable=SC2046
checkpatch --ignore BIT_MACRO,MACRO_ARG_REUSE,PREFER_DEFINED_ATTRIBUTE_MACRO \
	$(ls include/vfmig/*.h | grep -v '/libvfmig.h$')
checkpatch --ignore PREFER_KERNEL_TYPES include/vfmig/libvfmig.h
if [ "$status" = 0 ]; then
	echo "lint: checkpatch --strict clean"
else
	echo "lint: checkpatch --strict found problems" >&2
fi
exit $status
