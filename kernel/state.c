// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig device state: a block of device memory plus a few registers.
 *
 * The memory is what migration moves; the checksum lets tests prove that the
 * state a destination resumed equals what the source had when it stopped.
 */
#include <linux/bitmap.h>
#include <linux/kernel.h>
#include <linux/sizes.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <linux/xxhash.h>

#include "vfmig.h"

int vfmig_state_alloc(struct vfmig_dev *vd, u64 size)
{
	unsigned long *zero_map;
	void *mem;

	if (size < VFMIG_STATE_SIZE_MIN || size > VFMIG_STATE_SIZE_MAX ||
	    !PAGE_ALIGNED(size))
		return -EINVAL;

	mem = vfmig_vzalloc(size);
	zero_map = vfmig_bitmap_zalloc(size >> PAGE_SHIFT);
	if (!mem || !zero_map) {
		vfmig_vfree(mem, size);
		vfmig_bitmap_free(zero_map, size >> PAGE_SHIFT);
		return -ENOMEM;
	}
	/* vzalloc'd: every page zero. */
	bitmap_fill(zero_map, size >> PAGE_SHIFT);

	vfmig_state_free(vd);
	vd->mem = mem;
	vd->zero_map = zero_map;
	vd->mem_size = size;
	/* New memory is a new device: no registers from the old one. */
	memset(&vd->regs, 0, sizeof(vd->regs));
	return 0;
}

void vfmig_state_free(struct vfmig_dev *vd)
{
	vfmig_vfree(vd->mem, vd->mem_size);
	vfmig_bitmap_free(vd->zero_map, vd->mem_size >> PAGE_SHIFT);
	vd->mem = NULL;
	vd->zero_map = NULL;
	vd->mem_size = 0;
}

/* The registers after a completed fill. */
void vfmig_state_set_seed(struct vfmig_dev *vd, u64 seed)
{
	vd->regs.seed = seed;
	vd->regs.generation = 0;
	vd->regs.scratch = 0;
	vd->resume_held = false;	/* memory is being replaced */
}

/* Back to a fresh device's state: all memory and registers zero. */
void vfmig_state_clear(struct vfmig_dev *vd)
{
	u64 done;

	for (done = 0; done < vd->mem_size; done += SZ_1M) {
		memset((u8 *)vd->mem + done, 0, min_t(u64, vd->mem_size - done, SZ_1M));
		cond_resched();
	}
	bitmap_fill(vd->zero_map, vd->mem_size >> PAGE_SHIFT);
	memset(&vd->regs, 0, sizeof(vd->regs));
	vd->resume_held = false;
}

/*
 * xxh64 over the memory, then over the registers in a fixed LE layout.
 * Called with the lock held; it drops and retakes it between 1 MiB pieces
 * so that hashing a large state never holds the device for long.  While
 * vd->hashing is non-zero the memory cannot be replaced (state_size answers
 * EBUSY); a device that changes meanwhile (running, resuming) gives a sum
 * of no particular moment, as any read of a moving state would.
 */
u64 vfmig_state_checksum(struct vfmig_dev *vd)
{
	struct xxh64_state st;
	__le64 regs[3];
	u64 done = 0;

	lockdep_assert_held(&vd->lock);
	/* The state as fed so far: a resume's queued chunk copies land first. */
	if (vd->rpipe.on)
		vfmig_hasher_drain(&vd->hasher);
	vd->hashing++;
	xxh64_reset(&st, 0);
	while (done < vd->mem_size) {
		size_t n = min_t(u64, vd->mem_size - done, SZ_1M);

		xxh64_update(&st, (u8 *)vd->mem + done, n);
		done += n;
		mutex_unlock(&vd->lock);
		cond_resched();
		mutex_lock(&vd->lock);
	}
	vd->hashing--;
	regs[0] = cpu_to_le64(vd->regs.generation);
	regs[1] = cpu_to_le64(vd->regs.seed);
	regs[2] = cpu_to_le64(vd->regs.scratch);
	xxh64_update(&st, regs, sizeof(regs));
	return xxh64_digest(&st);
}
