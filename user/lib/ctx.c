// SPDX-License-Identifier: GPL-2.0
/* The library context: callbacks, options, cancel, the last error. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "compress.h"
#include "ctx.h"

const char *vfmig_version(void)
{
	return VFMIG_VERSION;
}

int vfmig_ctx_new(struct vfmig_ctx **out)
{
	struct vfmig_ctx *ctx = calloc(1, sizeof(*ctx));

	*out = ctx;
	if (!ctx)
		return -ENOMEM;
	vfmig_conv_opts_init(&ctx->conv);
	ctx->listen_fd = -1;
	/* One lane: on 2 CPUs more measured no faster (engine.md, "Lanes"). */
	ctx->parallel = 1;
	return 0;
}

void vfmig_ctx_free(struct vfmig_ctx *ctx)
{
	if (ctx && ctx->listen_fd >= 0)
		close(ctx->listen_fd);
	free(ctx);
}

struct vfmig_err *vfmig_ctx_begin(struct vfmig_ctx *ctx)
{
	vfmig_err_clear(&ctx->err);
	return &ctx->err;
}

void vfmig_set_log(struct vfmig_ctx *ctx, vfmig_log_fn fn, void *opaque,
		   enum vfmig_log_level max_level)
{
	ctx->log_fn = fn;
	ctx->log_opaque = opaque;
	ctx->log_max = max_level;
}

void vfmig_log(const struct vfmig_ctx *ctx, enum vfmig_log_level level, const char *fmt, ...)
{
	char msg[VFMIG_ERR_MAX];
	va_list ap;

	if (!ctx || !ctx->log_fn || level > ctx->log_max)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctx->log_fn(ctx->log_opaque, level, msg);
}

void vfmig_set_progress(struct vfmig_ctx *ctx, vfmig_progress_fn fn, void *opaque)
{
	ctx->progress_fn = fn;
	ctx->progress_opaque = opaque;
}

int vfmig_set_option(struct vfmig_ctx *ctx, enum vfmig_option opt, uint64_t value)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);

	switch (opt) {
	case VFMIG_OPT_DOWNTIME_LIMIT_MS:
		if (value > VFMIG_MAX_DOWNTIME_MS)
			return vfmig_err_set(err, -EINVAL,
					     "downtime limit %llu ms: more than %u ms",
					     (unsigned long long)value, VFMIG_MAX_DOWNTIME_MS);
		ctx->conv.downtime_limit_ms = value;
		return 0;
	case VFMIG_OPT_MAX_BANDWIDTH:
		ctx->conv.max_bandwidth = value;
		return 0;
	case VFMIG_OPT_MAX_ITERATIONS:
		if (value > VFMIG_MAX_ITERATIONS)
			return vfmig_err_set(err, -EINVAL, "max iterations %llu: more than %u",
					     (unsigned long long)value, VFMIG_MAX_ITERATIONS);
		ctx->conv.max_iterations = (unsigned int)value;
		return 0;
	case VFMIG_OPT_OFFLINE:
		ctx->conv.offline = value != 0;
		return 0;
	case VFMIG_OPT_NO_MMAP:
		ctx->no_mmap = value != 0;
		return 0;
	case VFMIG_OPT_RECOVER_HELD:
		ctx->recover_held = value != 0;
		return 0;
	case VFMIG_OPT_PROTOCOL:
		if (value > VFMIG_PROTOCOL_V2)
			return vfmig_err_set(err, -EINVAL, "protocol %llu: not auto (0), v1 (1) or v2 (2)",
					     (unsigned long long)value);
		ctx->protocol = (enum vfmig_protocol)value;
		return 0;
	case VFMIG_OPT_PARALLEL:
		if (value > VFMIG_MAX_DEVICES)
			return vfmig_err_set(err, -EINVAL, "parallel %llu: not 0 (auto) to %u",
					     (unsigned long long)value, VFMIG_MAX_DEVICES);
		ctx->parallel = (unsigned int)value;
		return 0;
	case VFMIG_OPT_COMPRESS:
		if (value > VFMIG_CODEC_MAX)
			return vfmig_err_set(err, -EINVAL,
					     "compress %llu: not none (0), zstd (1) or lz4 (2)",
					     (unsigned long long)value);
		/* Its library is opened once a codec must run (compress.h). */
		if (!vfmig_codec_built((unsigned int)value))
			return vfmig_err_set(err, -EOPNOTSUPP, "compress %s: not in this build",
					     vfmig_codec_name((unsigned int)value));
		ctx->conv.compress = (unsigned int)value;
		return 0;
	case VFMIG_OPT_COMPRESS_LEVEL:
		/* Against the codec set (again when a save starts). */
		if (value > VFMIG_LZ4_MAX_ACCEL ||
		    vfmig_codec_check_level(ctx->conv.compress, (int)value))
			return vfmig_err_set(err, -EINVAL, "compress level %llu out of range for %s",
					     (unsigned long long)value,
					     vfmig_codec_name(ctx->conv.compress));
		ctx->conv.compress_level = (int)value;
		return 0;
	}
	return vfmig_err_set(err, -EINVAL, "unknown option %d", (int)opt);
}

uint64_t vfmig_get_option(const struct vfmig_ctx *ctx, enum vfmig_option opt)
{
	switch (opt) {
	case VFMIG_OPT_DOWNTIME_LIMIT_MS:
		return ctx->conv.downtime_limit_ms;
	case VFMIG_OPT_MAX_BANDWIDTH:
		return ctx->conv.max_bandwidth;
	case VFMIG_OPT_MAX_ITERATIONS:
		return ctx->conv.max_iterations;
	case VFMIG_OPT_OFFLINE:
		return ctx->conv.offline;
	case VFMIG_OPT_NO_MMAP:
		return ctx->no_mmap;
	case VFMIG_OPT_RECOVER_HELD:
		return ctx->recover_held;
	case VFMIG_OPT_PROTOCOL:
		return ctx->protocol;
	case VFMIG_OPT_PARALLEL:
		return ctx->parallel;
	case VFMIG_OPT_COMPRESS:
		return ctx->conv.compress;
	case VFMIG_OPT_COMPRESS_LEVEL:
		return (uint64_t)ctx->conv.compress_level;
	}
	return 0;
}

void vfmig_cancel(struct vfmig_ctx *ctx)
{
	ctx->cancel = 1;
}

void vfmig_clear_cancel(struct vfmig_ctx *ctx)
{
	ctx->cancel = 0;
}

bool vfmig_cancelled(const struct vfmig_ctx *ctx)
{
	return ctx->cancel != 0;
}

const char *vfmig_error_message(const struct vfmig_ctx *ctx)
{
	return ctx->err.msg;
}

int vfmig_error_code(const struct vfmig_ctx *ctx)
{
	return ctx->err.code;
}
