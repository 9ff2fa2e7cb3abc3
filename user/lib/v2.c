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

/*
 * struct vfio_device_feature followed by the feature's payload (at most 8
 * bytes here), in an aligned buffer: the header ends in a flexible array.
 */
static int feature(int device, uint32_t flags, void *payload, size_t len)
{
	uint64_t buf[(sizeof(struct vfio_device_feature) + 8 + 7) / 8] = { 0 };
	struct vfio_device_feature *f = (struct vfio_device_feature *)buf;

	if (len > sizeof(buf) - sizeof(*f))
		return -EINVAL;
	f->argsz = (uint32_t)(sizeof(*f) + len);
	f->flags = flags;
	memcpy(f->data, payload, len);
	if (ioctl(device, VFIO_DEVICE_FEATURE, f))
		return -errno;
	memcpy(payload, f->data, len);
	return 0;
}

int vfmig_v2_probe(int device, uint64_t *flags)
{
	struct vfio_device_feature_migration mig = { 0 };
	int ret;

	*flags = 0;
	ret = feature(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION, &mig,
		      sizeof(mig));
	if (!ret)
		*flags = mig.flags;
	return ret;
}

int vfmig_v2_get_state(int device, uint32_t *state, struct vfmig_err *err)
{
	struct vfio_device_feature_mig_state st = { .data_fd = -1 };
	int ret;

	ret = feature(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
		      sizeof(st));
	if (ret)
		return vfmig_err_set(err, ret, "MIG_DEVICE_STATE get: %s", strerror(-ret));
	*state = st.device_state;
	return 0;
}

int vfmig_v2_set_state(int device, uint32_t state, int *data_fd, struct vfmig_err *err)
{
	struct vfio_device_feature_mig_state st = { .device_state = state, .data_fd = -1 };
	int ret;

	if (data_fd)
		*data_fd = -1;
	ret = feature(device, VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE, &st,
		      sizeof(st));
	if (ret)
		return vfmig_err_set(err, ret, "MIG_DEVICE_STATE set %s: %s",
				     vfmig_v2_state_name(state), strerror(-ret));
	if (data_fd)
		*data_fd = st.data_fd;
	else if (st.data_fd >= 0)
		close(st.data_fd);
	return 0;
}

int vfmig_v2_data_size(int device, uint64_t *len, struct vfmig_err *err)
{
	struct vfio_device_feature_mig_data_size size = { 0 };
	int ret;

	ret = feature(device, VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIG_DATA_SIZE, &size,
		      sizeof(size));
	if (ret)
		return vfmig_err_set(err, ret, "MIG_DATA_SIZE: %s", strerror(-ret));
	*len = size.stop_copy_length;
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
