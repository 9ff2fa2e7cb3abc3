/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfmig: internal definitions shared by the module's source files.
 *
 * One struct vfmig_dev per mdev.  Its mutex serialises everything user space
 * can reach (region accesses, ioctls, sysfs, open/close) so each handler sees
 * a consistent device.
 */
#ifndef VFMIG_H
#define VFMIG_H

#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/vfio.h>

#include "vfmig/abi.h"

#define VFMIG_STATE_SIZE_MIN	(4ULL << 10)
#define VFMIG_STATE_SIZE_MAX	(2ULL << 30)

/* An mdev type: what differs between kinds of vfmig device. */
struct vfmig_type {
	struct mdev_type type;		/* embedded; mdev core points at it */
	const char *description;
	u64 state_size;			/* default device memory size */
};

/* Registers that are part of the device state besides its memory. */
struct vfmig_regs {
	u64 generation;			/* bumped by every dirtying pass */
	u64 seed;			/* last seed written through sysfs */
	u32 scratch;			/* guest-writable BAR0 register */
};

struct vfmig_dev {
	struct vfio_device vdev;	/* must be first: vfio_alloc_device() */
	const struct vfmig_type *type;

	struct mutex lock;		/* protects everything below */
	bool opened;			/* user space holds the device open */

	/* Device state: memory plus registers; see state.c. */
	void *mem;
	u64 mem_size;
	struct vfmig_regs regs;

	/* VFIO protocol v1 device_state (VFMIG_V1_STATE_*). */
	u32 device_state;

	/* PCI face; see pci.c. */
	u8 config[VFMIG_PCI_CONFIG_SIZE];
};

static inline struct vfmig_dev *vdev_to_vfmig(struct vfio_device *vdev)
{
	return container_of(vdev, struct vfmig_dev, vdev);
}

/* state.c: device memory and its checksum. */
int vfmig_state_alloc(struct vfmig_dev *vd, u64 size);
void vfmig_state_free(struct vfmig_dev *vd);
void vfmig_state_fill(struct vfmig_dev *vd, u64 seed);
u64 vfmig_state_checksum(struct vfmig_dev *vd);

/* pci.c: config space, BAR0 and the standard VFIO PCI ioctls. */
void vfmig_pci_init(struct vfmig_dev *vd);
void vfmig_pci_reset(struct vfmig_dev *vd);
ssize_t vfmig_pci_config_rw(struct vfmig_dev *vd, char __user *ubuf,
			    size_t count, u64 off, bool is_write);
ssize_t vfmig_pci_bar0_rw(struct vfmig_dev *vd, char __user *ubuf,
			  size_t count, u64 off, bool is_write);
long vfmig_pci_ioctl(struct vfmig_dev *vd, unsigned int cmd,
		     unsigned long arg);

/* sysfs.c: the per-device vfmig/ attribute group. */
extern const struct attribute_group *vfmig_dev_groups[];

#endif /* VFMIG_H */
