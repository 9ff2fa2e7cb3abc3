/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's page hasher: the per-page hashes behind the END digest, taken
 * on a kernel worker beside the data path instead of in the thread that
 * moves the bytes (see hasher.c).
 */
#ifndef VFMIG_HASHER_H
#define VFMIG_HASHER_H

#include <linux/kthread.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

/*
 * Spans queued at most (each up to VFMIG_HASHER_SPAN_MAX pages, so up to
 * 128 MiB behind); a full queue makes the data path wait for room.
 */
#define VFMIG_HASHER_JOBS	16
/* Pages in one span at most, where consecutive records' spans are joined. */
#define VFMIG_HASHER_SPAN_MAX	2048

/* Pages [first, first + n) to hash as they are when the worker gets there. */
struct vfmig_hash_job {
	u64 first;
	u32 n;
	bool bytes_only;		/* payload version 2's rule: every page by its bytes */
};

struct vfmig_hasher {
	struct kthread_worker *worker;	/* made by the first start; NULL: none yet */
	struct kthread_work work;
	spinlock_t lock;		/* head and tail */
	wait_queue_head_t progress;	/* a job is done */
	struct vfmig_hash_job jobs[VFMIG_HASHER_JOBS];
	unsigned int head, tail;	/* queued: [head, tail); jobs[head] may be running */
	/* Set and cleared by the session's owner, under the device lock. */
	bool on;
	u64 queued;			/* spans ever queued (stat_hash_spans) */
	__le64 *page_hash;
	const u8 *mem;
	const unsigned long *zero_map;
};

void vfmig_hasher_init(struct vfmig_hasher *h);
void vfmig_hasher_start(struct vfmig_hasher *h, __le64 *page_hash, const u8 *mem,
			const unsigned long *zero_map);
void vfmig_hasher_stop(struct vfmig_hasher *h);
void vfmig_hasher_destroy(struct vfmig_hasher *h);

#endif /* VFMIG_HASHER_H */
