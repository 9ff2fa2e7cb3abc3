/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Condition variables whose timed waits run on CLOCK_MONOTONIC, so a step
 * of the wall clock can neither stall nor hurry them: the in-process
 * channel's waits and the lane coordinator's slices.
 */
#ifndef VFMIG_MONOCOND_H
#define VFMIG_MONOCOND_H

#include <errno.h>
#include <pthread.h>
#include <time.h>

static inline int vfmig_monocond_init(pthread_cond_t *cond)
{
	pthread_condattr_t a;
	int ret;

	ret = pthread_condattr_init(&a);
	if (ret)
		return -ret;
	ret = pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (!ret)
		ret = pthread_cond_init(cond, &a);
	pthread_condattr_destroy(&a);
	return -ret;
}

/* Wait on @cond (with @lock held) for at most @ns nanoseconds (< 1 s). */
static inline void vfmig_monocond_wait_ns(pthread_cond_t *cond, pthread_mutex_t *lock, long ns)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += ns;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(cond, lock, &t);
}

#endif
