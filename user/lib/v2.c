// SPDX-License-Identifier: GPL-2.0
/* VFIO migration protocol v2: the feature ioctls and PRECOPY_INFO. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "v2.h"
#include "vfio.h"

/* struct vfio_device_feature followed by the feature's payload. */
struct feature_buf {
	struct vfio_device_feature hdr;
	union {
		struct vfio_device_feature_migration mig;
		struct vfio_device_feature_mig_state state;
		struct vfio_device_feature_mig_data_size size;
	} u;
};

static int feature(int device, uint32_t flags, struct feature_buf *b, size_t len)
{
	memset(&b->hdr, 0, sizeof(b->hdr));
	b->hdr.argsz = (uint32_t)(sizeof(b->hdr) + len);
	b->hdr.flags = flags;
	return ioctl(device, VFIO_DEVICE_FEATURE, b) ? -errno : 0;
}

int vfmig_v2_probe(int device, uint64_t *flags)
{
	struct feature_buf b = { 0 };
	int ret;

	*flags = 0;
	ret = feature(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, &b,
		      sizeof(b.u.mig));
	if (!ret)
		*flags = b.u.mig.flags;
	return ret;
}

int vfmig_v2_get_state(int device, uint32_t *state, struct vfmig_err *err)
{
	struct feature_buf b = { 0 };
	int ret;

	ret = feature(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &b,
		      sizeof(b.u.state));
	if (ret)
		return vfmig_err_set(err, ret, "MIG_DEVICE_STATE get: %s", strerror(-ret));
	*state = b.u.state.device_state;
	return 0;
}

int vfmig_v2_set_state(int device, uint32_t state, int *data_fd, struct vfmig_err *err)
{
	struct feature_buf b = { 0 };
	int ret;

	if (data_fd)
		*data_fd = -1;
	b.u.state.device_state = state;
	b.u.state.data_fd = -1;
	ret = feature(device, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &b,
		      sizeof(b.u.state));
	if (ret)
		return vfmig_err_set(err, ret, "MIG_DEVICE_STATE set %s: %s",
				     vfmig_v2_state_name(state), strerror(-ret));
	if (data_fd)
		*data_fd = b.u.state.data_fd;
	else if (b.u.state.data_fd >= 0)
		close(b.u.state.data_fd);
	return 0;
}

int vfmig_v2_data_size(int device, uint64_t *len, struct vfmig_err *err)
{
	struct feature_buf b = { 0 };
	int ret;

	ret = feature(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &b,
		      sizeof(b.u.size));
	if (ret)
		return vfmig_err_set(err, ret, "MIG_DATA_SIZE: %s", strerror(-ret));
	*len = b.u.size.stop_copy_length;
	return 0;
}

int vfmig_v2_precopy_info(int data_fd, uint64_t *initial, uint64_t *dirty,
			  struct vfmig_err *err)
{
	struct vfio_precopy_info info = { .argsz = sizeof(info) };

	if (ioctl(data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info))
		return vfmig_err_set(err, -errno, "VFIO_MIG_GET_PRECOPY_INFO: %s",
				     strerror(errno));
	*initial = info.initial_bytes;
	*dirty = info.dirty_bytes;
	return 0;
}

const char *vfmig_v2_state_name(uint32_t state)
{
	static const char *const names[] = {
		[VFIO_DEVICE_STATE_ERROR] = "ERROR",
		[VFIO_DEVICE_STATE_STOP] = "STOP",
		[VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
		[VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
		[VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
		[VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
		[VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
		[VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
	};

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

const char *vfmig_protocols_name(bool v1, bool v2)
{
	if (v1 && v2)
		return "v1 v2";
	return v1 ? "v1" : v2 ? "v2" : "none";
}

static int vfio_get_state(void *opaque, uint32_t *state, struct vfmig_err *err)
{
	return vfmig_v2_get_state(((struct vfmig_vfio_dev *)opaque)->device, state, err);
}

static int vfio_set_state(void *opaque, uint32_t state, int *data_fd, struct vfmig_err *err)
{
	return vfmig_v2_set_state(((struct vfmig_vfio_dev *)opaque)->device, state, data_fd, err);
}

static int vfio_precopy_info(void *opaque, int data_fd, uint64_t *initial, uint64_t *dirty,
			     struct vfmig_err *err)
{
	(void)opaque;
	return vfmig_v2_precopy_info(data_fd, initial, dirty, err);
}

static int vfio_reset(void *opaque, struct vfmig_err *err)
{
	return vfmig_vfio_reset(opaque, err);
}

const struct vfmig_v2_ops vfmig_v2_vfio_ops = {
	.get_state = vfio_get_state,
	.set_state = vfio_set_state,
	.precopy_info = vfio_precopy_info,
	.reset = vfio_reset,
};
