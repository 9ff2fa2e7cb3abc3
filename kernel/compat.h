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

#endif /* VFMIG_COMPAT_H */
