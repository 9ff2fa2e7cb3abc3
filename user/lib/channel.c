// SPDX-License-Identifier: GPL-2.0
/*
 * In-process byte channel: a rendezvous.  The writer publishes a pointer to
 * its bytes and sleeps until the reader has taken them all; the reader
 * copies under the lock, so the writer's buffer is never read after
 * vfmig_channel_write() returned.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "channel.h"

/* How often a sleeping side looks at its cancel flag. */
#define CHANNEL_POLL_NS		50000000L

struct vfmig_channel {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* any change below; two waiters at most */
	const uint8_t *data;		/* the writer's bytes not taken yet */
	size_t len;
	bool write_closed, read_closed;
};

int vfmig_channel_new(struct vfmig_channel **out)
{
	struct vfmig_channel *ch = calloc(1, sizeof(*ch));
	pthread_condattr_t ca;

	if (!ch)
		return -ENOMEM;
	/* Timed waits on the monotonic clock: a clock step must not stall them. */
	if (pthread_condattr_init(&ca) || pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ||
	    pthread_cond_init(&ch->cond, &ca)) {
		free(ch);
		return -ENOMEM;
	}
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&ch->lock, NULL);
	*out = ch;
	return 0;
}

void vfmig_channel_free(struct vfmig_channel *ch)
{
	if (!ch)
		return;
	pthread_cond_destroy(&ch->cond);
	pthread_mutex_destroy(&ch->lock);
	free(ch);
}

/* Sleep until signalled or the poll interval passed; called with the lock held. */
static void channel_wait(struct vfmig_channel *ch)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += CHANNEL_POLL_NS;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&ch->cond, &ch->lock, &ts);
}

static bool cancelled(volatile sig_atomic_t *cancel)
{
	return cancel && *cancel;
}

int vfmig_channel_write(struct vfmig_channel *ch, const void *p, size_t n,
			volatile sig_atomic_t *cancel)
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
	pthread_cond_broadcast(&ch->cond);
	while (ch->len && !ch->read_closed) {
		if (cancelled(cancel)) {
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

ssize_t vfmig_channel_read(struct vfmig_channel *ch, void *buf, size_t len,
			   volatile sig_atomic_t *cancel)
{
	ssize_t ret;

	if (!len)
		return 0;
	pthread_mutex_lock(&ch->lock);
	while (!ch->len && !ch->write_closed && !ch->read_closed) {
		if (cancelled(cancel)) {
			pthread_mutex_unlock(&ch->lock);
			return -ECANCELED;
		}
		channel_wait(ch);
	}
	if (!ch->len || ch->read_closed) {
		ret = ch->read_closed ? -EBADF : 0;
	} else {
		size_t n = len < ch->len ? len : ch->len;

		/* The one copy: the writer sleeps until its buffer is drained. */
		memcpy(buf, ch->data, n);
		ch->data += n;
		ch->len -= n;
		if (!ch->len)
			pthread_cond_broadcast(&ch->cond);
		ret = (ssize_t)n;
	}
	pthread_mutex_unlock(&ch->lock);
	return ret;
}

void vfmig_channel_close_write(struct vfmig_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->write_closed = true;
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}

void vfmig_channel_close_read(struct vfmig_channel *ch)
{
	pthread_mutex_lock(&ch->lock);
	ch->read_closed = true;
	pthread_cond_broadcast(&ch->cond);
	pthread_mutex_unlock(&ch->lock);
}
