// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig migration region layout: the data section buffer, its sparse-mmap
 * areas, the windows data_offset points at, GET_REGION_INFO and mmap.
 *
 * The data section is one vmalloc_user() buffer that lives as long as the
 * configuration does; configuration only changes while the device is closed,
 * and a live mapping holds the device file and so keeps the device open
 * (even after user space closed its fd): a mapping never outlives the pages
 * behind it, and a data_size or state_size write meets no mapping.
 */
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "vfmig.h"

/* Pages a fault maps at once: the faulting one and those after it. */
#define VFMIG_FAULT_AROUND	16

static const char *const layout_names[] = {
	[VFMIG_LAYOUT_NONE] = "none",
	[VFMIG_LAYOUT_WHOLE] = "whole",
	[VFMIG_LAYOUT_SPARSE] = "sparse",
};

static const char *const policy_names[] = {
	[VFMIG_POLICY_FIXED] = "fixed",
	[VFMIG_POLICY_ROTATE] = "rotate",
	[VFMIG_POLICY_GAP] = "gap",
	[VFMIG_POLICY_STRADDLE] = "straddle",
};

const char *vfmig_layout_name(enum vfmig_layout l)
{
	return layout_names[l];
}

const char *vfmig_policy_name(enum vfmig_policy p)
{
	return policy_names[p];
}

/* "none", "whole" or "sparse:N" (2 <= N <= VFMIG_MAX_AREAS). */
int vfmig_layout_parse(const char *buf, enum vfmig_layout *l, unsigned int *n)
{
	unsigned int areas;

	if (sysfs_streq(buf, "none")) {
		*l = VFMIG_LAYOUT_NONE;
		*n = 0;
	} else if (sysfs_streq(buf, "whole")) {
		*l = VFMIG_LAYOUT_WHOLE;
		*n = 1;
	} else if (!strncmp(buf, "sparse:", 7) && !kstrtouint(buf + 7, 10, &areas) &&
		   areas >= 2 && areas <= VFMIG_MAX_AREAS) {
		*l = VFMIG_LAYOUT_SPARSE;
		*n = areas;
	} else {
		return -EINVAL;
	}
	return 0;
}

int vfmig_policy_parse(const char *buf, enum vfmig_policy *p)
{
	int i = sysfs_match_string(policy_names, buf);

	if (i < 0)
		return -EINVAL;
	*p = i;
	return 0;
}

/*
 * A direct window is the data section's last VFMIG_WINDOW_MAX bytes (all
 * of it if smaller), so that a chunk there ends where the region
 * ends.  With mmap areas it is an area of its own, with other vm_ops
 * (window.c): the areas before it are cut short where it begins.  The
 * data_offset windows stay as the policy put them; unbound, the window's
 * pages are staging memory like the rest.
 */
static int vfmig_layout_window(struct vfmig_geometry *g, const struct vfmig_config *cfg)
{
	u64 end = VFMIG_DATA_START + cfg->data_size, size;
	unsigned int i, n = 0;

	g->run = (struct vfmig_span){ 0, 0 };
	if (cfg->window != VFMIG_WINDOW_DIRECT)
		return 0;
	size = min_t(u64, cfg->data_size, VFMIG_WINDOW_MAX);
	g->run = (struct vfmig_span){ end - size, size };
	if (!g->nr_areas)
		return 0;	/* all trapped: the window too */
	for (i = 0; i < g->nr_areas; i++) {
		struct vfmig_span a = g->areas[i];

		if (a.offset >= g->run.offset)
			continue;
		a.size = min(a.size, g->run.offset - a.offset);
		g->areas[n++] = a;
	}
	if (n == VFMIG_MAX_AREAS)
		return -EINVAL;		/* sparse:VFMIG_MAX_AREAS leaves it no slot */
	g->areas[n++] = g->run;
	g->nr_areas = n;
	return 0;
}

/*
 * Areas: sparse:N cuts the data section into 2N-1 equal page-aligned slots
 * and maps the even ones, so every area has a trapped gap after it but the
 * last.  Windows (where data_offset points) follow the policy.
 */
static int vfmig_layout_compute(struct vfmig_geometry *g, const struct vfmig_config *cfg)
{
	u64 pages = cfg->data_size >> PAGE_SHIFT;
	u64 start = VFMIG_DATA_START, slot;
	unsigned int i;

	g->nr_areas = 0;
	switch (cfg->layout) {
	case VFMIG_LAYOUT_NONE:
		break;
	case VFMIG_LAYOUT_WHOLE:
		g->areas[0] = (struct vfmig_span){ start, cfg->data_size };
		g->nr_areas = 1;
		break;
	case VFMIG_LAYOUT_SPARSE:
		if (pages < 2 * cfg->nr_areas - 1)
			return -EINVAL;
		slot = (pages / (2 * cfg->nr_areas - 1)) << PAGE_SHIFT;
		for (i = 0; i < cfg->nr_areas; i++)
			g->areas[i] = (struct vfmig_span){ start + 2 * i * slot, slot };
		g->nr_areas = cfg->nr_areas;
		break;
	}

	g->nr_windows = 0;
	switch (cfg->policy) {
	case VFMIG_POLICY_FIXED:
		g->windows[g->nr_windows++] = (struct vfmig_span){ start, cfg->data_size };
		break;
	case VFMIG_POLICY_ROTATE:
		for (i = 0; i < g->nr_areas; i++)
			g->windows[g->nr_windows++] = g->areas[i];
		if (!g->nr_windows)	/* nothing mapped: rotate over quarters */
			for (i = 0; i < 4 && pages >= 4; i++)
				g->windows[g->nr_windows++] = (struct vfmig_span){
					start + i * (pages / 4) * PAGE_SIZE,
					(pages / 4) * PAGE_SIZE };
		break;
	case VFMIG_POLICY_GAP:
		if (cfg->layout == VFMIG_LAYOUT_WHOLE)
			return -EINVAL;		/* no trapped part to point at */
		for (i = 0; i + 1 < g->nr_areas; i++) {
			u64 gap = g->areas[i].offset + g->areas[i].size;

			g->windows[g->nr_windows++] = (struct vfmig_span){
				gap, g->areas[i + 1].offset - gap };
		}
		break;
	case VFMIG_POLICY_STRADDLE:
		if (cfg->layout != VFMIG_LAYOUT_SPARSE)
			return -EINVAL;		/* needs an area followed by a gap */
		for (i = 0; i + 1 < g->nr_areas; i++) {
			u64 half = round_down(g->areas[i].size / 2, 8);

			g->windows[g->nr_windows++] = (struct vfmig_span){
				g->areas[i].offset + half, g->areas[i].size };
		}
		break;
	}
	if (!g->nr_windows)	/* e.g. "gap" with layout none: the whole section */
		g->windows[g->nr_windows++] = (struct vfmig_span){ start, cfg->data_size };
	return vfmig_layout_window(g, cfg);
}

/*
 * Where chunk_offload stages chunks (migration.c): the data_offset windows,
 * or a single window cut into up to VFMIG_SLOTS_PER_WINDOW equal slots, so
 * that one chunk can be staged while user space moves another.  Windows
 * never overlap, and neither do slots.  Fewer than two slots: none to
 * alternate between, and chunk_offload stays off.
 */
#define VFMIG_SLOTS_PER_WINDOW	4

unsigned int vfmig_layout_slots(const struct vfmig_geometry *g)
{
	if (g->nr_windows > 1)
		return g->nr_windows;
	return min_t(u64, VFMIG_SLOTS_PER_WINDOW, g->windows[0].size >> PAGE_SHIFT);
}

/*
 * Slot *@i, and *@i moves on to the next, the first again after the last.
 * The index stays below the slot count: a free-running one would wrap at
 * 2^32 onto the slot just handed out wherever the count does not divide
 * 2^32 (3, 5, 15 slots), and a chunk staged ahead would overwrite it.
 */
struct vfmig_span vfmig_layout_next_slot(const struct vfmig_geometry *g, unsigned int *i)
{
	unsigned int n = vfmig_layout_slots(g), k = *i % n;
	u64 size;

	*i = (k + 1) % n;
	if (g->nr_windows > 1)
		return g->windows[k];
	size = (g->windows[0].size >> PAGE_SHIFT) / n << PAGE_SHIFT;
	return (struct vfmig_span){ g->windows[0].offset + k * size, size };
}

/* Window *@i, and *@i moves on to the next, as for slots. */
struct vfmig_span vfmig_layout_next_window(const struct vfmig_geometry *g, unsigned int *i)
{
	unsigned int k = *i % g->nr_windows;

	*i = (k + 1) % g->nr_windows;
	return g->windows[k];
}

int vfmig_layout_apply(struct vfmig_dev *vd, const struct vfmig_config *cfg)
{
	struct vfmig_geometry geo;
	u8 *data;
	int ret;

	if (cfg->data_size < VFMIG_DATA_SIZE_MIN || cfg->data_size > VFMIG_DATA_SIZE_MAX ||
	    !PAGE_ALIGNED(cfg->data_size))
		return -EINVAL;
	/* Compute into a scratch copy so a refused config changes nothing. */
	ret = vfmig_layout_compute(&geo, cfg);
	if (ret)
		return ret;

	if (!vd->data || cfg->data_size != vd->cfg.data_size) {
		data = vfmig_vmalloc_user(cfg->data_size);
		if (!data)
			return -ENOMEM;
		vfmig_vfree(vd->data, vd->cfg.data_size);
		vd->data = data;
	}
	vd->cfg = *cfg;
	vd->geo = geo;
	vd->region_size = VFMIG_DATA_START + cfg->data_size;
	return 0;
}

void vfmig_layout_free(struct vfmig_dev *vd)
{
	vfmig_vfree(vd->data, vd->cfg.data_size);
	vd->data = NULL;
}

/* GET_REGION_INFO for the migration region: CAP_TYPE, plus CAP_SPARSE_MMAP. */
long vfmig_layout_region_info(struct vfmig_dev *vd, struct vfio_region_info *info,
			      void __user *uarg)
{
	unsigned long minsz = offsetofend(struct vfio_region_info, offset);
	struct vfio_region_info_cap_type cap_type = {
		.header.id = VFIO_REGION_INFO_CAP_TYPE,
		.header.version = 1,
		.type = VFMIG_REGION_TYPE_MIGRATION,
		.subtype = VFMIG_REGION_SUBTYPE_MIGRATION,
	};
	struct vfio_region_info_cap_sparse_mmap *sparse = NULL;
	struct vfio_info_cap caps = { .buf = NULL, .size = 0 };
	size_t sz;
	unsigned int i;
	int ret;

	info->offset = VFMIG_REGION_OFFSET(info->index);
	info->size = vd->region_size;
	info->flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	info->cap_offset = 0;

	ret = vfio_info_add_capability(&caps, &cap_type.header, sizeof(cap_type));
	if (ret)
		return ret;

	if (vd->geo.nr_areas) {
		sz = struct_size(sparse, areas, vd->geo.nr_areas);
		sparse = vfmig_kzalloc(sz);
		if (!sparse) {
			ret = -ENOMEM;
			goto out;
		}
		sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
		sparse->header.version = 1;
		sparse->nr_areas = vd->geo.nr_areas;
		for (i = 0; i < vd->geo.nr_areas; i++) {
			sparse->areas[i].offset = vd->geo.areas[i].offset;
			sparse->areas[i].size = vd->geo.areas[i].size;
		}
		ret = vfio_info_add_capability(&caps, &sparse->header, sz);
		vfmig_kfree(sparse, sz);
		if (ret)
			goto out;
		info->flags |= VFIO_REGION_INFO_FLAG_MMAP;
	}

	info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
	if (info->argsz < sizeof(*info) + caps.size) {
		/* Too small: say how much is needed, as vfio-pci does. */
		info->argsz = sizeof(*info) + caps.size;
		info->cap_offset = 0;
	} else {
		vfio_info_cap_shift(&caps, sizeof(*info));
		if (copy_to_user(uarg + sizeof(*info), caps.buf, caps.size)) {
			ret = -EFAULT;
			goto out;
		}
		info->cap_offset = sizeof(*info);
	}
	ret = copy_to_user(uarg, info, minsz) ? -EFAULT : 0;
out:
	kfree(caps.buf);
	return ret;
}

/* The advertised area holding data-section byte @off of the region, if any. */
static bool vfmig_layout_in_area(const struct vfmig_dev *vd, u64 off, u64 len)
{
	unsigned int i;

	for (i = 0; i < vd->geo.nr_areas; i++) {
		const struct vfmig_span *a = &vd->geo.areas[i];

		if (off >= a->offset && len <= a->size && off - a->offset <= a->size - len)
			return true;
	}
	return false;
}

/*
 * Pages are inserted on first touch, not at mmap, so mapping a 64 MiB
 * section costs nothing up front and RSS follows what is touched.  A fault
 * maps the faulting page and up to VFMIG_FAULT_AROUND - 1 after it (one
 * fault per page cost 4-10x more than inserting at mmap under TCG for a
 * whole-section save).  No device lock: the fault runs under mmap_lock,
 * which region accesses take under the device lock.  The buffer and geometry
 * are stable because a mapping holds the device file, so the device stays
 * open (see the file comment).  Every page is re-checked against the areas:
 * never a gap page, never past the buffer.
 */
static vm_fault_t vfmig_layout_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vfmig_dev *vd = vma->vm_private_data;
	u64 off = (vmf->pgoff & VFMIG_REGION_PGOFF_MASK) << PAGE_SHIFT;
	unsigned long addr = vmf->address & PAGE_MASK, n, i;
	struct page *pages[VFMIG_FAULT_AROUND];
	int ret;

	if (!vfmig_layout_in_area(vd, off, PAGE_SIZE))
		return VM_FAULT_SIGBUS;
	/* The faulting page and the next ones, inside the area and the vma. */
	n = min_t(unsigned long, VFMIG_FAULT_AROUND, (vma->vm_end - addr) >> PAGE_SHIFT);
	for (i = 0; i < n; i++) {
		if (i && !vfmig_layout_in_area(vd, off + i * PAGE_SIZE, PAGE_SIZE))
			break;
		pages[i] = vmalloc_to_page(vd->data + off + i * PAGE_SIZE - VFMIG_DATA_START);
		if (!pages[i])
			break;
	}
	if (!i)
		return VM_FAULT_SIGBUS;
	n = i;
	ret = vm_insert_pages(vma, addr, pages, &n);
	/* -EBUSY: a racing fault mapped the page first; nothing to do. */
	if (ret == -ENOMEM)
		return VM_FAULT_OOM;
	if (ret && ret != -EBUSY)
		return VM_FAULT_SIGBUS;
	return VM_FAULT_NOPAGE;
}

static const struct vm_operations_struct vfmig_layout_vm_ops = {
	.fault = vfmig_layout_fault,
};

/* mmap: shared, inside exactly one advertised area, nothing else. */
int vfmig_layout_mmap(struct vfmig_dev *vd, struct vm_area_struct *vma)
{
	u64 index = vma->vm_pgoff >> (VFMIG_REGION_SHIFT - PAGE_SHIFT);
	u64 off = (vma->vm_pgoff & VFMIG_REGION_PGOFF_MASK) << PAGE_SHIFT;
	u64 len = vma->vm_end - vma->vm_start;

	/* A v2-only device has no migration region to map. */
	if (index != VFMIG_MIGRATION_REGION_INDEX || !(vma->vm_flags & VM_SHARED) ||
	    !vfmig_has_v1(vd) || !vfmig_layout_in_area(vd, off, len))
		return -EINVAL;
	/* The region is data (READ|WRITE): never code, not even by mprotect() later. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vfmig_compat_vm_flags_clear(vma, VM_MAYEXEC);
	/*
	 * As remap_vmalloc_range() did: no mremap growth, no core dumps.
	 * MIXEDMAP now, under the mmap write lock: vm_insert_pages() in the
	 * fault would set it itself, which needs that lock.  The direct window
	 * (an area of its own) has its own flags and faults.
	 */
	vma->vm_private_data = vd;
	if (vd->geo.run.size && off >= vd->geo.run.offset) {
		vfmig_window_mmap(vd, vma);
		return 0;
	}
	vfmig_compat_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_MIXEDMAP);
	vma->vm_ops = &vfmig_layout_vm_ops;
	return 0;
}
