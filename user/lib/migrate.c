// SPDX-License-Identifier: GPL-2.0
/*
 * Live migration between two sessions of one process.  The source saves
 * on the calling thread; a second thread loads into the destinations.  The
 * migration counts only when the destinations run: if they fail after the
 * source finished, the source is started again, so exactly one copy of each
 * device runs.
 *
 * Between the two, per lane (VFMIG_OPT_PARALLEL; the loader runs one load
 * worker per lane, lanes.c), either
 * - an in-process channel (channel.h), copying each byte once, in user
 *   space, from the source's mapping (v1) or read() (v2) to the destination
 *   (a pipe would copy it twice, through the kernel); or
 * - when every device on both sides speaks v2 and nothing is compressed, a
 *   socket pair: the data files splice, so the source lends device pages
 *   to the socket and the destination's kernel copies them once into device
 *   memory.  Each lane then costs about one CPU instead of 1.3-1.5, so
 *   lanes scale further (Documentation/engine.md, "Lanes").
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "channel.h"
#include "session.h"

struct loader {
	struct vfmig_session *dst;
	unsigned int lanes;
	struct vfmig_channel *ch[VFMIG_STREAM_MAX_LANES];
	bool sockets;				/* socket pairs instead of channels */
	int sock[VFMIG_STREAM_MAX_LANES][2];	/* [k][0] lane k's source end, [k][1] ours */
	vfmig_cancel_t *cancel;
	int ret;
	struct vfmig_err err;
};

/* Lane nth's endpoint: the source writes lane k into ch[k] or sock[k][0]. */
static int open_lane(void *opaque, unsigned int nth, unsigned int lanes,
		     struct vfmig_endpoint *ep, struct vfmig_err *err)
{
	struct loader *l = opaque;

	if (lanes != l->lanes || nth >= l->lanes)
		return vfmig_err_set(err, -EPROTO, "stream announces %u lanes, the source has %u",
				     lanes, l->lanes);
	if (l->sockets)
		ep->fd = l->sock[nth][1];
	else
		ep->chan = l->ch[nth];
	return 0;
}

/*
 * Closing our ends makes every still-writing source lane fail with EPIPE
 * (a socket shut down for reading also wakes a lane blocked reading it).
 */
static void close_lanes(void *opaque)
{
	struct loader *l = opaque;

	for (unsigned int k = 0; k < l->lanes; k++) {
		if (l->sockets)
			shutdown(l->sock[k][1], SHUT_RD);
		else
			vfmig_channel_close_read(l->ch[k]);
	}
}

static void *load_thread(void *arg)
{
	struct loader *l = arg;
	const struct vfmig_lane_source src = { .open = open_lane, .abort = close_lanes,
					       .opaque = l };

	struct vfmig_endpoint ep0 = { .fd = -1, .chan = l->ch[0] };

	if (l->sockets)
		ep0 = (struct vfmig_endpoint){ .fd = l->sock[0][1] };
	l->ret = vfmig_session_load_lanes(l->dst, &ep0, &src, l->cancel, &l->err);
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

/*
 * Which side's error explains the outcome, and what the source's state is
 * now.  A cancel is a cancel whichever side saw it first (the loader may,
 * and the source then only sees its lane closed).
 */
static int outcome(struct vfmig_session *src, int ret, struct loader *l, struct vfmig_err *err)
{
	bool cancelled = src->ctx->cancel || ret == -ECANCELED || l->ret == -ECANCELED;

	if (!ret && l->ret) {
		/* The source finished but the destination refused: undo the stop. */
		*err = l->err;
		vfmig_session_restore_err(src, err);
		vfmig_session_mark_failed(src, err);
		vfmig_err_prefix(err, "migrate %s at the destination, sources %s: ",
				 cancelled ? "cancelled" : "failed",
				 vfmig_session_after_failure(src));
		return cancelled ? -ECANCELED : l->ret;
	}
	if (ret == -EPIPE && l->ret) {
		/* The destination gave up first and closed its end: its error is the cause. */
		*err = l->err;
		vfmig_err_prefix(err, "migrate %s at the destination, sources %s: ",
				 cancelled ? "cancelled" : "failed",
				 vfmig_session_after_failure(src));
		return cancelled ? -ECANCELED : l->ret;
	}
	if (ret) {
		/* The source's error is the cause; the loader only saw the stream end. */
		vfmig_err_prefix(err, "migrate %s, sources %s: ",
				 cancelled ? "cancelled" : "failed",
				 vfmig_session_after_failure(src));
		return cancelled ? -ECANCELED : ret;
	}
	return 0;
}

/* Socket pairs pay off only where both ends splice: v2 everywhere, uncompressed. */
static bool use_socket_lanes(const struct vfmig_session *src, const struct vfmig_session *dst)
{
	if (src->ctx->conv.compress)
		return false;
	for (unsigned int i = 0; i < src->nr; i++)
		if (src->dev[i]->proto != VFMIG_PROTOCOL_V2 || dst->dev[i]->proto != VFMIG_PROTOCOL_V2)
			return false;
	return true;
}

/*
 * What a lane's socket may hold: a few of the 1 MiB DATA blobs the v2
 * handler splices, so the two ends wake each other every few MiB, not
 * every ~200 KiB (the default send buffer).  The kernel doubles the value
 * asked (bookkeeping), so this asks for half: 4 MiB, as much as TCP's send
 * buffer grows to by default.  Above net.core.wmem_max only with
 * CAP_NET_ADMIN; without it the kernel caps the request and the lane is
 * slower, not wrong.  What the socket holds has left the source but not
 * reached the destination: at ~1 GB/s, ~4 ms the downtime clock does not see.
 */
#define SOCKET_LANE_BUF	(2 << 20)

static int open_socket_lane(int sv[2])
{
	int size = SOCKET_LANE_BUF;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	if (setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)))
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	return 0;
}

/* Channel waits spin while every thread has a CPU of its own: two per lane. */
static bool lanes_may_spin(unsigned int lanes)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	return cpus > 0 && 2 * (long)lanes <= cpus;
}

static int open_lanes(struct loader *l, struct vfmig_endpoint *eps, struct vfmig_err *err)
{
	int ret = 0;

	for (unsigned int k = 0; k < l->lanes && !ret; k++) {
		if (l->sockets) {
			ret = open_socket_lane(l->sock[k]);
			eps[k] = (struct vfmig_endpoint){ .fd = l->sock[k][0] };
		} else {
			ret = vfmig_channel_new(&l->ch[k]);
			if (!ret)
				vfmig_channel_set_spin(l->ch[k], lanes_may_spin(l->lanes));
			eps[k] = (struct vfmig_endpoint){ .fd = -1, .chan = l->ch[k] };
		}
	}
	if (ret)
		vfmig_err_set(err, ret, "migrate: %s: %s", l->sockets ? "socket pair" : "channel",
			      strerror(-ret));
	return ret;
}

/* The sources are done writing: the loader reads to the end of every lane. */
static void end_lanes(struct loader *l)
{
	for (unsigned int k = 0; k < l->lanes; k++) {
		if (!l->sockets)
			vfmig_channel_close_write(l->ch[k]);
		else if (l->sock[k][0] >= 0)
			shutdown(l->sock[k][0], SHUT_WR);
	}
}

static void free_lanes(struct loader *l)
{
	for (unsigned int k = 0; k < l->lanes; k++) {
		if (l->sockets) {
			for (int e = 0; e < 2; e++)
				if (l->sock[k][e] >= 0)
					close(l->sock[k][e]);
		} else {
			vfmig_channel_free(l->ch[k]);
		}
	}
}

int vfmig_migrate(struct vfmig_session *src, struct vfmig_session *dst)
{
	struct vfmig_err *err = vfmig_ctx_begin(src->ctx);
	struct loader l = { .dst = dst, .cancel = &src->ctx->cancel };
	struct vfmig_endpoint eps[VFMIG_STREAM_MAX_LANES];
	pthread_t tid;
	int ret = 0;

	ret = check_pairs(src, dst, err);
	if (ret)
		return ret;
	/*
	 * No buffering between the ends beyond a socket's (a few MiB): the
	 * source's write returns once the destination has (nearly all) its
	 * bytes, so the bandwidth the convergence logic measures is the
	 * destination's, as with QEMU over a socket.
	 */
	l.lanes = vfmig_session_lanes(src);
	l.sockets = use_socket_lanes(src, dst);
	memset(l.sock, -1, sizeof(l.sock));
	vfmig_log(src->ctx, VFMIG_LOG_INFO, "migrate: %u lane%s over %s", l.lanes,
		  l.lanes == 1 ? "" : "s",
		  l.sockets ? "socket pairs (v2 data files spliced)" : "in-process channels");
	ret = open_lanes(&l, eps, err);
	if (!ret) {
		ret = -pthread_create(&tid, NULL, load_thread, &l);
		if (ret)
			vfmig_err_set(err, ret, "migrate: thread: %s", strerror(-ret));
	}
	if (ret) {
		free_lanes(&l);
		return ret;
	}
	ret = vfmig_session_save_lanes(src, eps, l.lanes, err);
	end_lanes(&l);
	pthread_join(tid, NULL);
	free_lanes(&l);
	return outcome(src, ret, &l, err);
}
