// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig direct data window (sysfs data_window=direct, protocol v1).
 *
 * The last pages of the data section (geo.run, a sparse mmap area of its
 * own) can stand for device memory itself.  While a save hands out a PAGES
 * payload, or a resume expects one, data_offset points into this window and
 * its pages are the device's own: user space copies each byte once, where a
 * staged data section costs one kernel copy more at each end.  The bytes of
 * a chunk end where the region ends, so a client that bounds a chunk by the
 * region's end (QEMU 7.2, libvfmig) writes exactly what the record still
 * expects, whatever its own chunk sizes.
 *
 * A binding says which device page each window page stands for, for one
 * chunk.  It changes under vd->lock and window_lock.  The fault handlers run
 * under mmap_lock, so they may not take vd->lock (region accesses fault
 * under it); they take window_lock alone and insert under it, and every
 * change of binding zaps the window's PTEs under it, so no PTE of an old
 * binding survives.  Lock order: vd->lock, then mmap_lock or window_lock,
 * then i_mmap_rwsem.  A save binds read-only (pfn_mkwrite refuses), so a
 * client cannot change the state it is saving; while bound, nothing else of
 * the window can be touched.  Unbound, the window is staging memory like the
 * rest of the data section.
 */
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "compat.h"
#include "vfmig.h"

static const char *const window_names[] = {
	[VFMIG_WINDOW_STAGED] = "staged",
	[VFMIG_WINDOW_DIRECT] = "direct",
};

const char *vfmig_window_name(enum vfmig_data_window w)
{
	return window_names[w];
}

int vfmig_window_parse(const char *buf, enum vfmig_data_window *w)
{
	int i = sysfs_match_string(window_names, buf);

	if (i < 0)
		return -EINVAL;
	*w = i;
	return 0;
}

/* Pages in the window: the longest PAGES record a direct save builds. */
u32 vfmig_window_pages(const struct vfmig_dev *vd)
{
	return vd->geo.run.size >> PAGE_SHIFT;
}

/*
 * Drop every PTE of the window, in every mapping of this device's region,
 * unless none was made since the last zap: a zap costs a TLB shootdown.
 */
static void vfmig_window_zap(struct vfmig_dev *vd)
{
	lockdep_assert_held(&vd->window_lock);
	if (vd->map_mapping && vd->window_mapped)
		unmap_mapping_range(vd->map_mapping,
				    VFMIG_REGION_OFFSET(VFMIG_MIGRATION_REGION_INDEX) +
				    vd->geo.run.offset, vd->geo.run.size, 1);
	vd->window_mapped = false;
}

/*
 * Bind the window's tail: region bytes [@start, region end) stand for device
 * memory from byte @mem_off on.  @start and @mem_off share their offset in a
 * page, so every window page stands for one whole device page.
 */
static void vfmig_window_bind(struct vfmig_dev *vd, enum vfmig_bind_kind kind, u64 start,
			      u64 mem_off)
{
	lockdep_assert_held(&vd->lock);
	mutex_lock(&vd->window_lock);
	vd->bind.kind = kind;
	vd->bind.start = start;
	vd->bind.mem_off = mem_off;
	vfmig_window_zap(vd);	/* staging pages, or an older binding */
	mutex_unlock(&vd->window_lock);
}

/* Also from release, unlocked: nothing is bound after the last close. */
void vfmig_window_unbind(struct vfmig_dev *vd)
{
	if (vd->bind.kind == VFMIG_BIND_NONE)
		return;
	lockdep_assert_held(&vd->lock);
	mutex_lock(&vd->window_lock);
	vd->bind.kind = VFMIG_BIND_NONE;
	vfmig_window_zap(vd);
	mutex_unlock(&vd->window_lock);
}

/*
 * Save: @len bytes of device memory from @mem_off are the next chunk.  Binds
 * them at the window's end; returns the data_offset to report.
 */
u64 vfmig_window_bind_save(struct vfmig_dev *vd, u64 mem_off, u64 len)
{
	u64 start = vd->region_size - len;

	vfmig_window_bind(vd, VFMIG_BIND_SAVE, start, mem_off);
	return start;
}

/*
 * Resume: if the parser is inside a PAGES payload, bind as much of what it
 * still expects as the window holds and return true with the data_offset to
 * report in *@offset.  More than the window holds: the part that keeps a
 * window page to a device page, so the next chunk starts page-aligned.
 */
bool vfmig_window_bind_resume(struct vfmig_dev *vd, u64 *offset)
{
	u64 mem_off, due = vfmig_payload_resume_run(&vd->resume, &mem_off);
	u64 room = vd->geo.run.size, n;

	if (!due || !room)
		return false;
	n = due;
	if (n > room)
		n = room - PAGE_SIZE + (offset_in_page(due) ? offset_in_page(due) : PAGE_SIZE);
	*offset = vd->region_size - n;
	/* From now on memory may change under user space's hand. */
	vd->resume.applied = true;
	vfmig_window_bind(vd, VFMIG_BIND_RESUME, *offset, mem_off);
	return true;
}

/*
 * A trapped access at region offset @off: where its bytes are.  Outside the
 * window or unbound, NULL (the data section's own bytes); bound, the device
 * memory the binding names if the access lies inside it and goes the
 * binding's way (a save's chunk is read, a resume's written), else an
 * ERR_PTR.
 */
u8 *vfmig_window_rw_ptr(struct vfmig_dev *vd, u64 off, size_t count, bool is_write)
{
	const struct vfmig_span *w = &vd->geo.run;
	const struct vfmig_bind *b = &vd->bind;
	bool saving = b->kind == VFMIG_BIND_SAVE;

	lockdep_assert_held(&vd->lock);
	if (b->kind == VFMIG_BIND_NONE || !w->size || off + count <= w->offset)
		return NULL;
	/* A save's chunk is only read, a resume's only written. */
	if (off < b->start || is_write == saving)
		return ERR_PTR(-EINVAL);
	/* vfmig_mig_rw() bounded off + count by the region's end. */
	return (u8 *)vd->mem + b->mem_off + (off - b->start);
}

/* The vmalloc page behind region byte @off (page aligned) of the window, or 0. */
static unsigned long vfmig_window_pfn(struct vfmig_dev *vd, u64 off)
{
	const struct vfmig_bind *b = &vd->bind;

	if (b->kind == VFMIG_BIND_NONE)
		return vmalloc_to_pfn(vd->data + off - VFMIG_DATA_START);
	/* Only the bound tail; its first page may start before b->start. */
	if (off + PAGE_SIZE <= b->start)
		return 0;
	return vmalloc_to_pfn((u8 *)vd->mem + b->mem_off + off - b->start);
}

/*
 * Fault: map every page of the window the binding gives (all of it when
 * unbound) that this VMA covers, as PFN mappings (no page references, so a
 * zap is all it takes to revoke them), read-only unless the fault is a
 * write (a save's binding refuses those).  All of them, not the faulting
 * page onwards: glibc copies backwards when the destination lies above the
 * source, and a fault per page cost 20x the copy under TCG.
 */
static vm_fault_t vfmig_window_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct vfmig_dev *vd = vma->vm_private_data;
	u64 vma_off = (vma->vm_pgoff & VFMIG_REGION_PGOFF_MASK) << PAGE_SHIFT;
	u64 off = (vmf->pgoff & VFMIG_REGION_PGOFF_MASK) << PAGE_SHIFT, first, end;
	const struct vfmig_span *w = &vd->geo.run;
	bool write = vmf->flags & FAULT_FLAG_WRITE;
	/* vm_page_prot is read-only: pfn_mkwrite asks for write notification. */
	pgprot_t prot = write ? vm_get_page_prot(vma->vm_flags) : vma->vm_page_prot;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	if (off < w->offset || off - w->offset >= w->size)
		return VM_FAULT_SIGBUS;
	mutex_lock(&vd->window_lock);
	if ((write && vd->bind.kind == VFMIG_BIND_SAVE) || !vfmig_window_pfn(vd, off))
		goto out;
	vd->window_mapped = true;
	/* The faulting page decides; the others are a bonus. */
	ret = vmf_insert_pfn_prot(vma, vmf->address & PAGE_MASK, vfmig_window_pfn(vd, off), prot);
	if (ret & VM_FAULT_ERROR)
		goto out;
	first = max(vma_off, w->offset);
	if (vd->bind.kind != VFMIG_BIND_NONE)
		first = max(first, vd->bind.start & PAGE_MASK);
	end = min(vma_off + (vma->vm_end - vma->vm_start), w->offset + w->size);
	for (; first < end; first += PAGE_SIZE) {
		unsigned long addr = vma->vm_start + (first - vma_off);
		unsigned long pfn = vfmig_window_pfn(vd, first);

		if (first != off && vmf_insert_pfn_prot(vma, addr, pfn, prot) & VM_FAULT_ERROR)
			break;
	}
out:
	mutex_unlock(&vd->window_lock);
	return ret;
}

/*
 * A write to a PTE mapped read-only: staging memory and a resume's pages
 * take it, a save's pages do not.
 */
static vm_fault_t vfmig_window_pfn_mkwrite(struct vm_fault *vmf)
{
	struct vfmig_dev *vd = vmf->vma->vm_private_data;
	vm_fault_t ret;

	mutex_lock(&vd->window_lock);
	ret = vd->bind.kind == VFMIG_BIND_SAVE ? VM_FAULT_SIGBUS : 0;
	mutex_unlock(&vd->window_lock);
	return ret;
}

static const struct vm_operations_struct vfmig_window_vm_ops = {
	.fault = vfmig_window_fault,
	.pfn_mkwrite = vfmig_window_pfn_mkwrite,
};

/*
 * mmap of the window area (vfmig_layout_mmap() checked the range): a PFN
 * map, since a writable PTE for a write fault is only to be had there.
 */
void vfmig_window_mmap(struct vfmig_dev *vd, struct vm_area_struct *vma)
{
	vfmig_compat_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_PFNMAP);
	/* Every mapping of the region shares one address space: zap through it. */
	mutex_lock(&vd->window_lock);
	vd->map_mapping = vma->vm_file->f_mapping;
	mutex_unlock(&vd->window_lock);
	vma->vm_ops = &vfmig_window_vm_ops;
}
