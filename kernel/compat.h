/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Differences between the kernels vfmig builds against (Debian's 6.1 and
 * 6.12).  Every #if on LINUX_VERSION_CODE lives here and nowhere else.
 */
#ifndef VFMIG_COMPAT_H
#define VFMIG_COMPAT_H

#include <linux/mm.h>
#include <linux/version.h>
#include <linux/vfio.h>

/*
 * 6.1's vfio core requires ->release to free the vfio_device itself with
 * vfio_free_device(); from 6.2 on the core frees it and the symbol is gone.
 */
static inline void vfmig_compat_free_vdev(struct vfio_device *vdev)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	vfio_free_device(vdev);
#endif
}

/* vm_flags became read-only behind vm_flags_set() in 6.3. */
static inline void vfmig_compat_vm_flags_set(struct vm_area_struct *vma, unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_set(vma, flags);
#else
	vma->vm_flags |= flags;
#endif
}

static inline void vfmig_compat_vm_flags_clear(struct vm_area_struct *vma, unsigned long flags)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
	vm_flags_clear(vma, flags);
#else
	vma->vm_flags &= ~flags;
#endif
}

/*
 * iommufd hooks for an emulated-IOMMU device: absent before 6.2, detach
 * added in 6.6.  With CONFIG_IOMMUFD=n (Debian) these expand to NULL.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define VFMIG_COMPAT_IOMMUFD_OPS					\
	.bind_iommufd = vfio_iommufd_emulated_bind,			\
	.unbind_iommufd = vfio_iommufd_emulated_unbind,			\
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,		\
	.detach_ioas = vfio_iommufd_emulated_detach_ioas,
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VFMIG_COMPAT_IOMMUFD_OPS					\
	.bind_iommufd = vfio_iommufd_emulated_bind,			\
	.unbind_iommufd = vfio_iommufd_emulated_unbind,			\
	.attach_ioas = vfio_iommufd_emulated_attach_ioas,
#else
#define VFMIG_COMPAT_IOMMUFD_OPS
#endif

/*
 * VFIO migration protocol v2: 6.1 has the STOP_COPY and P2P states only.
 * PRE_COPY, PRE_COPY_P2P, VFIO_MIG_GET_PRECOPY_INFO and
 * vfio_migration_ops.migration_get_data_size (VFIO_DEVICE_FEATURE_MIG_DATA_SIZE)
 * came in 6.2 (upstream 4db52602a607 and 4e016f969529); 6.12 has them all.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define VFMIG_HAVE_PRE_COPY	1
#define VFMIG_COMPAT_MIG_FLAGS						\
	(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY)
#else
#define VFMIG_HAVE_PRE_COPY	0
#define VFMIG_COMPAT_MIG_FLAGS	(VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P)
#endif

/*
 * ->splice_read for a file that only has ->read_iter (no page cache): 6.1
 * has generic_file_splice_read(), which reads into the pipe's pages through
 * an ITER_PIPE; 6.5 dropped it and ITER_PIPE for copy_splice_read(), which
 * reads into pages it allocates and then moves them into the pipe.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
#define vfmig_compat_splice_read	copy_splice_read
#else
#define vfmig_compat_splice_read	generic_file_splice_read
#endif

#endif /* VFMIG_COMPAT_H */
