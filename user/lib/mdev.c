// SPDX-License-Identifier: GPL-2.0
/*
 * mdev management through sysfs, the interface mdevctl uses too: types under
 * the parent's mdev_supported_types/, devices under /sys/bus/mdev/devices/.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdev.h"

int vfmig_sysfs_read(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int vfmig_sysfs_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	if (close(fd))
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

void vfmig_copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strnlen(src, len - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int vfmig_uuid_valid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (strlen(s) != VFMIG_UUID_LEN)
		return -EINVAL;
	for (i = 0; i < VFMIG_UUID_LEN; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	}
	return 0;
}

bool vfmig_is_uuid(const char *s)
{
	return s && !vfmig_uuid_valid(s);
}

static int types_dir(char *buf, size_t len)
{
	if (snprintf(buf, len, "%s/mdev_supported_types", VFMIG_SYSFS_PARENT) >= (int)len)
		return -ENAMETOOLONG;
	return access(buf, F_OK) ? -ENODEV : 0;
}

static void read_attr(const char *dir, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];

	if (VFMIG_FMT_OVERFLOW(path, "%s/%s", dir, name) ||
	    vfmig_sysfs_read(path, buf, len))
		buf[0] = '\0';
}

int vfmig_mdev_types(struct vfmig_ctx *ctx, struct vfmig_mdev_type *types, int max)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	char dir[PATH_MAX], sub[PATH_MAX], num[32];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (types_dir(dir, sizeof(dir)))
		return vfmig_err_set(err, -ENODEV, "mdev types: %s missing (is the vfmig module loaded?)",
				     dir);
	d = opendir(dir);
	if (!d)
		return vfmig_err_set(err, -errno, "mdev types: %s: %s", dir, strerror(errno));
	while ((de = readdir(d))) {
		struct vfmig_mdev_type *t;

		if (de->d_name[0] == '.')
			continue;
		if (n >= max) {
			n++;
			continue;
		}
		t = &types[n++];
		vfmig_copy_str(t->id, sizeof(t->id), de->d_name);
		if (VFMIG_FMT_OVERFLOW(sub, "%s/%s", dir, de->d_name))
			continue;
		read_attr(sub, "name", t->name, sizeof(t->name));
		read_attr(sub, "description", t->description, sizeof(t->description));
		read_attr(sub, "device_api", t->device_api, sizeof(t->device_api));
		read_attr(sub, "available_instances", num, sizeof(num));
		t->available = (unsigned int)strtoul(num, NULL, 10);
	}
	closedir(d);
	return n;
}

static int generate_uuid(char out[VFMIG_UUID_LEN + 1])
{
	char buf[64];
	int ret;

	ret = vfmig_sysfs_read("/proc/sys/kernel/random/uuid", buf, sizeof(buf));
	if (ret)
		return ret;
	if (vfmig_uuid_valid(buf))
		return -EIO;
	memcpy(out, buf, VFMIG_UUID_LEN + 1);
	return 0;
}

int vfmig_mdev_create(struct vfmig_ctx *ctx, const char *type, const char *uuid,
		      char out[VFMIG_UUID_LEN + 1])
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	char dir[PATH_MAX], path[PATH_MAX];
	int ret;

	/* A type is one name in the types folder: no path out of it. */
	if (!*type || strchr(type, '/') || !strcmp(type, ".") || !strcmp(type, ".."))
		return vfmig_err_set(err, -EINVAL, "mdev create: '%s' is not an mdev type name",
				     type);
	if (types_dir(dir, sizeof(dir)))
		return vfmig_err_set(err, -ENODEV, "mdev create: %s missing (is the vfmig module loaded?)",
				     dir);
	if (uuid && *uuid) {
		if (vfmig_uuid_valid(uuid))
			return vfmig_err_set(err, -EINVAL, "mdev create: '%s' is not a UUID", uuid);
		memcpy(out, uuid, VFMIG_UUID_LEN + 1);
	} else if ((ret = generate_uuid(out))) {
		return vfmig_err_set(err, ret, "mdev create: cannot generate a UUID: %s",
				     strerror(-ret));
	}
	if (VFMIG_FMT_OVERFLOW(path, "%s/%s%s/create", dir,
			       strncmp(type, "vfmig-", 6) ? "vfmig-" : "", type) ||
	    access(path, F_OK))
		return vfmig_err_set(err, -ENOENT, "mdev create: no mdev type '%s' (see 'vfmig mdev types')",
				     type);
	ret = vfmig_sysfs_write(path, out);
	if (ret)
		return vfmig_err_set(err, ret, "mdev create %s of type %s: %s%s", out, type,
				     strerror(-ret),
				     ret == -EUSERS ? " (no instances available)" :
				     ret == -EEXIST ? " (a device with this UUID exists)" : "");
	return 0;
}

int vfmig_mdev_remove(struct vfmig_ctx *ctx, const char *uuid)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	char path[PATH_MAX];
	int ret;

	if (vfmig_uuid_valid(uuid))
		return vfmig_err_set(err, -EINVAL, "mdev remove: '%s' is not a UUID", uuid);
	(void)VFMIG_FMT_OVERFLOW(path, "%s/%s/remove", VFMIG_SYSFS_MDEVS, uuid);
	if (access(path, F_OK))
		return vfmig_err_set(err, -ENODEV, "mdev remove %s: no such device", uuid);
	ret = vfmig_sysfs_write(path, "1");
	if (ret)
		return vfmig_err_set(err, ret, "mdev remove %s: %s", uuid, strerror(-ret));
	return 0;
}

int vfmig_mdev_list(struct vfmig_ctx *ctx, struct vfmig_mdev *devs, int max)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	char path[PATH_MAX], link[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	d = opendir(VFMIG_SYSFS_MDEVS);
	if (!d) {
		if (errno == ENOENT)
			return 0;	/* mdev not loaded: no devices */
		return vfmig_err_set(err, -errno, "mdev list: %s: %s",
				     VFMIG_SYSFS_MDEVS, strerror(errno));
	}
	while ((de = readdir(d))) {
		const char *base;
		ssize_t len;

		if (vfmig_uuid_valid(de->d_name))
			continue;
		if (VFMIG_FMT_OVERFLOW(path, "%s/%s/mdev_type", VFMIG_SYSFS_MDEVS, de->d_name))
			continue;
		len = readlink(path, link, sizeof(link) - 1);
		if (len < 0)
			continue;
		link[len] = '\0';
		base = strrchr(link, '/');
		base = base ? base + 1 : link;
		if (strncmp(base, "vfmig-", 6))
			continue;	/* another driver's device */
		if (n < max) {
			vfmig_copy_str(devs[n].uuid, sizeof(devs[n].uuid), de->d_name);
			vfmig_copy_str(devs[n].type, sizeof(devs[n].type), base);
		}
		n++;
	}
	closedir(d);
	return n;
}

/* A knob path from a caller's UUID and name: nothing outside the device's vfmig/ folder. */
static int knob_args_valid(const char *uuid, const char *name, struct vfmig_err *err)
{
	if (vfmig_uuid_valid(uuid))
		return vfmig_err_set(err, -EINVAL, "'%s' is not a device UUID", uuid);
	if (!*name || strchr(name, '/') || name[0] == '.')
		return vfmig_err_set(err, -EINVAL, "device %s: '%s' is not a knob name", uuid, name);
	return 0;
}

int vfmig_knob_read(const char *uuid, const char *name, char *buf, size_t len,
		    struct vfmig_err *err)
{
	char path[PATH_MAX];
	int ret;

	ret = knob_args_valid(uuid, name, err);
	if (ret)
		return ret;
	if (VFMIG_FMT_OVERFLOW(path, "%s/%s/vfmig/%s", VFMIG_SYSFS_MDEVS, uuid, name))
		return vfmig_err_set(err, -ENAMETOOLONG, "device %s: knob name too long", uuid);
	ret = vfmig_sysfs_read(path, buf, len);
	if (ret)
		return vfmig_err_set(err, ret, "device %s: read %s: %s", uuid, name,
				     strerror(-ret));
	return 0;
}

int vfmig_knob_write(const char *uuid, const char *name, const char *value,
		     struct vfmig_err *err)
{
	char path[PATH_MAX];
	int ret;

	ret = knob_args_valid(uuid, name, err);
	if (ret)
		return ret;
	if (VFMIG_FMT_OVERFLOW(path, "%s/%s/vfmig/%s", VFMIG_SYSFS_MDEVS, uuid, name))
		return vfmig_err_set(err, -ENAMETOOLONG, "device %s: knob name too long", uuid);
	ret = vfmig_sysfs_write(path, value);
	if (ret)
		return vfmig_err_set(err, ret, "device %s: set %s=%s: %s%s", uuid, name, value,
				     strerror(-ret),
				     ret == -EBUSY ? " (device is open)" : "");
	return 0;
}

int vfmig_mdev_get_attr(struct vfmig_ctx *ctx, const char *uuid, const char *name, char *buf,
			size_t len)
{
	return vfmig_knob_read(uuid, name, buf, len, vfmig_ctx_begin(ctx));
}

int vfmig_mdev_set_attr(struct vfmig_ctx *ctx, const char *uuid, const char *name,
			const char *value)
{
	return vfmig_knob_write(uuid, name, value, vfmig_ctx_begin(ctx));
}
