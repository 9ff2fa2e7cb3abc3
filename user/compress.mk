# SPDX-License-Identifier: GPL-2.0
# The compression codecs libvfmig is built with: zstd and lz4, each when
# pkg-config finds its headers (scripts/deps.sh installs both).  Nothing
# links them: libvfmig opens each with dlopen() when a stream first needs it
# (user/lib/lazy.h), so only -ldl follows libvfmig.a.  Included by
# user/Makefile and by what builds libvfmig's sources itself (the fuzz
# targets).
COMPRESS_PC := $(strip $(if $(shell pkg-config --exists libzstd 2>/dev/null && echo y),libzstd) \
	$(if $(shell pkg-config --exists liblz4 2>/dev/null && echo y),liblz4))
COMPRESS_CFLAGS := $(if $(filter libzstd,$(COMPRESS_PC)),-DVFMIG_HAVE_ZSTD) \
	$(if $(filter liblz4,$(COMPRESS_PC)),-DVFMIG_HAVE_LZ4) \
	$(if $(COMPRESS_PC),$(shell pkg-config --cflags $(COMPRESS_PC)))
