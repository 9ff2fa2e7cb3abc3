// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

int st_load_module(const char *params)
{
	struct vfmig_err err = { 0 };
	char path[PATH_MAX];
	int ret;

	ret = vfmig_module_default_path(path, sizeof(path));
	if (ret) {
		tap_diag("no vfmig.ko (set VFMIG_MODULE): %s", strerror(-ret));
		return ret;
	}
	ret = vfmig_module_load(path, params, NULL, &err);
	if (ret)
		tap_diag("%s", err.msg);
	return ret;
}

int st_create(const char *type, unsigned int n, char uuid[VFMIG_UUID_LEN + 1])
{
	struct vfmig_err err = { 0 };
	char want[VFMIG_UUID_LEN + 1];
	int ret;

	snprintf(want, sizeof(want), "f1e0%04x-0000-4000-8000-%012x", n & 0xffff, n);
	ret = vfmig_mdev_create(type, want, uuid, &err);
	if (ret)
		tap_diag("%s", err.msg);
	return ret;
}

void st_remove_all(void)
{
	struct vfmig_mdev_info devs[64];
	struct vfmig_err err = { 0 };
	int n = vfmig_mdev_list(devs, 64, &err);

	for (int i = 0; i < n && i < 64; i++)
		vfmig_mdev_remove(devs[i].uuid, &err);
}

int st_write(const char *path, const char *value)
{
	return vfmig_sysfs_write(path, value);
}

int st_knob_u64(const char *uuid, const char *name, uint64_t *val)
{
	struct vfmig_err err = { 0 };
	char buf[64], *end;
	int ret = vfmig_knob_read(uuid, name, buf, sizeof(buf), &err);

	if (ret) {
		tap_diag("%s", err.msg);
		return ret;
	}
	errno = 0;
	*val = strtoull(buf, &end, strcmp(name, "checksum") ? 0 : 16);
	return errno || *end ? -EINVAL : 0;
}

int st_available(const char *type, unsigned int *n)
{
	char path[PATH_MAX], buf[32];
	int ret;

	snprintf(path, sizeof(path), "%s/mdev_supported_types/%s/available_instances",
		 VFMIG_SYSFS_PARENT, type);
	ret = vfmig_sysfs_read(path, buf, sizeof(buf));
	if (!ret)
		*n = (unsigned int)strtoul(buf, NULL, 10);
	return ret;
}
