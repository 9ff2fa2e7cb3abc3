/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The codecs a stream's compressed DATA chunks (ZDATA items) may use: zstd
 * and lz4, each present when the build found its library (pkg-config).
 * One block at a time: the stream layer (stream.c) frames and checks, this
 * file only encodes and decodes.
 */
#ifndef VFMIG_COMPRESS_H
#define VFMIG_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"

/* The codec byte of a ZDATA item; also enum vfmig_compress in libvfmig.h. */
#define VFMIG_CODEC_NONE	0u
#define VFMIG_CODEC_ZSTD	1u
#define VFMIG_CODEC_LZ4		2u
#define VFMIG_CODEC_MAX		2u

#define VFMIG_ZSTD_MAX_LEVEL	19	/* higher needs far more memory */
#define VFMIG_LZ4_MAX_ACCEL	64

const char *vfmig_codec_name(unsigned int codec);
/* Whether this build has the codec; its library is not opened. */
bool vfmig_codec_built(unsigned int codec);
/*
 * NULL if this build has the codec and its library opens (on the first
 * call), else why not.  Streams ask only once a codec must run: a writer
 * at its first trial, a reader at its first ZDATA item, so that moving
 * random state under --compress opens no library at either end (a dlopen
 * costs 12-18 ms under TCG).
 */
const char *vfmig_codec_unavailable(unsigned int codec);
/* 0, or -EINVAL for a level out of range (0 is always the default). */
int vfmig_codec_check_level(unsigned int codec, int level);
/* Largest coded size of n raw bytes; 0 for an unknown codec. */
size_t vfmig_codec_bound(unsigned int codec, size_t n);

/*
 * Whether n bytes look uniformly random, which no codec shrinks: decided
 * from their byte counts alone, without loading or running a codec.  False
 * for fewer than VFMIG_CODEC_LOOK_MIN bytes (too few to tell).
 */
#define VFMIG_CODEC_LOOK_MIN	256u
bool vfmig_codec_looks_random(const void *p, size_t n);

/* Per-direction state (zstd contexts); NULL members are made on first use. */
struct vfmig_codec_ctx {
	unsigned int codec;
	int level;		/* 0: the codec's default */
	void *zc, *zd;
};

void vfmig_codec_ctx_init(struct vfmig_codec_ctx *c, unsigned int codec, int level);
void vfmig_codec_ctx_fini(struct vfmig_codec_ctx *c);
/*
 * Encode src into dst (cap bytes); *out the coded size.  -ENOSPC when it
 * does not fit (the caller sends the block raw), -ENOMEM.
 */
int vfmig_codec_encode(struct vfmig_codec_ctx *c, const void *src, size_t n, void *dst,
		       size_t cap, size_t *out);
/*
 * Decode exactly raw bytes; anything else (corrupt input, a different
 * length) is -EBADMSG with the codec's reason in why.
 */
int vfmig_codec_decode(struct vfmig_codec_ctx *c, const void *src, size_t coded, void *dst,
		       size_t raw, const char **why);

#endif /* VFMIG_COMPRESS_H */
