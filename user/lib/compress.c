// SPDX-License-Identifier: GPL-2.0
/*
 * zstd and lz4 block encode/decode for ZDATA items (see compress.h).  Each
 * library is opened on first use (lazy.h): a process that moves no
 * compressed stream does not pay for loading it.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "lazy.h"

#ifdef VFMIG_HAVE_ZSTD
#include <zstd.h>
#include <zstd_errors.h>

static struct zstd_api {
	__typeof__(ZSTD_compressBound) *ZSTD_compressBound;
	__typeof__(ZSTD_createCCtx) *ZSTD_createCCtx;
	__typeof__(ZSTD_freeCCtx) *ZSTD_freeCCtx;
	__typeof__(ZSTD_CCtx_setParameter) *ZSTD_CCtx_setParameter;
	__typeof__(ZSTD_compress2) *ZSTD_compress2;
	__typeof__(ZSTD_createDCtx) *ZSTD_createDCtx;
	__typeof__(ZSTD_freeDCtx) *ZSTD_freeDCtx;
	__typeof__(ZSTD_decompressDCtx) *ZSTD_decompressDCtx;
	__typeof__(ZSTD_isError) *ZSTD_isError;
	__typeof__(ZSTD_getErrorCode) *ZSTD_getErrorCode;
	__typeof__(ZSTD_getErrorName) *ZSTD_getErrorName;
} zstd_api;

#define ZSYM(name) VFMIG_LAZY_SYM(struct zstd_api, name)
static const struct vfmig_lazy_sym zstd_syms[] = {
	ZSYM(ZSTD_compressBound), ZSYM(ZSTD_createCCtx), ZSYM(ZSTD_freeCCtx),
	ZSYM(ZSTD_CCtx_setParameter), ZSYM(ZSTD_compress2), ZSYM(ZSTD_createDCtx),
	ZSYM(ZSTD_freeDCtx), ZSYM(ZSTD_decompressDCtx), ZSYM(ZSTD_isError),
	ZSYM(ZSTD_getErrorCode), ZSYM(ZSTD_getErrorName),
};
static struct vfmig_lazy zstd_lib = VFMIG_LAZY_INIT("libzstd.so.1", zstd_syms, &zstd_api);
#endif

#ifdef VFMIG_HAVE_LZ4
#include <lz4frame.h>

static struct lz4_api {
	__typeof__(LZ4F_isError) *LZ4F_isError;
	__typeof__(LZ4F_getErrorName) *LZ4F_getErrorName;
	__typeof__(LZ4F_compressFrameBound) *LZ4F_compressFrameBound;
	__typeof__(LZ4F_createCompressionContext) *LZ4F_createCompressionContext;
	__typeof__(LZ4F_freeCompressionContext) *LZ4F_freeCompressionContext;
	__typeof__(LZ4F_compressBegin) *LZ4F_compressBegin;
	__typeof__(LZ4F_compressUpdate) *LZ4F_compressUpdate;
	__typeof__(LZ4F_compressEnd) *LZ4F_compressEnd;
	__typeof__(LZ4F_createDecompressionContext) *LZ4F_createDecompressionContext;
	__typeof__(LZ4F_freeDecompressionContext) *LZ4F_freeDecompressionContext;
	__typeof__(LZ4F_resetDecompressionContext) *LZ4F_resetDecompressionContext;
	__typeof__(LZ4F_decompress) *LZ4F_decompress;
} lz4_api;

#define LSYM(name) VFMIG_LAZY_SYM(struct lz4_api, name)
static const struct vfmig_lazy_sym lz4_syms[] = {
	LSYM(LZ4F_isError), LSYM(LZ4F_getErrorName), LSYM(LZ4F_compressFrameBound),
	LSYM(LZ4F_createCompressionContext), LSYM(LZ4F_freeCompressionContext),
	LSYM(LZ4F_compressBegin), LSYM(LZ4F_compressUpdate), LSYM(LZ4F_compressEnd),
	LSYM(LZ4F_createDecompressionContext), LSYM(LZ4F_freeDecompressionContext),
	LSYM(LZ4F_resetDecompressionContext), LSYM(LZ4F_decompress),
};
static struct vfmig_lazy lz4_lib = VFMIG_LAZY_INIT("liblz4.so.1", lz4_syms, &lz4_api);

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

/* The codec's library, opened if it was not yet; NULL if it cannot be. */
static struct vfmig_lazy *codec_lib(unsigned int codec)
{
	switch (codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		return vfmig_lazy_get(&zstd_lib) ? &zstd_lib : NULL;
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4:
		return vfmig_lazy_get(&lz4_lib) ? &lz4_lib : NULL;
#endif
	}
	return NULL;
}

const char *vfmig_codec_name(unsigned int codec)
{
	switch (codec) {
	case VFMIG_CODEC_NONE:	return "none";
	case VFMIG_CODEC_ZSTD:	return "zstd";
	case VFMIG_CODEC_LZ4:	return "lz4";
	}
	return "unknown";
}

bool vfmig_codec_built(unsigned int codec)
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

const char *vfmig_codec_unavailable(unsigned int codec)
{
	switch (codec) {
	case VFMIG_CODEC_NONE:
		return NULL;
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		return codec_lib(codec) ? NULL : zstd_lib.error;
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4:
		return codec_lib(codec) ? NULL : lz4_lib.error;
#endif
	}
	return "not in this build";
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
	if (!codec_lib(codec))
		return 0;
	switch (codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		return zstd_api.ZSTD_compressBound(n);
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4: {
		LZ4F_preferences_t p;

		lz4_prefs(&p, n, 0);
		return lz4_api.LZ4F_compressFrameBound(n, &p);
	}
#endif
	}
	(void)n;
	return 0;
}

/*
 * Pearson's chi-square of the byte counts against the uniform distribution
 * (255 degrees of freedom): about 255 for random bytes (standard deviation
 * about 23 at any size from 256 bytes), thousands and more for text,
 * tables, zero runs or short repeating patterns, and near 0 for bytes
 * spread too evenly to be random (a ramp 0, 1, ... 255), which codecs
 * shrink too: random is between half and twice 255.  A pass over the
 * sample costs far less than a codec trial (under TCG, the first zstd call
 * of a process alone costs ~10 ms of code translation); in the spirit of
 * btrfs's heuristic, which looks at the byte distribution before it
 * compresses.  A sample that is one random block repeated twice or more
 * counts high and is tried; a random block repeated at distances longer
 * than the sample is taken for random.
 */
bool vfmig_codec_looks_random(const void *p, size_t n)
{
	uint32_t count[256] = { 0 };
	const uint8_t *b = p;
	double expect = (double)n / 256, chi2 = 0;
	size_t i;

	if (n < VFMIG_CODEC_LOOK_MIN)
		return false;
	for (i = 0; i < n; i++)
		count[b[i]]++;
	for (i = 0; i < 256; i++) {
		double d = count[i] - expect;

		chi2 += d * d / expect;
	}
	return chi2 > 255 / 2.0 && chi2 < 2 * 255;
}

void vfmig_codec_ctx_init(struct vfmig_codec_ctx *c, unsigned int codec, int level)
{
	c->codec = codec;
	c->level = level;
	c->zc = c->zd = NULL;
}

void vfmig_codec_ctx_fini(struct vfmig_codec_ctx *c)
{
	/* A context exists only once its library was opened. */
	switch (c->zc || c->zd ? c->codec : VFMIG_CODEC_NONE) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD:
		zstd_api.ZSTD_freeCCtx(c->zc);
		zstd_api.ZSTD_freeDCtx(c->zd);
		break;
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4:
		lz4_api.LZ4F_freeCompressionContext(c->zc);
		lz4_api.LZ4F_freeDecompressionContext(c->zd);
		break;
#endif
	}
	c->zc = c->zd = NULL;
}

int vfmig_codec_encode(struct vfmig_codec_ctx *c, const void *src, size_t n, void *dst,
		       size_t cap, size_t *out)
{
	if (!codec_lib(c->codec))
		return -EOPNOTSUPP;
	switch (c->codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD: {
		size_t ret;

		if (!c->zc) {
			c->zc = zstd_api.ZSTD_createCCtx();
			if (!c->zc)
				return -ENOMEM;
			/* A content checksum: corrupt input fails to decode. */
			zstd_api.ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
			zstd_api.ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel,
							c->level ? c->level : ZSTD_CLEVEL_DEFAULT);
		}
		ret = zstd_api.ZSTD_compress2(c->zc, dst, cap, src, n);
		if (zstd_api.ZSTD_isError(ret))
			return zstd_api.ZSTD_getErrorCode(ret) ==
			       ZSTD_error_memory_allocation ?
			       -ENOMEM : -ENOSPC;
		*out = ret;
		return 0;
	}
#endif
#ifdef VFMIG_HAVE_LZ4
	case VFMIG_CODEC_LZ4: {
		LZ4F_preferences_t p;
		size_t pos, ret;

		if (!c->zc &&
		    lz4_api.LZ4F_isError(lz4_api.LZ4F_createCompressionContext((LZ4F_cctx **)&c->zc,
									       LZ4F_VERSION)))
			return -ENOMEM;
		lz4_prefs(&p, n, c->level);
		ret = lz4_api.LZ4F_compressBegin(c->zc, dst, cap, &p);
		if (lz4_api.LZ4F_isError(ret))
			return -ENOSPC;
		pos = ret;
		ret = lz4_api.LZ4F_compressUpdate(c->zc, (uint8_t *)dst + pos, cap - pos, src, n,
						  NULL);
		if (lz4_api.LZ4F_isError(ret))
			return -ENOSPC;
		pos += ret;
		ret = lz4_api.LZ4F_compressEnd(c->zc, (uint8_t *)dst + pos, cap - pos, NULL);
		if (lz4_api.LZ4F_isError(ret))
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
	*why = vfmig_codec_unavailable(c->codec);
	if (*why)
		return -EOPNOTSUPP;
	switch (c->codec) {
#ifdef VFMIG_HAVE_ZSTD
	case VFMIG_CODEC_ZSTD: {
		size_t ret;

		if (!c->zd && !(c->zd = zstd_api.ZSTD_createDCtx())) {
			*why = "out of memory";
			return -ENOMEM;
		}
		ret = zstd_api.ZSTD_decompressDCtx(c->zd, dst, raw, src, coded);
		if (zstd_api.ZSTD_isError(ret)) {
			*why = zstd_api.ZSTD_getErrorName(ret);
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

		if (!c->zd &&
		    lz4_api.LZ4F_isError(lz4_api.LZ4F_createDecompressionContext((LZ4F_dctx **)&c->zd,
										 LZ4F_VERSION))) {
			*why = "out of memory";
			return -ENOMEM;
		}
		lz4_api.LZ4F_resetDecompressionContext(c->zd);
		do {
			size_t dn = raw - dpos, sn = coded - spos;

			ret = lz4_api.LZ4F_decompress(c->zd, (uint8_t *)dst + dpos, &dn,
						      (const uint8_t *)src + spos, &sn, NULL);
			if (lz4_api.LZ4F_isError(ret)) {
				*why = lz4_api.LZ4F_getErrorName(ret);
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
