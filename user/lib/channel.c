// SPDX-License-Identifier: GPL-2.0
/*
 * In-process byte channel: a rendezvous.  The writer publishes a pointer to
 * its bytes and waits until the reader has taken them all.  A big read is
 * copied by both threads at once: the reader copies the first half and
 * offers the second as a "share" the waiting writer copies (if the writer
 * has not started on it by the time the reader is done with its half, the
 * reader copies it too).  The writer returns only when no copy out of its
 * buffer is in progress, so its buffer is never read after
 * vfmig_channel_write() returned.
 *
 * A waiting reader also posts its own buffer, so a writer whose bytes do
 * not exist yet (a trapped device window, read with pread) can have them
 * written straight into it: vfmig_channel_write_fill().  The reader does not
 * return while a fill into its buffer is in progress.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"
#include "monocond.h"

/* How often a sleeping side looks at its cancel flag. */
#define CHANNEL_POLL_NS		50000000L
/* Reads from this size on are copied by both threads. */
#define CHANNEL_SPLIT_MIN	(256u << 10)
/*
 * How long a side that must wait watches for the other's next step before
 * it sleeps: the two hand over every chunk, and waking a sleeping thread
 * costs an idle CPU's wake-up each time (under TCG, tens of microseconds).
 */
#define CHANNEL_SPIN_NS		50000L

struct vfmig_channel {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* any change below; two waiters at most */
	const uint8_t *data;		/* the writer's bytes not handed out yet */
	size_t len;
	bool copying;			/* the reader is copying out of the writer's buffer */
	/* The part of the reader's current copy offered to the writer. */
	uint8_t *share_dst;
	const uint8_t *share_src;
	size_t share_len;		/* 0: nothing offered */
	bool share_busy;		/* the writer is copying it */
	/* The waiting reader's buffer, for a writer that fills it in place. */
	uint8_t *rbuf;
	size_t rlen;			/* 0: no reader waiting */
	bool rbusy;			/* the writer is filling it */
	size_t rfilled;			/* bytes filled, for the reader to return */
	bool write_closed, read_closed;
	bool spin;			/* watch changes before sleeping */
	atomic_uint changes;		/* bumped with every broadcast, for spinners */
};

int vfmig_channel_new(struct vfmig_channel **out)
{
	struct vfmig_channel *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return -ENOMEM;
	if (vfmig_monocond_init(&ch->cond)) {
		free(ch);
		return -ENOMEM;
	}
	pthread_mutex_init(&ch->lock, NULL);
	ch->spin = true;
	*out = ch;
	return 0;
}

void vfmig_channel_set_spin(struct vfmig_channel *ch, bool on)
{
	pthread_mutex_lock(&ch->lock);
	ch->spin = on;
	pthread_mutex_unlock(&ch->lock);
}

void vfmig_channel_free(struct vfmig_channel *ch)
{
	if (!ch)
		return;
	pthread_cond_destroy(&ch->cond);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

/* Wake the other side: something above changed; called with the lock held. */
static void channel_signal(struct vfmig_channel *ch)
{
	atomic_fetch_add_explicit(&ch->changes, 1, memory_order_release);
	pthread_cond_broadcast(&ch->cond);
}

static long ns_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000000L + (t.tv_nsec - t0->tv_nsec);
}

/*
 * Watch for a change after @seen for up to CHANNEL_SPIN_NS.  The clock is
 * read every 256 looks only: in a guest whose clock source is the HPET,
 * each read is a trapped device access.
 */
static void channel_watch(struct vfmig_channel *ch, unsigned int seen)
{
	struct timespec t0 = { 0, 0 };

	for (unsigned int i = 1;; i++) {
		if (atomic_load_explicit(&ch->changes, memory_order_acquire) != seen)
			return;
		if (i % 256)
			continue;
		if (i == 256)
			clock_gettime(CLOCK_MONOTONIC, &t0);
		else if (ns_since(&t0) >= CHANNEL_SPIN_NS)
			return;
	}
}

/*
 * Wait until the other side changed something, or the poll interval
 * passed; called with the lock held.  A change within CHANNEL_SPIN_NS is
 * seen without sleeping.  Callers look at the state again either way.
 */
static void channel_wait(struct vfmig_channel *ch)
{
	unsigned int seen = atomic_load_explicit(&ch->changes, memory_order_relaxed);

	if (ch->spin) {
		pthread_mutex_unlock(&ch->lock);
		channel_watch(ch, seen);
		pthread_mutex_lock(&ch->lock);
		if (atomic_load_explicit(&ch->changes, memory_order_relaxed) != seen)
			return;
	}
	vfmig_monocond_wait_ns(&ch->cond, &ch->lock, CHANNEL_POLL_NS);
}

/* Copy the offered share, if any and not taken yet; called with the lock held. */
static bool take_share(struct vfmig_channel *ch, bool by_writer)
{
	uint8_t *dst = ch->share_dst;
	const uint8_t *src = ch->share_src;
	size_t len = ch->share_len;

	if (!len || ch->share_busy)
		return false;
	if (by_writer)
		ch->share_busy = true;
	else
		ch->share_len = 0;	/* withdrawn: the writer will not start on it */
	pthread_mutex_unlock(&ch->lock);
	memcpy(dst, src, len);
	pthread_mutex_lock(&ch->lock);
	if (by_writer) {
		ch->share_len = 0;
		ch->share_busy = false;
		channel_signal(ch);
	}
	return true;
}

int vfmig_channel_write(struct vfmig_channel *ch, const void *p, size_t n,
			vfmig_cancel_t *cancel)
{
	int ret = 0;

	if (!n)
		return 0;
	pthread_mutex_lock(&ch->lock);
	if (ch->write_closed) {
		ret = -EBADF;
		goto out;
	}
	ch->data = p;
	ch->len = n;
	channel_signal(ch);
	for (;;) {
		if (take_share(ch, true))
			continue;
		/* A copy out of our buffer in progress must end before we return. */
		if (ch->copying) {
			channel_wait(ch);
			continue;
		}
		if (!ch->len || ch->read_closed)
			break;
		if (vfmig_cancel_requested(cancel)) {
			ret = -ECANCELED;
			break;
		}
		channel_wait(ch);
	}
	if (ch->len && !ret)
		ret = -EPIPE;
	/* Whatever happened, the reader must not see these bytes any more. */
	ch->data = NULL;
	ch->len = 0;
out:
	pthread_mutex_unlock(&ch->lock);
	return ret;
}

int vfmig_channel_write_fill(struct vfmig_channel *ch, size_t n, vfmig_channel_fill_fn fill,
			     void *fill_ctx, vfmig_cancel_t *cancel, struct vfmig_err *err)
{
	size_t done = 0;
	int ret = 0;

	pthread_mutex_lock(&ch->lock);
	while (done < n && !ret) {
		uint8_t *dst;
		size_t m;

		if (ch->write_closed) {
			ret = vfmig_err_set(err, -EBADF, "channel: write after close");
			break;
		}
		if (ch->read_closed) {
			ret = vfmig_err_set(err, -EPIPE, "channel: %s", strerror(EPIPE));
			break;
		}
		/* A reader waiting with its buffer, not yet served. */
		if (!ch->rlen || ch->rfilled) {
			if (vfmig_cancel_requested(cancel)) {
				ret = vfmig_err_set(err, -ECANCELED, "channel: write cancelled");
				break;
			}
			channel_wait(ch);
			continue;
		}
		dst = ch->rbuf;
		m = ch->rlen < n - done ? ch->rlen : n - done;
		ch->rbusy = true;
		pthread_mutex_unlock(&ch->lock);
		ret = fill(fill_ctx, dst, m, err);
		pthread_mutex_lock(&ch->lock);
		ch->rbusy = false;
		/* A failed fill hands nothing over: the reader keeps waiting. */
		if (!ret) {
			ch->rfilled = m;
			ch->rlen = 0;
			done += m;
		}
		channel_signal(ch);
	}
	pthread_mutex_unlock(&ch->lock);
	return ret;
}

ssize_t vfmig_channel_read(struct vfmig_channel *ch, void *buf, size_t len,
			   vfmig_cancel_t *cancel)
{
	const uint8_t *src;
	size_t n, mine;

	if (!len)
		return 0;
	pthread_mutex_lock(&ch->lock);
	ch->rbuf = buf;
	ch->rlen = len;
	channel_signal(ch);
	while ((!ch->len && !ch->rfilled && !ch->write_closed && !ch->read_closed) ||
	       ch->rbusy) {
		if (vfmig_cancel_requested(cancel) && !ch->rbusy) {
			ch->rlen = 0;
			pthread_mutex_unlock(&ch->lock);
			return -ECANCELED;
		}
		channel_wait(ch);
	}
	ch->rlen = 0;		/* no more fills into buf */
	if (ch->rfilled) {
		n = ch->rfilled;
		ch->rfilled = 0;
		pthread_mutex_unlock(&ch->lock);
		return (ssize_t)n;
	}
	if (!ch->len || ch->read_closed) {
		/* Read under the lock: a close from another thread sets it. */
		ssize_t ret = ch->read_closed ? -EBADF : 0;

		pthread_mutex_unlock(&ch->lock);
		return ret;
	}
	n = len < ch->len ? len : ch->len;
	src = ch->data;
	ch->data += n;
	ch->len -= n;
	mine = n;
	if (n >= CHANNEL_SPLIT_MIN) {
		/* The second half, cache-line aligned, to the waiting writer. */
		mine = (n / 2) & ~(size_t)63;
		ch->share_dst = (uint8_t *)buf + mine;
		ch->share_src = src + mine;
		ch->share_len = n - mine;
	}
	ch->copying = true;
	channel_signal(ch);
	pthread_mutex_unlock(&ch->lock);

	memcpy(buf, src, mine);

	pthread_mutex_lock(&ch->lock);
	take_share(ch, false);
	while (ch->share_busy)
		channel_wait(ch);
	ch->copying = false;
	channel_signal(ch);
	pthread_mutex_unlock(&ch->lock);
	return (ssize_t)n;
}

void vfmig_channel_close_write(struct vfmig_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->write_closed = true;
	channel_signal(ch);
	pthread_mutex_unlock(&ch->lock);
}

void vfmig_channel_close_read(struct vfmig_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->read_closed = true;
	channel_signal(ch);
	pthread_mutex_unlock(&ch->lock);
}
