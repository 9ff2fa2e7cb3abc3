// SPDX-License-Identifier: GPL-2.0
/* zstd and lz4 block encode/decode for ZDATA items (see compress.h). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

#ifdef VFMIG_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>
#endif
#ifdef VFMIG_HAVE_LZ4
#include <lz4frame.h>

/*
 * lz4 frames, not bare blocks: the frame's content checksum and size make
 * corrupt input an error instead of wrong bytes.
 */
static void lz4_prefs(LZ4F_preferences_t *p, size_t n, int level)
{
	memset(p, 0, sizeof(*p));
	p->frameInfo.blockSizeID = LZ4F_max256KB;
	p->frameInfo.blockMode = LZ4F_blockIndependent;
	p->frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
	p->frameInfo.contentSize = n;
	p->autoFlush = 1;
	/* Acceleration a is LZ4F's level 1 - a (negative: faster). */
	p->compressionLevel = level > 1 ? 1 - level : 0;
}
#endif

const char *vfmig_codec_name(unsigned int codec)
{
	switch (codec) {
	case VFMIG_CODEC_NONE:	return "none";
	case VFMIG_CODEC_ZSTD:	return "zstd";
	case VFMIG_CODEC_LZ4:	return "lz4";
	}
	return "unknown";
}

bool vfmig_codec_available(unsigned int codec)
{
	switch (codec) {
	case VFMIG_CODEC_NONE:
		return true;
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		return true;
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4:
		return true;
#endif
	}
	return false;
}

int vfmig_codec_check_level(unsigned int codec, int level)
{
	if (!level)
		return 0;
	if (codec == VFMIG_CODEC_ZSTD && level >= 1 && level <= VFMIG_ZSTD_MAX_LEVEL)
		return 0;
	if (codec == VFMIG_CODEC_LZ4 && level >= 1 && level <= VFMIG_LZ4_MAX_ACCEL)
		return 0;
	return -EINVAL;
}

size_t vfmig_codec_bound(unsigned int codec, size_t n)
{
	switch (codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		return ZSTD_compressBound(n);
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4: {
		LZ4F_preferences_t p;

		lz4_prefs(&p, n, 0);
		return LZ4F_compressFrameBound(n, &p);
	}
#endif
	}
	(void)n;
	return 0;
}

void vfmig_codec_ctx_init(struct vfmig_codec_ctx *c, unsigned int codec, int level)
{
	c->codec = codec;
	c->level = level;
	c->zc = c->zd = NULL;
}

void vfmig_codec_ctx_fini(struct vfmig_codec_ctx *c)
{
	switch (c->codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		ZSTD_freeCCtx(c->zc);
		ZSTD_freeDCtx(c->zd);
		break;
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4:
		LZ4F_freeCompressionContext(c->zc);
		LZ4F_freeDecompressionContext(c->zd);
		break;
#endif
	}
	c->zc = c->zd = NULL;
}

int vfmig_codec_encode(struct vfmig_codec_ctx *c, const void *src, size_t n, void *dst,
		       size_t cap, size_t *out)
{
	switch (c->codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD: {
		size_t ret;

		if (!c->zc) {
			c->zc = ZSTD_createCCtx();
			if (!c->zc)
				return -ENOMEM;
			/* A content checksum: corrupt input fails to decode. */
			ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
			ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
					       c->level ? c->level : ZSTD_CLEVEL_DEFAULT);
		}
		ret = ZSTD_compress2(c->zc, dst, cap, src, n);
		if (ZSTD_isError(ret))
			return ZSTD_getErrorCode(ret) == ZSTD_error_memory_allocation ?
			       -ENOMEM : -ENOSPC;
		*out = ret;
		return 0;
	}
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4: {
		LZ4F_preferences_t p;
		size_t pos, ret;

		if (!c->zc && LZ4F_isError(LZ4F_createCompressionContext((LZ4F_cctx **)&c->zc,
									 LZ4F_VERSION)))
			return -ENOMEM;
		lz4_prefs(&p, n, c->level);
		ret = LZ4F_compressBegin(c->zc, dst, cap, &p);
		if (LZ4F_isError(ret))
			return -ENOSPC;
		pos = ret;
		ret = LZ4F_compressUpdate(c->zc, (uint8_t *)dst + pos, cap - pos, src, n, NULL);
		if (LZ4F_isError(ret))
			return -ENOSPC;
		pos += ret;
		ret = LZ4F_compressEnd(c->zc, (uint8_t *)dst + pos, cap - pos, NULL);
		if (LZ4F_isError(ret))
			return -ENOSPC;
		*out = pos + ret;
		return 0;
	}
#endif
	}
	(void)src, (void)n, (void)dst, (void)cap, (void)out;
	return -EOPNOTSUPP;
}

int vfmig_codec_decode(struct vfmig_codec_ctx *c, const void *src, size_t coded, void *dst,
		       size_t raw, const char **why)
{
	*why = "codec not built in";
	switch (c->codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD: {
		size_t ret;

		if (!c->zd && !(c->zd = ZSTD_createDCtx())) {
			*why = "out of memory";
			return -ENOMEM;
		}
		ret = ZSTD_decompressDCtx(c->zd, dst, raw, src, coded);
		if (ZSTD_isError(ret)) {
			*why = ZSTD_getErrorName(ret);
			return -EBADMSG;
		}
		if (ret != raw) {
			*why = "decodes to fewer bytes than the chunk announces";
			return -EBADMSG;
		}
		return 0;
	}
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4: {
		size_t dpos = 0, spos = 0, ret;

		if (!c->zd && LZ4F_isError(LZ4F_createDecompressionContext((LZ4F_dctx **)&c->zd,
									   LZ4F_VERSION))) {
			*why = "out of memory";
			return -ENOMEM;
		}
		LZ4F_resetDecompressionContext(c->zd);
		do {
			size_t dn = raw - dpos, sn = coded - spos;

			ret = LZ4F_decompress(c->zd, (uint8_t *)dst + dpos, &dn,
					      (const uint8_t *)src + spos, &sn, NULL);
			if (LZ4F_isError(ret)) {
				*why = LZ4F_getErrorName(ret);
				return -EBADMSG;
			}
			dpos += dn;
			spos += sn;
			if (ret && !dn && !sn) {
				*why = "the lz4 frame does not end with the chunk";
				return -EBADMSG;
			}
		} while (ret);
		if (spos != coded || dpos != raw) {
			*why = "the lz4 frame's size differs from the chunk's";
			return -EBADMSG;
		}
		return 0;
	}
#endif
	}
	(void)src, (void)coded, (void)dst, (void)raw;
	return -EOPNOTSUPP;
}
