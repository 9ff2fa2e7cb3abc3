// SPDX-License-Identifier: GPL-2.0
/*
 * The page hasher.  A save hashes every page it sends and a resume every
 * page it applies, for the END digest; in the thread that moves the bytes
 * that costs a third as much again as the copy (xxh64 runs at about three
 * times memcpy).  With the hasher on, that thread queues the span a record
 * covered and goes on, and a worker thread of the device's hashes the
 * spans in the order they came, from device memory as it is by then.
 *
 * Why hashing later is still right: a span is queued only once its pages
 * hold what the stream says (a save: under the device lock, as it sends
 * them; a resume: once the record's bytes landed).  If a page changes
 * afterwards (the dirty generator on a running source, a later record on a
 * destination), a later record sends or applies it again and queues it
 * again; spans run in order, so the page's last hash is taken after its
 * last change.  The END record waits for the queue to drain before the
 * digest is taken, and a session's end waits before its page hashes go.
 *
 * It pays only where a CPU is spare: where the client's own threads keep
 * every CPU busy (both ends in one process), the worker takes turns with
 * them and costs more than it saves (benchmark-history.md, session 14).
 * So it is off by default, and libvfmig turns it on where a CPU is free.
 * It runs at normal priority: the data path waits for it, under the device lock, when
 * its queue is full and at the END record, so a worker starved by a low
 * priority would stall the migration with it.
 *
 * With chunk_offload a v1 session also queues the copies of its chunks
 * between the data section and device memory (migration.c), so the thread
 * of the client moves the next chunk while the worker copies this one.
 * They share the one queue with the hashes so that a resume's page is
 * hashed after its copy landed, and with a resume's clears of zero pages,
 * so that a zero page lands after a copy queued earlier onto it without
 * waiting for the queue to drain.  Whoever hands the bytes out or takes the
 * data section back waits for a mark: the jobs queued before it are done.
 *
 * Two rules the ordering rests on.  Once a session's hasher is on, every
 * span of the session goes through the queue (vfmig_hasher_queue() never
 * falls back to hashing in the caller: a span hashed there could be
 * overwritten by an older one the worker is still on).  And there is one
 * producer, the session's owner under the device lock, so the room checked
 * before the insert is still there at the insert.
 *
 * The worker never takes the device lock, so the owner may wait for it
 * while holding that lock.  It reads device memory and the zero map while
 * the data path may change them, on purpose: a page changed under it is
 * queued again (above).
 */
#include <linux/delay.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "hasher.h"
#include "payload_fmt.h"
#include "vfmig.h"

/* How long each job waits under the slow_worker fault. */
#define VFMIG_HASHER_SLOW_US	1000

/* The next job without taking it off the queue; false when there is none. */
static bool vfmig_hasher_peek(struct vfmig_hasher *h, struct vfmig_hash_job *j)
{
	bool any;

	spin_lock(&h->lock);
	any = h->head != h->tail;
	if (any)
		*j = h->jobs[h->head % VFMIG_HASHER_JOBS];
	spin_unlock(&h->lock);
	return any;
}

static void vfmig_hasher_work(struct kthread_work *work)
{
	struct vfmig_hasher *h = container_of(work, struct vfmig_hasher, work);
	struct vfmig_hash_job j;

	while (vfmig_hasher_peek(h, &j)) {
		if (h->slow)
			usleep_range(VFMIG_HASHER_SLOW_US, 2 * VFMIG_HASHER_SLOW_US);
		if (j.kind == VFMIG_JOB_COPY)
			memcpy(j.dst, j.src, j.n);
		else if (j.kind == VFMIG_JOB_ZERO)
			memset(j.dst, 0, j.n);
		else
			vfmig_payload_hash_span(h->page_hash, h->mem, h->zero_map, j.first, j.n,
						j.bytes_only);
		spin_lock(&h->lock);
		h->head++;
		spin_unlock(&h->lock);
		wake_up(&h->progress);
		cond_resched();
	}
}

static bool vfmig_hasher_has_room(struct vfmig_hasher *h)
{
	bool room;

	spin_lock(&h->lock);
	room = h->tail - h->head < VFMIG_HASHER_JOBS;
	spin_unlock(&h->lock);
	return room;
}

static bool vfmig_hasher_idle(struct vfmig_hasher *h)
{
	bool idle;

	spin_lock(&h->lock);
	idle = h->head == h->tail;
	spin_unlock(&h->lock);
	return idle;
}

void vfmig_hasher_init(struct vfmig_hasher *h)
{
	kthread_init_work(&h->work, vfmig_hasher_work);
	spin_lock_init(&h->lock);
	init_waitqueue_head(&h->progress);
}

/*
 * From now on spans go to the worker, into @page_hash.  Without a worker
 * (it or its queue could not be made) the hashes stay with the caller.
 */
void vfmig_hasher_start(struct vfmig_hasher *h, __le64 *page_hash, const u8 *mem,
			const unsigned long *zero_map)
{
	struct kthread_worker *w;
	struct vfmig_hash_job *jobs;

	if (!h->worker) {
		jobs = vfmig_vzalloc(VFMIG_HASHER_JOBS * sizeof(*jobs));
		if (!jobs)
			return;
		w = kthread_create_worker(0, "vfmig-hash");
		if (IS_ERR(w)) {
			vfmig_vfree(jobs, VFMIG_HASHER_JOBS * sizeof(*jobs));
			return;
		}
		h->jobs = jobs;
		h->worker = w;
	}
	h->page_hash = page_hash;
	h->mem = mem;
	h->zero_map = zero_map;
	h->on = true;
}

/*
 * h->lock held, room checked: where one more job goes, for the caller to
 * fill; NULL when @join extended the last queued job (not started yet)
 * to take it instead.
 */
static struct vfmig_hash_job *vfmig_hasher_slot(struct vfmig_hasher *h,
						bool (*join)(struct vfmig_hash_job *, void *),
						void *arg)
{
	struct vfmig_hash_job *j = &h->jobs[(h->tail - 1) % VFMIG_HASHER_JOBS];

	if (h->tail - h->head >= 2 && join(j, arg))
		return NULL;
	return &h->jobs[h->tail % VFMIG_HASHER_JOBS];
}

/* Wait for room, queue what @fill makes of a slot, wake the worker. */
static void vfmig_hasher_add(struct vfmig_hasher *h, bool (*join)(struct vfmig_hash_job *, void *),
			     void (*fill)(struct vfmig_hash_job *, void *), void *arg)
{
	struct vfmig_hash_job *j;

	wait_event(h->progress, vfmig_hasher_has_room(h));
	spin_lock(&h->lock);
	j = vfmig_hasher_slot(h, join, arg);
	if (j) {
		fill(j, arg);
		h->tail++;
	}
	spin_unlock(&h->lock);
	kthread_queue_work(h->worker, &h->work);
}

struct vfmig_hash_arg {
	u64 first, n;
	bool bytes_only;
};

/* Right after a span not started yet: one longer job, not two. */
static bool vfmig_hash_join(struct vfmig_hash_job *j, void *arg)
{
	struct vfmig_hash_arg *a = arg;

	if (j->kind != VFMIG_JOB_HASH || j->first + j->n != a->first ||
	    j->bytes_only != a->bytes_only || j->n + a->n > VFMIG_HASHER_SPAN_MAX)
		return false;
	j->n += a->n;
	return true;
}

static void vfmig_hash_fill(struct vfmig_hash_job *j, void *arg)
{
	struct vfmig_hash_arg *a = arg;

	*j = (struct vfmig_hash_job){ .kind = VFMIG_JOB_HASH, .first = a->first, .n = a->n,
				      .bytes_only = a->bytes_only };
}

bool vfmig_hasher_queue(struct vfmig_hasher *h, u64 first, u64 n, bool bytes_only)
{
	struct vfmig_hash_arg a = { first, n, bytes_only };

	if (!h->on)
		return false;
	vfmig_hasher_add(h, vfmig_hash_join, vfmig_hash_fill, &a);
	h->queued++;
	return true;
}

struct vfmig_copy_arg {
	u8 *dst;
	const u8 *src;
	u32 n;
};

/* Right after a copy not started yet whose ends meet: one longer copy. */
static bool vfmig_copy_join(struct vfmig_hash_job *j, void *arg)
{
	struct vfmig_copy_arg *a = arg;

	if (j->kind != VFMIG_JOB_COPY || j->dst + j->n != a->dst || j->src + j->n != a->src ||
	    j->n > U32_MAX - a->n)
		return false;
	j->n += a->n;
	return true;
}

static void vfmig_copy_fill(struct vfmig_hash_job *j, void *arg)
{
	struct vfmig_copy_arg *a = arg;

	*j = (struct vfmig_hash_job){ .kind = VFMIG_JOB_COPY, .dst = a->dst, .src = a->src,
				      .n = a->n };
}

/*
 * Queue a copy of @n bytes from @src to @dst, after every job queued
 * before it; false when the worker is off (the caller copies).
 */
bool vfmig_hasher_copy(struct vfmig_hasher *h, u8 *dst, const u8 *src, u32 n)
{
	struct vfmig_copy_arg a = { dst, src, n };

	if (!h->on)
		return false;
	if (n) {
		vfmig_hasher_add(h, vfmig_copy_join, vfmig_copy_fill, &a);
		h->copies++;
	}
	return true;
}

/* Right after a clear not started yet whose end is @arg's start: one longer clear. */
static bool vfmig_zero_join(struct vfmig_hash_job *j, void *arg)
{
	struct vfmig_copy_arg *a = arg;

	if (j->kind != VFMIG_JOB_ZERO || j->dst + j->n != a->dst ||
	    j->n + a->n > VFMIG_HASHER_ZERO_MAX)
		return false;
	j->n += a->n;
	return true;
}

static void vfmig_zero_fill(struct vfmig_hash_job *j, void *arg)
{
	struct vfmig_copy_arg *a = arg;

	*j = (struct vfmig_hash_job){ .kind = VFMIG_JOB_ZERO, .dst = a->dst, .n = a->n };
}

/*
 * Queue a clear of @n bytes at @dst, after every job queued before it (a
 * resume's zero pages, behind the copies that may still land on them);
 * false when the worker is off (the caller clears).
 */
bool vfmig_hasher_zero(struct vfmig_hasher *h, u8 *dst, u64 n)
{
	struct vfmig_copy_arg a = { .dst = dst };

	if (!h->on)
		return false;
	while (n) {
		a.n = min_t(u64, n, VFMIG_HASHER_ZERO_MAX);
		vfmig_hasher_add(h, vfmig_zero_join, vfmig_zero_fill, &a);
		a.dst += a.n;
		n -= a.n;
	}
	return true;
}

/* The jobs queued so far, for vfmig_hasher_wait(). */
unsigned int vfmig_hasher_mark(struct vfmig_hasher *h)
{
	unsigned int tail;

	spin_lock(&h->lock);
	tail = h->tail;
	spin_unlock(&h->lock);
	return tail;
}

static bool vfmig_hasher_reached(struct vfmig_hasher *h, unsigned int mark)
{
	bool done;

	spin_lock(&h->lock);
	/* Counts wrap: a mark is reached once head is not behind it. */
	done = (int)(h->head - mark) >= 0;
	spin_unlock(&h->lock);
	return done;
}

/*
 * Every job queued before @mark is done, its stores seen by the caller.
 * A job a later one joined counts as queued after @mark: the wait is
 * never short.
 */
void vfmig_hasher_wait(struct vfmig_hasher *h, unsigned int mark)
{
	if (h->on)
		wait_event(h->progress, vfmig_hasher_reached(h, mark));
}

/* Every span queued so far is hashed (its stores seen by the caller). */
void vfmig_hasher_drain(struct vfmig_hasher *h)
{
	if (h->on)
		wait_event(h->progress, vfmig_hasher_idle(h));
}

/* Drained, and the worker is done with @h: its page hashes may go. */
void vfmig_hasher_stop(struct vfmig_hasher *h)
{
	vfmig_hasher_drain(h);
	if (h->worker)
		kthread_flush_work(&h->work);
	h->on = false;
	h->slow = false;
	h->page_hash = NULL;
	h->mem = NULL;
	h->zero_map = NULL;
}

/* The device goes: stopped, and its worker thread with it. */
void vfmig_hasher_destroy(struct vfmig_hasher *h)
{
	vfmig_hasher_stop(h);
	if (h->worker) {
		kthread_destroy_worker(h->worker);
		vfmig_vfree(h->jobs, VFMIG_HASHER_JOBS * sizeof(*h->jobs));
	}
	h->worker = NULL;
	h->jobs = NULL;
}
