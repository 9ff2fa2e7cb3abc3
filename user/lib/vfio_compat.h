/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The protocol v2 definitions that came after the host's <linux/vfio.h>:
 * Debian bookworm's linux-libc-dev (6.1) has the migration feature and
 * MIG_DEVICE_STATE but not PRE_COPY and PRECOPY_INFO (Linux 6.2) nor
 * MIG_DATA_SIZE (6.3).  Values as in the 6.12 uAPI; a newer host header
 * wins.
 */
#ifndef VFMIG_VFIO_COMPAT_H
#define VFMIG_VFIO_COMPAT_H

#include <linux/types.h>
#include <linux/vfio.h>

#ifndef VFIO_MIGRATION_PRE_COPY
#define VFIO_MIGRATION_PRE_COPY		(1 << 2)
/* enum vfio_device_mig_state has no PRE_COPY members before 6.2. */
#define VFIO_DEVICE_STATE_PRE_COPY	6
#define VFIO_DEVICE_STATE_PRE_COPY_P2P	7
#endif

#ifndef VFIO_MIG_GET_PRECOPY_INFO
struct vfio_precopy_info {
	__u32 argsz;
	__u32 flags;
	__aligned_u64 initial_bytes;
	__aligned_u64 dirty_bytes;
};
#define VFIO_MIG_GET_PRECOPY_INFO	_IO(VFIO_TYPE, VFIO_BASE + 21)
#endif

#ifndef VFIO_DEVICE_FEATURE_MIG_DATA_SIZE
struct vfio_device_feature_mig_data_size {
	__aligned_u64 stop_copy_length;
};
#define VFIO_DEVICE_FEATURE_MIG_DATA_SIZE 9
#endif

#endif /* VFMIG_VFIO_COMPAT_H */
