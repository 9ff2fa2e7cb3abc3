// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig dirty data generator: while the device is open and RUNNING it keeps
 * changing its own memory at dirty_rate bytes per second, page by page over
 * a working set, with a deterministic pattern.  Pages it changes during a
 * save are marked dirty so pre-copy sends them again.  A page the fill
 * (fill.c) chose to be zero is left zero but still marked, so a zero state
 * stays zero and is resent as such.
 *
 * The worker re-checks the device state under the device lock before every
 * change, so it stops the moment a transition clears RUNNING.
 */
#include <linux/jiffies.h>
#include <linux/math64.h>
#include <linux/mm.h>

#include "vfmig.h"

#define VFMIG_DIRTY_TICK_MS	10
/* Pages changed per hold of the device lock (4 MiB of pages). */
#define VFMIG_DIRTY_BATCH	1024

static bool vfmig_dirty_should_run(struct vfmig_dev *vd)
{
	/* The error state (110b) has no RUNNING bit. */
	return vd->opened && vd->dirty_rate && vd->mem &&
	       (vd->device_state & VFMIG_V1_STATE_RUNNING);
}

static u64 vfmig_mix64(u64 x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* Pages of the working set: the first dirty_working_set bytes, or all. */
static u64 vfmig_dirty_set(struct vfmig_dev *vd)
{
	u64 npages = vd->mem_size >> PAGE_SHIFT;
	u64 set = vd->dirty_working_set ? min(vd->dirty_working_set >> PAGE_SHIFT, npages) :
		  npages;

	return set ? set : 1;
}

/* Pages owed since the last tick, at most one working set. */
static u64 vfmig_dirty_owed(struct vfmig_dev *vd, ktime_t now)
{
	u64 elapsed, bytes, pages, set = vfmig_dirty_set(vd);

	/*
	 * A late tick (a long seed fill, a busy host) owes at most one second:
	 * with dirty_rate <= VFMIG_DIRTY_RATE_MAX the quotient stays far below
	 * 2^64, so the 128-bit division can neither overflow nor trap.
	 */
	elapsed = min_t(u64, ktime_to_ns(ktime_sub(now, vd->dirty_last)), NSEC_PER_SEC);
	bytes = mul_u64_u64_div_u64(vd->dirty_rate, elapsed, NSEC_PER_SEC) + vd->dirty_carry;
	vd->dirty_last = now;
	pages = bytes >> PAGE_SHIFT;
	vd->dirty_carry = bytes & (PAGE_SIZE - 1);
	/* More than a whole working set per tick changes nothing new. */
	if (pages > set) {
		pages = set;
		vd->dirty_carry = 0;
	}
	return pages;
}

/* Change @n pages at the cursor; called with the lock held. */
static void vfmig_dirty_pages(struct vfmig_dev *vd, u64 n)
{
	u64 set = vfmig_dirty_set(vd), i;

	for (i = 0; i < n; i++) {
		u64 page = vd->dirty_cursor % set;
		u64 *word = (u64 *)((u8 *)vd->mem + (page << PAGE_SHIFT)) +
			    (vd->regs.generation % (PAGE_SIZE / sizeof(u64)));

		/* A page the fill chose to be zero stays zero, yet is resent. */
		if (!vfmig_fill_page_zero(&vd->fill, vd->regs.seed, page)) {
			*word = vfmig_mix64(vd->regs.generation ^ (page << 20));
			__clear_bit(page, vd->zero_map);
		}
		vd->regs.generation++;
		vd->dirty_cursor = page + 1;
		vfmig_dirty_mark(vd, page);
	}
	vd->stats.bytes_dirtied += n << PAGE_SHIFT;
}

/*
 * One tick: the pages owed are changed VFMIG_DIRTY_BATCH at a time with the
 * lock dropped in between, so a high rate on a large device never holds the
 * device for long; the state is re-checked before every batch, so the
 * generator stops the moment a transition clears RUNNING.
 */
static void vfmig_dirty_work(struct work_struct *work)
{
	struct vfmig_dev *vd = container_of(to_delayed_work(work), struct vfmig_dev,
					    dirty_work);
	u64 owed, n;

	mutex_lock(&vd->lock);
	if (!vfmig_dirty_should_run(vd))
		goto out;
	if (vd->filling) {
		/* A seed fill owns memory; time spent waiting is not owed. */
		vd->dirty_last = ktime_get();
		goto again;
	}
	owed = vfmig_dirty_owed(vd, ktime_get());
	while (owed) {
		n = min_t(u64, owed, VFMIG_DIRTY_BATCH);
		vfmig_dirty_pages(vd, n);
		vfmig_datafile_wake(vd);	/* a pre-copy poller has data again */
		owed -= n;
		if (!owed)
			break;
		mutex_unlock(&vd->lock);
		cond_resched();
		mutex_lock(&vd->lock);
		if (!vfmig_dirty_should_run(vd))
			goto out;
		if (vd->filling)
			break;
	}
again:
	schedule_delayed_work(&vd->dirty_work, msecs_to_jiffies(VFMIG_DIRTY_TICK_MS));
out:
	mutex_unlock(&vd->lock);
}

void vfmig_dirty_init(struct vfmig_dev *vd)
{
	INIT_DELAYED_WORK(&vd->dirty_work, vfmig_dirty_work);
}

/* Start the worker if the device should be dirtying; it stops by itself. */
void vfmig_dirty_update(struct vfmig_dev *vd)
{
	lockdep_assert_held(&vd->lock);
	if (vfmig_dirty_should_run(vd) && !delayed_work_pending(&vd->dirty_work)) {
		vd->dirty_last = ktime_get();
		schedule_delayed_work(&vd->dirty_work, msecs_to_jiffies(VFMIG_DIRTY_TICK_MS));
	}
}

void vfmig_dirty_stop_sync(struct vfmig_dev *vd)
{
	cancel_delayed_work_sync(&vd->dirty_work);
}
