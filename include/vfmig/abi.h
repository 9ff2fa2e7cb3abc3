/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vfmig ABI shared by the kernel module and user space.
 *
 * Everything a user-space client needs to talk to a vfmig mdev that is not
 * already standard VFIO: the PCI identity, the BAR0 register map, where the
 * migration region lives, and a private copy of the VFIO migration protocol
 * v1 header (the uapi copy is deprecated and may disappear one day).
 *
 * Written like a kernel uapi header: it compiles in the kernel and in user
 * space, with the __u32/__u64 types of <linux/types.h> in both.
 */
#ifndef VFMIG_ABI_H
#define VFMIG_ABI_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/stddef.h>
#else
#include <stddef.h>
#include <assert.h>
#endif

/* Module, parent and type names as they appear in sysfs. */
#define VFMIG_MODULE_NAME	"vfmig"
#define VFMIG_PARENT_NAME	"vfmig"
/* mdev_supported_types/<parent driver string>-<type> */
#define VFMIG_TYPE_PREFIX	"vfmig-"

/* PCI identity presented through the config region. */
#define VFMIG_PCI_VENDOR_ID	0x1234
#define VFMIG_PCI_DEVICE_ID	0x7f10
#define VFMIG_PCI_SUBSYS_VENDOR	0x1234
#define VFMIG_PCI_SUBSYS_ID	0x0001
#define VFMIG_PCI_CLASS		0xff0000	/* "unassigned class" */
#define VFMIG_PCI_REVISION	0x01
#define VFMIG_PCI_CONFIG_SIZE	256

/*
 * Region offsets in the device fd: like vfio-pci, the region index lives in
 * the bits above VFMIG_REGION_SHIFT.  User space must still take offsets from
 * VFIO_DEVICE_GET_REGION_INFO; this is only the driver's choice.
 */
#define VFMIG_REGION_SHIFT	40
#define VFMIG_REGION_OFFSET(index)	((__u64)(index) << VFMIG_REGION_SHIFT)

/* At most this many sparse-mmap areas in the migration region. */
#define VFMIG_MAX_AREAS		16

/* Region indexes beyond the standard VFIO PCI ones (VFIO_PCI_NUM_REGIONS = 9). */
#define VFMIG_MIGRATION_REGION_INDEX	9
#define VFMIG_NUM_REGIONS		10

/* BAR0: a 4 KiB 32-bit MMIO BAR of little-endian registers. */
#define VFMIG_BAR0_SIZE		4096
#define VFMIG_REG_MAGIC		0x00	/* RO u32: VFMIG_BAR0_MAGIC */
#define VFMIG_REG_VERSION	0x04	/* RO u32: ABI version */
#define VFMIG_REG_STATE_SIZE_LO	0x08	/* RO u32: device memory size, low */
#define VFMIG_REG_STATE_SIZE_HI	0x0c	/* RO u32: device memory size, high */
#define VFMIG_REG_GENERATION_LO	0x10	/* RO u32: dirty generation counter */
#define VFMIG_REG_GENERATION_HI	0x14
#define VFMIG_REG_SEED_LO	0x18	/* RO u32: last seed written via sysfs */
#define VFMIG_REG_SEED_HI	0x1c
#define VFMIG_REG_SCRATCH	0x20	/* RW u32: guest scratch, part of device state */
#define VFMIG_REG_DEVICE_STATE	0x24	/* RO u32: current v1 device_state */
#define VFMIG_BAR0_MAGIC	0x67696d66u	/* "fmig" little-endian */
#define VFMIG_ABI_VERSION	1

/*
 * Private copy of the VFIO migration protocol v1 header
 * (struct vfio_device_migration_info in <linux/vfio.h>).
 */
struct vfmig_v1_info {
	__u32 device_state;
	__u32 reserved;
	__u64 pending_bytes;
	__u64 data_offset;
	__u64 data_size;
};

#define VFMIG_V1_STATE_STOP	0u
#define VFMIG_V1_STATE_RUNNING	(1u << 0)
#define VFMIG_V1_STATE_SAVING	(1u << 1)
#define VFMIG_V1_STATE_RESUMING	(1u << 2)
#define VFMIG_V1_STATE_MASK	(VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING | \
				 VFMIG_V1_STATE_RESUMING)
#define VFMIG_V1_STATE_ERROR	(VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RESUMING)
/* RESUMING is only valid alone; SAVING|RESUMING is the error state. */
#define VFMIG_V1_STATE_VALID(s) \
	(((s) & VFMIG_V1_STATE_RESUMING) ? \
	 ((s) & VFMIG_V1_STATE_MASK) == VFMIG_V1_STATE_RESUMING : 1)
#define VFMIG_V1_STATE_IS_ERROR(s) \
	(((s) & VFMIG_V1_STATE_MASK) == VFMIG_V1_STATE_ERROR)

/* VFIO region type/subtype of the v1 migration region. */
#define VFMIG_REGION_TYPE_MIGRATION	3
#define VFMIG_REGION_SUBTYPE_MIGRATION	1

static_assert(sizeof(struct vfmig_v1_info) == 32, "v1 header size");
static_assert(offsetof(struct vfmig_v1_info, device_state) == 0, "device_state");
static_assert(offsetof(struct vfmig_v1_info, reserved) == 4, "reserved");
static_assert(offsetof(struct vfmig_v1_info, pending_bytes) == 8, "pending_bytes");
static_assert(offsetof(struct vfmig_v1_info, data_offset) == 16, "data_offset");
static_assert(offsetof(struct vfmig_v1_info, data_size) == 24, "data_size");

#endif /* VFMIG_ABI_H */
