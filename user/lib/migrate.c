// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration between two sessions of one process.  The source saves
 * into an in-process channel on the calling thread; a second thread loads
 * from it into the destinations, copying each byte once (a pipe would copy
 * it twice, through the kernel).  The migration counts only when the
 * destinations run: if they fail after the source finished, the source is
 * started again, so exactly one copy of each device runs.
 *
 * With several lanes (VFMIG_OPT_PARALLEL) each lane has its own channel and
 * the loader thread runs one load worker per lane (lanes.c).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "channel.h"
#include "session.h"

struct loader {
	struct vfmig_session *dst;
	unsigned int lanes;
	struct vfmig_channel *ch[VFMIG_STREAM_MAX_LANES];
	volatile sig_atomic_t *cancel;
	int ret;
	struct vfmig_err err;
};

/* Lane nth's channel: the source writes lane k into ch[k]. */
static int open_lane(void *opaque, unsigned int nth, unsigned int lanes,
		     struct vfmig_endpoint *ep, struct vfmig_err *err)
{
	struct loader *l = opaque;

	if (lanes != l->lanes || nth >= l->lanes)
		return vfmig_err_set(err, -EPROTO, "stream announces %u lanes, the source has %u",
				     lanes, l->lanes);
	ep->chan = l->ch[nth];
	return 0;
}

/* Closing our ends makes every still-writing source lane fail with EPIPE. */
static void close_lanes(void *opaque)
{
	struct loader *l = opaque;

	for (unsigned int k = 0; k < l->lanes; k++)
		vfmig_channel_close_read(l->ch[k]);
}

static void *load_thread(void *arg)
{
	struct loader *l = arg;
	const struct vfmig_lane_source src = { .open = open_lane, .abort = close_lanes,
					       .opaque = l };

	l->ret = vfmig_session_load_lanes(l->dst, &(struct vfmig_endpoint){ .chan = l->ch[0] },
					  &src, l->cancel, &l->err);
	close_lanes(l);
	return NULL;
}

static int check_pairs(struct vfmig_session *src, struct vfmig_session *dst,
		       struct vfmig_err *err)
{
	if (src->nr != dst->nr)
		return vfmig_err_set(err, -EINVAL, "migrate: %u source devices but %u destinations",
				     src->nr, dst->nr);
	for (unsigned int i = 0; i < src->nr; i++)
		for (unsigned int j = 0; j < dst->nr; j++)
			if (!strcmp(src->dev[i]->vfio.uuid, dst->dev[j]->vfio.uuid))
				return vfmig_err_set(err, -EINVAL,
						     "migrate: device %s cannot be its own destination",
						     src->dev[i]->vfio.uuid);
	return 0;
}

/* Which side's error explains the outcome, and what the source's state is now. */
static int outcome(struct vfmig_session *src, int ret, struct loader *l, struct vfmig_err *err)
{
	if (!ret && l->ret) {
		/* The source finished but the destination refused: undo the stop. */
		*err = l->err;
		vfmig_session_restart_err(src, err);
		vfmig_session_mark_failed(src, err);
		vfmig_err_prefix(err, "migrate failed at the destination, sources running again: ");
		return l->ret;
	}
	if (ret == -EPIPE && l->ret) {
		/* The destination gave up first and closed its end: its error is the cause. */
		*err = l->err;
		vfmig_err_prefix(err, "migrate failed at the destination, sources running again: ");
		return l->ret;
	}
	if (ret) {
		/* The source's error is the cause; the loader only saw the stream end. */
		bool cancelled = ret == -ECANCELED || src->ctx->cancel;

		vfmig_err_prefix(err, "migrate %s, sources running again: ",
				 cancelled ? "cancelled" : "failed");
		return cancelled ? -ECANCELED : ret;
	}
	return 0;
}

int vfmig_migrate(struct vfmig_session *src, struct vfmig_session *dst)
{
	struct vfmig_err *err = vfmig_ctx_begin(src->ctx);
	struct loader l = { .dst = dst, .cancel = &src->ctx->cancel };
	struct vfmig_endpoint eps[VFMIG_STREAM_MAX_LANES];
	unsigned int k;
	pthread_t tid;
	int ret = 0;

	ret = check_pairs(src, dst, err);
	if (ret)
		return ret;
	/*
	 * No buffering between the ends: the source's write returns once the
	 * destination has its bytes, so the bandwidth the convergence logic
	 * measures is the destination's, as with QEMU over a socket.
	 */
	l.lanes = vfmig_session_lanes(src);
	for (k = 0; k < l.lanes && !ret; k++) {
		ret = vfmig_channel_new(&l.ch[k]);
		eps[k] = (struct vfmig_endpoint){ .fd = -1, .chan = l.ch[k] };
	}
	if (!ret) {
		ret = -pthread_create(&tid, NULL, load_thread, &l);
		if (ret)
			vfmig_err_set(err, ret, "migrate: thread: %s", strerror(-ret));
	} else {
		vfmig_err_set(err, ret, "migrate: channel: %s", strerror(-ret));
	}
	if (ret) {
		for (k = 0; k < l.lanes; k++)
			vfmig_channel_free(l.ch[k]);
		return ret;
	}
	ret = vfmig_session_save_lanes(src, eps, l.lanes, err);
	for (k = 0; k < l.lanes; k++)
		vfmig_channel_close_write(l.ch[k]);
	pthread_join(tid, NULL);
	for (k = 0; k < l.lanes; k++)
		vfmig_channel_free(l.ch[k]);
	return outcome(src, ret, &l, err);
}
