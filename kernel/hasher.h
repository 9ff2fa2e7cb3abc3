/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A device's page hasher: the per-page hashes behind the END digest, taken
 * on a kernel worker beside the data path instead of in the thread that
 * moves the bytes, and with chunk_offload the copies of v1 chunks between
 * the data section and device memory, in the same order (see hasher.c).
 */
#ifndef VFMIG_HASHER_H
#define VFMIG_HASHER_H

#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

/*
 * Jobs queued at most.  chunk_offload stages a slot of the data section
 * ahead while user space moves the one before: a slot of the largest
 * section (16 MiB of 64 MiB) in records of VFMIG_PAYLOAD_MAX_PAGES pages
 * queues 256 copies and 256 hashes, and the queue takes two such slots, so
 * staging one of PAGES records never waits for room.  SPARSE records queue
 * a copy per run of sent pages, so a slot of scattered pages may wait part
 * way: a full queue makes the data path wait, nothing is lost.
 */
#define VFMIG_HASHER_JOBS	1024
/* Pages in one span at most, where consecutive records' spans are joined. */
#define VFMIG_HASHER_SPAN_MAX	2048
/* Bytes one clear takes at most, so that the worker yields between them. */
#define VFMIG_HASHER_ZERO_MAX	((u32)VFMIG_HASHER_SPAN_MAX * PAGE_SIZE)

enum vfmig_job_kind {
	VFMIG_JOB_HASH,			/* pages [first, first + n), as they are by then */
	VFMIG_JOB_COPY,			/* n bytes from src to dst */
	VFMIG_JOB_ZERO,			/* n bytes at dst cleared */
};

struct vfmig_hash_job {
	enum vfmig_job_kind kind;
	u32 n;
	bool bytes_only;		/* payload version 2's rule: every page by its bytes */
	u64 first;
	u8 *dst;
	const u8 *src;
};

struct vfmig_hasher {
	struct kthread_worker *worker;	/* made by the first start; NULL: none yet */
	struct kthread_work work;
	spinlock_t lock;		/* head and tail */
	wait_queue_head_t progress;	/* a job is done */
	struct vfmig_hash_job *jobs;	/* VFMIG_HASHER_JOBS, made with the worker */
	/* Queued: [head, tail), counted since the start; jobs[head] may be running. */
	unsigned int head, tail;
	/* Set and cleared by the session's owner, under the device lock. */
	bool on;
	bool slow;			/* each job waits first (the slow_worker fault) */
	u64 queued;			/* spans ever queued (stat_hash_spans) */
	u64 copies;			/* copies ever queued (stat_chunk_copies) */
	__le64 *page_hash;
	const u8 *mem;
	const unsigned long *zero_map;
};

void vfmig_hasher_init(struct vfmig_hasher *h);
void vfmig_hasher_start(struct vfmig_hasher *h, __le64 *page_hash, const u8 *mem,
			const unsigned long *zero_map);
/* vfmig_hasher_queue() and vfmig_hasher_drain() are in payload_fmt.h. */
bool vfmig_hasher_copy(struct vfmig_hasher *h, u8 *dst, const u8 *src, u32 n);
/* vfmig_hasher_zero() is in payload_fmt.h: the resume parser queues it. */
unsigned int vfmig_hasher_mark(struct vfmig_hasher *h);
void vfmig_hasher_wait(struct vfmig_hasher *h, unsigned int mark);
void vfmig_hasher_stop(struct vfmig_hasher *h);
void vfmig_hasher_destroy(struct vfmig_hasher *h);

#endif /* VFMIG_HASHER_H */
