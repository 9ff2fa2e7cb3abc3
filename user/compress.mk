# SPDX-License-Identifier: GPL-2.0
# The compression codecs libvfmig is built with: zstd and lz4, each when
# pkg-config finds it (scripts/deps.sh installs both).  Included by
# user/Makefile and by everything linking libvfmig.a; COMPRESS_PC is what
# libvfmig.pc's Requires.private lists.
COMPRESS_PC := $(strip $(if $(shell pkg-config --exists libzstd 2>/dev/null && echo y),libzstd) \
	$(if $(shell pkg-config --exists liblz4 2>/dev/null && echo y),liblz4))
COMPRESS_CFLAGS := $(if $(filter libzstd,$(COMPRESS_PC)),-DVFMIG_HAVE_ZSTD) \
	$(if $(filter liblz4,$(COMPRESS_PC)),-DVFMIG_HAVE_LZ4) \
	$(if $(COMPRESS_PC),$(shell pkg-config --cflags $(COMPRESS_PC)))
COMPRESS_LIBS := $(if $(COMPRESS_PC),$(shell pkg-config --libs $(COMPRESS_PC)))
