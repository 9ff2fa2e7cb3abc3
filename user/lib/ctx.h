/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The library context behind the public API (include/vfmig/libvfmig.h):
 * callbacks, options, the cancel flag and the error of the last call.
 * Public functions start with vfmig_ctx_begin(), which clears the error and
 * hands the lower layers the context's struct vfmig_err to fill.
 */
#ifndef VFMIG_CTX_H
#define VFMIG_CTX_H

#include <signal.h>

#include "cancel.h"
#include "convergence.h"
#include "errbuf.h"
#include "vfmig/libvfmig.h"

struct vfmig_ctx {
	struct vfmig_err err;
	vfmig_log_fn log_fn;
	void *log_opaque;
	enum vfmig_log_level log_max;
	vfmig_progress_fn progress_fn;
	void *progress_opaque;
	struct vfmig_conv_opts conv;
	bool no_mmap;
	bool recover_held;	/* VFMIG_OPT_RECOVER_HELD */
	enum vfmig_protocol protocol;
	unsigned int parallel;		/* VFMIG_OPT_PARALLEL; 1 by default, 0 = online CPUs */
	int listen_fd;			/* vfmig_accept's, for a receive's further lanes */
	vfmig_cancel_t cancel;
};

/* Clear the last error; the returned buffer is where this call's error goes. */
struct vfmig_err *vfmig_ctx_begin(struct vfmig_ctx *ctx);
/* Send a message to the log callback if one is set for this level. */
void vfmig_log(const struct vfmig_ctx *ctx, enum vfmig_log_level level, const char *fmt, ...)
	VFMIG_PRINTF(3, 4);

#endif /* VFMIG_CTX_H */
