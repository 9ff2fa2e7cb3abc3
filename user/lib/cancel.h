/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The cancel flag of a migration: vfmig_cancel() sets it from any thread
 * or a signal handler, and every thread of the migration (lanes, the
 * loader of a migrate) reads it between steps.  A lock-free atomic int is
 * both async-signal-safe (C11 7.14.1.1) and race-free across threads;
 * a volatile sig_atomic_t is only async-signal-safe (ThreadSanitizer
 * reports its cross-thread use as a data race).
 * Plain reads and assignments of an _Atomic object are atomic.
 */
#ifndef VFMIG_CANCEL_H
#define VFMIG_CANCEL_H

#include <stdatomic.h>
#include <stdbool.h>

typedef atomic_int vfmig_cancel_t;

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "the cancel flag must be lock-free to be set by a signal handler");

/* A NULL flag is never set. */
static inline bool vfmig_cancel_requested(vfmig_cancel_t *cancel)
{
	return cancel && atomic_load_explicit(cancel, memory_order_relaxed);
}

#endif
