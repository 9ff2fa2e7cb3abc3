# SPDX-License-Identifier: GPL-2.0
# vfmig top-level Makefile.
#
#   make              module for KDIR, user-space library, CLI and tests
#   make check        unit tests on the host + VM suites on Linux 6.1 and 6.12
#                     + device/migration/fuzz suites on the debug kernel
#   make debug-kernel the debug 6.12 kernel (KASAN, lockdep, UBSAN), cached
#   make debug-check  only the debug-kernel part of `make check`
#   make demo         the main job in a VM (see README)
#   make vm-shell     a shell in a VM with the module built for KREL
#   make deps         install build/test dependencies (Debian 12, as root),
#                     QEMU 10 from bookworm-backports in a private root included
#   make qemu10-path  print the QEMU 10 wrapper's path (VFMIG_QEMU10)
#   make modules-all  vfmig.ko for every tested kernel, W=1 and sparse
#   make bench        migration throughput vs memcpy and peak RSS, in a VM
#   make lint         checkpatch.pl --strict over kernel/ and include/
#   make install      module (updates/, depmod), CLI, libvfmig (.so.0, .a,
#                     headers, libvfmig.pc), man pages, bash completion;
#                     PREFIX (default /usr/local), LIBDIR and DESTDIR as usual
#   make examples     examples/ built with pkg-config alone against an
#                     install into build/example-root
#   make uninstall    undo make install (same PREFIX, DESTDIR, KDIR)
#   make fuzz         both below: every fuzzer for its long run
#   make fuzz-vm      the VM interface fuzzer, FUZZ_OPS (100000) per kernel
#   make fuzz-host    the host fuzz targets (stream reader, device payload
#                     parser), FUZZ_SECONDS each (default 600)
#   make unit-asan    the unit tests and the CLI built with ASan + UBSan (build/asan/)
#   make unit-tsan    the unit tests and the CLI built with ThreadSanitizer (build/tsan/)

.DELETE_ON_ERROR:

TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
# Kernel to build for: the running one if it has a build tree, else the
# newest installed Debian headers.
KDIR ?= $(shell if [ -e /lib/modules/$$(uname -r)/build/Makefile ]; then \
	echo /lib/modules/$$(uname -r)/build; else \
	ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sort -V | tail -n 1; fi)
KREL = $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null)
# Kernels `make check` runs on.
VM_KERNELS ?= $(shell sh $(TOP)/scripts/kernels.sh)

.PHONY: all module modules-all user unit selftests check unit-check vm-check \
	demo vm-shell deps clean bench bench-ab lint man install uninstall examples unit-asan unit-tsan fuzz-build \
	fuzz-host fuzz-vm fuzz debug-kernel debug-check qemu10-path

all: module user selftests unit

module:
	@test -n "$(KDIR)" || { echo "no kernel headers found; run 'make deps'" >&2; exit 1; }
	sh scripts/build-module.sh "$(KREL)" "$(KDIR)" W=1 $(if $(C),C=$(C))

# Every tested kernel, with W=1 and sparse (C=1): both must be silent.
modules-all:
	@for k in $(VM_KERNELS); do \
		sh scripts/build-module.sh $$k /usr/src/linux-headers-$$k W=1 C=1 || exit 1; \
	done

user:
	$(MAKE) -C user

# checkpatch --strict from Debian's linux-source-6.12 (exceptions in the script).
lint:
	sh scripts/lint.sh

unit: user
	$(MAKE) -C tests/unit

selftests: user
	$(MAKE) -C tests/selftests

# The unit tests, libvfmig and the CLI again with AddressSanitizer + UBSan,
# into build/asan/ (`make check` runs the unit tests besides the valgrind
# run, and the engine's VM suites with this CLI on one kernel).
ASAN_CC ?= clang
ASAN_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
unit-asan:
	$(MAKE) -C user CC=$(ASAN_CC) CFLAGS="$(ASAN_CFLAGS)" BUILD=$(TOP)/build/asan/user \
		API_CHECK= $(TOP)/build/asan/user/libvfmig.a $(TOP)/build/asan/user/vfmig
	$(MAKE) -C tests/unit CC=$(ASAN_CC) CFLAGS="$(ASAN_CFLAGS)" BUILD=$(TOP)/build/asan/unit \
		LIBVFMIG=$(TOP)/build/asan/user/libvfmig.a

# Again with ThreadSanitizer, into build/tsan/ (the CLI too: make check runs
# the parallel and engine VM suites with it): lanes, the channel and the
# loader thread share a migration between threads.
TSAN_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=thread
unit-tsan:
	$(MAKE) -C user CC=$(ASAN_CC) CFLAGS="$(TSAN_CFLAGS)" BUILD=$(TOP)/build/tsan/user \
		API_CHECK= $(TOP)/build/tsan/user/libvfmig.a $(TOP)/build/tsan/user/vfmig
	$(MAKE) -C tests/unit CC=$(ASAN_CC) CFLAGS="$(TSAN_CFLAGS)" BUILD=$(TOP)/build/tsan/unit \
		LIBVFMIG=$(TOP)/build/tsan/user/libvfmig.a

# libFuzzer targets (clang): tests/fuzz/.
fuzz-build:
	$(MAKE) -C tests/fuzz

# Each host fuzz target for FUZZ_SECONDS (FUZZ_SEED: 0 = random, printed);
# a new run directory under build/fuzz/runs/, the committed corpus only read.
FUZZ_SECONDS ?= 600
FUZZ_SEED ?= 0
fuzz-host: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_SEED)

# valgrind run, ASan/UBSan run, host fuzz smoke (FUZZ_CHECK_SECONDS each).
unit-check: unit unit-asan unit-tsan fuzz-build
	sh tests/run-checks.sh unit

vm-check: user unit-asan unit-tsan selftests examples
	sh tests/run-checks.sh vm $(VM_KERNELS)

# Unit tests and the VM suite on each kernel; ends with "N passed, N failed".
# VFMIG_DEBUG_KERNEL=0 leaves the debug kernel out.
check: user unit unit-asan unit-tsan fuzz-build selftests examples
	sh tests/run-checks.sh all $(VM_KERNELS)

# Build (first time: 8 min measured on an idle 2-core machine, 40 min on a
# busy one) or reuse the debug kernel; see
# Documentation/vm-runner.md.
debug-kernel:
	sh scripts/debug-kernel.sh

debug-check: user selftests
	sh tests/run-checks.sh debug

demo: user selftests
	sh tests/demo.sh $(firstword $(VM_KERNELS))

# Figures, not a test: build/bench/bench.json (not part of `make check`).
# BENCH_KREL picks the guest kernel (default: the first tested one).
BENCH_KREL ?= $(firstword $(VM_KERNELS))
bench: user
	$(MAKE) -C tests/bench
	sh tests/bench/run.sh $(BENCH_KREL)

# The module at AB_BASE (default HEAD) against the working tree's, alternated
# round by round in one guest: save to and resume from a tmpfs file
# (tests/bench/module_ab.sh; AB_* settings there).
bench-ab: user
	$(MAKE) -C tests/bench
	sh tests/bench/ab.sh $(BENCH_KREL)

# The VM interface fuzzer on every tested kernel, with a random seed (printed;
# VFMIG_FUZZ_SEED=<n> repeats a run).  `make check` runs a 10,000-op slice.
FUZZ_OPS ?= 100000
fuzz-vm: user selftests
	FUZZ_OPS=$(FUZZ_OPS) sh tests/fuzz-vm.sh $(VM_KERNELS)

# The long runs of every fuzzer (Documentation/reliability.md): host targets
# for FUZZ_SECONDS each, then the VM fuzzer for FUZZ_OPS on each kernel.
fuzz: fuzz-host fuzz-vm

# KREL_VM=debug-6.12: the debug kernel.
KREL_VM ?= $(firstword $(VM_KERNELS))
vm-shell: user selftests
	@if [ "$(KREL_VM)" = debug-6.12 ]; then \
		dk=$$(sh scripts/debug-kernel.sh) && \
		sh scripts/build-module.sh "$$(cat "$$dk/release")" "$$dk/linux"; \
	else \
		sh scripts/build-module.sh $(KREL_VM) /usr/src/linux-headers-$(KREL_VM); \
	fi
	sh tests/vm/run-vm.sh --interactive $(KREL_VM)

deps:
	sh scripts/deps.sh

# QEMU 10 (scripts/qemu10.sh installs it under /var/cache/vfmig/qemu10/):
# the wrapper the qemu10 VM suite runs as VFMIG_QEMU10; empty if absent.
QEMU10 ?= $(shell sh $(TOP)/scripts/qemu10.sh --path 2>/dev/null)
qemu10-path:
	@test -n "$(QEMU10)" || { echo "QEMU 10 not installed; run 'make deps'" >&2; exit 1; }
	@echo "$(QEMU10)"

# Man pages: scdoc sources in Documentation/man/, the one source for each page.
MAN_SRCS := $(wildcard Documentation/man/*.scd)
MAN_PAGES := $(MAN_SRCS:Documentation/man/%.scd=build/man/%)
man: $(MAN_PAGES)
build/man/%: Documentation/man/%.scd
	@mkdir -p build/man
	scdoc < $< > $@

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
LIB_VERSION = $(shell sed -n 's/^VERSION := //p' user/Makefile)
PUBLIC_HEADERS := $(wildcard include/vfmig/*.h)
# kbuild installs the module into /lib/modules/<krelease>/updates/, which
# modprobe prefers over the kernel's own tree; depmod indexes it (not into a
# DESTDIR staging tree: a package runs depmod when it is installed).
install: module user man
	$(MAKE) -C "$(KDIR)" M="$(TOP)/build/$(KREL)" INSTALL_MOD_DIR=updates \
		$(if $(DESTDIR),INSTALL_MOD_PATH="$(DESTDIR)") modules_install
	$(if $(DESTDIR),,depmod "$(KREL)")
	install -D -m 0755 user/build/vfmig "$(DESTDIR)$(BINDIR)/vfmig"
	install -D -m 0755 user/build/libvfmig.so.$(LIB_VERSION) \
		"$(DESTDIR)$(LIBDIR)/libvfmig.so.$(LIB_VERSION)"
	ln -sf libvfmig.so.$(LIB_VERSION) "$(DESTDIR)$(LIBDIR)/libvfmig.so.0"
	ln -sf libvfmig.so.0 "$(DESTDIR)$(LIBDIR)/libvfmig.so"
	install -m 0644 user/build/libvfmig.a "$(DESTDIR)$(LIBDIR)/libvfmig.a"
	install -d "$(DESTDIR)$(INCLUDEDIR)/vfmig"
	install -m 0644 $(PUBLIC_HEADERS) "$(DESTDIR)$(INCLUDEDIR)/vfmig/"
	install -d "$(DESTDIR)$(PKGCONFIGDIR)"
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(LIB_VERSION)|' \
		user/libvfmig.pc.in > "$(DESTDIR)$(PKGCONFIGDIR)/libvfmig.pc"
	$(if $(DESTDIR),,ldconfig)
	for p in $(MAN_PAGES); do \
		s=$${p##*.}; install -D -m 0644 "$$p" "$(DESTDIR)$(MANDIR)/man$$s/$${p##*/}" || exit 1; \
	done
	install -D -m 0644 user/cli/vfmig.bash-completion "$(DESTDIR)$(BASHCOMPDIR)/vfmig"

# The examples see only what an install gives a user: a DESTDIR tree
# (build/example-root, PREFIX=/usr) found through pkg-config's sysroot.
EXAMPLE_ROOT := $(TOP)/build/example-root
examples:
	rm -rf "$(EXAMPLE_ROOT)"
	$(MAKE) install DESTDIR="$(EXAMPLE_ROOT)" PREFIX=/usr
	PKG_CONFIG_SYSROOT_DIR="$(EXAMPLE_ROOT)" \
	PKG_CONFIG_LIBDIR="$(EXAMPLE_ROOT)/usr/lib/pkgconfig:$$(pkg-config --variable pc_path pkg-config)" \
		$(MAKE) -C examples BUILD=$(TOP)/build/examples

print-krel:
	@echo $(KREL)

uninstall:
	rm -f "$(DESTDIR)"/lib/modules/"$(KREL)"/updates/vfmig.ko*
	$(if $(DESTDIR),,depmod "$(KREL)")
	rm -f "$(DESTDIR)$(BINDIR)/vfmig" "$(DESTDIR)$(BASHCOMPDIR)/vfmig"
	rm -f "$(DESTDIR)$(LIBDIR)"/libvfmig.so* "$(DESTDIR)$(LIBDIR)/libvfmig.a" \
		"$(DESTDIR)$(PKGCONFIGDIR)/libvfmig.pc"
	rm -f $(PUBLIC_HEADERS:include/vfmig/%="$(DESTDIR)$(INCLUDEDIR)/vfmig/%")
	-rmdir "$(DESTDIR)$(INCLUDEDIR)/vfmig" 2>/dev/null
	$(if $(DESTDIR),,ldconfig)
	for p in $(MAN_PAGES); do s=$${p##*.}; rm -f "$(DESTDIR)$(MANDIR)/man$$s/$${p##*/}"; done

clean:
	rm -rf build
	$(MAKE) -C user clean
	$(MAKE) -C tests/unit clean
	$(MAKE) -C tests/selftests clean
	$(MAKE) -C tests/bench clean
	$(MAKE) -C examples clean
