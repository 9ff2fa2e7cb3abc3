/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening a vfmig mdev through VFIO's group/container API (type1) and
 * describing its regions, including the v1 migration region and its
 * sparse-mmap areas.
 */
#ifndef VFMIG_VFIO_H
#define VFMIG_VFIO_H

#include <stdbool.h>
#include <stdint.h>

#include "errbuf.h"
#include "mdev.h"
#include "region.h"

struct vfmig_region_desc {
	uint32_t index;
	uint32_t flags;		/* VFIO_REGION_INFO_FLAG_* */
	uint64_t size;
	uint64_t offset;	/* in the device fd */
	bool has_type;
	uint32_t type, subtype;	/* VFIO_REGION_INFO_CAP_TYPE */
	bool has_sparse;
	unsigned int nr_areas;
	struct { uint64_t offset, size; } areas[VFMIG_MAX_AREAS];
};

struct vfmig_vfio_dev {
	char uuid[VFMIG_UUID_LEN + 1];
	int container, group, device;
	int group_id;
	uint32_t flags;		/* VFIO_DEVICE_FLAGS_* */
	uint32_t num_regions, num_irqs;
	/* The migration region, if the device has one (index < 0 if not). */
	int mig_index;
	struct vfmig_region_desc mig;
	struct vfmig_region region;	/* protocol access to the migration region */
};

/* Open /dev/vfio/vfio + the mdev's group, set type1, get the device fd. */
int vfmig_vfio_open(struct vfmig_vfio_dev *d, const char *uuid, struct vfmig_err *err);
/* Unmap, close the device, group and container; safe on a failed open. */
void vfmig_vfio_close(struct vfmig_vfio_dev *d);
/* Region info with its capability chain walked. */
int vfmig_vfio_region_info(struct vfmig_vfio_dev *d, uint32_t index,
			   struct vfmig_region_desc *out, struct vfmig_err *err);
/* mmap the migration region's sparse areas into d->region (when @map). */
int vfmig_vfio_map_migration(struct vfmig_vfio_dev *d, bool map, struct vfmig_err *err);
/* VFIO_DEVICE_RESET. */
int vfmig_vfio_reset(struct vfmig_vfio_dev *d, struct vfmig_err *err);

#endif /* VFMIG_VFIO_H */
