// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig allocation accounting: every allocation the driver makes and keeps
 * beyond one call (device memory, data section, dirty bitmap, record
 * buffers, the device object itself) goes through these helpers, which keep
 * a module-wide count of live objects and bytes.  Both are read-only module
 * parameters, /sys/module/vfmig/parameters/live_{objects,bytes}, so a test
 * can check that create/open/migrate/remove cycles return to where they
 * started.
 */
#include <linux/atomic.h>
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "vfmig.h"

static atomic_long_t vfmig_live_objects = ATOMIC_LONG_INIT(0);
static atomic_long_t vfmig_live_bytes = ATOMIC_LONG_INIT(0);

static int vfmig_live_get(char *buffer, const struct kernel_param *kp)
{
	return scnprintf(buffer, PAGE_SIZE, "%ld\n",
			 atomic_long_read((atomic_long_t *)kp->arg));
}

/* Also reached by "modprobe vfmig live_objects=N": refuse it. */
static int vfmig_live_set(const char *val, const struct kernel_param *kp)
{
	return -EPERM;
}

static const struct kernel_param_ops vfmig_live_ops = {
	.get = vfmig_live_get,
	.set = vfmig_live_set,
};

module_param_cb(live_objects, &vfmig_live_ops, &vfmig_live_objects, 0444);
MODULE_PARM_DESC(live_objects, "Driver allocations currently live (read-only)");
module_param_cb(live_bytes, &vfmig_live_ops, &vfmig_live_bytes, 0444);
MODULE_PARM_DESC(live_bytes, "Bytes in driver allocations currently live (read-only)");

void vfmig_live_add(size_t size)
{
	atomic_long_inc(&vfmig_live_objects);
	atomic_long_add(size, &vfmig_live_bytes);
}

void vfmig_live_sub(size_t size)
{
	atomic_long_dec(&vfmig_live_objects);
	atomic_long_sub(size, &vfmig_live_bytes);
}

static void *vfmig_counted(void *p, size_t size)
{
	if (p)
		vfmig_live_add(size);
	return p;
}

void *vfmig_vzalloc(size_t size)
{
	return vfmig_counted(vzalloc(size), size);
}

void *vfmig_vmalloc_user(size_t size)
{
	return vfmig_counted(vmalloc_user(size), size);
}

void vfmig_vfree(void *p, size_t size)
{
	if (!p)
		return;
	vfmig_live_sub(size);
	vfree(p);
}

void *vfmig_kvmalloc(size_t size)
{
	return vfmig_counted(kvmalloc(size, GFP_KERNEL), size);
}

void vfmig_kvfree(void *p, size_t size)
{
	if (!p)
		return;
	vfmig_live_sub(size);
	kvfree(p);
}

void *vfmig_kzalloc(size_t size)
{
	return vfmig_counted(kzalloc(size, GFP_KERNEL), size);
}

void vfmig_kfree(void *p, size_t size)
{
	if (!p)
		return;
	vfmig_live_sub(size);
	kfree(p);
}

unsigned long *vfmig_bitmap_zalloc(unsigned int nbits)
{
	return vfmig_counted(bitmap_zalloc(nbits, GFP_KERNEL), BITS_TO_LONGS(nbits) *
			     sizeof(unsigned long));
}

void vfmig_bitmap_free(unsigned long *map, unsigned int nbits)
{
	if (!map)
		return;
	vfmig_live_sub(BITS_TO_LONGS(nbits) * sizeof(unsigned long));
	bitmap_free(map);
}
