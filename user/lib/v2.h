/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO migration protocol v2 access: the VFIO_DEVICE_FEATURE_MIGRATION
 * probe, MIG_DEVICE_STATE get/set (which hands out the data files),
 * MIG_DATA_SIZE and VFIO_MIG_GET_PRECOPY_INFO.  Errors carry the ioctl and
 * its errno; callers prefix the device and the step.
 */
#ifndef VFMIG_V2_H
#define VFMIG_V2_H

#include <stdbool.h>
#include <stdint.h>

#include "errbuf.h"
#include "vfio_compat.h"

/* Migration flags of the device (VFIO_MIGRATION_*); -ENOTTY: no v2. */
int vfmig_v2_probe(int device, uint64_t *flags);
int vfmig_v2_get_state(int device, uint32_t *state, struct vfmig_err *err);
/*
 * Move to state (the core walks the arcs between); *data_fd (optional)
 * receives the new data file, or -1 if the move started no session.
 */
int vfmig_v2_set_state(int device, uint32_t state, int *data_fd, struct vfmig_err *err);
/* Bytes STOP_COPY would still hand out; -ENOTTY where the kernel lacks it. */
int vfmig_v2_data_size(int device, uint64_t *len, struct vfmig_err *err);
/* On the saving file in PRE_COPY. */
int vfmig_v2_precopy_info(int data_fd, uint64_t *initial, uint64_t *dirty,
			  struct vfmig_err *err);
const char *vfmig_v2_state_name(uint32_t state);

/* What v2dev needs of a device, so a unit test can stand in for VFIO. */
struct vfmig_v2_ops {
	int (*get_state)(void *opaque, uint32_t *state, struct vfmig_err *err);
	int (*set_state)(void *opaque, uint32_t state, int *data_fd, struct vfmig_err *err);
	int (*precopy_info)(void *opaque, int data_fd, uint64_t *initial, uint64_t *dirty,
			    struct vfmig_err *err);
	int (*reset)(void *opaque, struct vfmig_err *err);
};

/* The real thing; opaque is the struct vfmig_vfio_dev. */
extern const struct vfmig_v2_ops vfmig_v2_vfio_ops;
/* "v1", "v2", "v1 v2" or "none": what a device offers. */
const char *vfmig_protocols_name(bool v1, bool v2);

#endif /* VFMIG_V2_H */
