/* SPDX-License-Identifier: GPL-2.0 */
/* vfmig mdev management through sysfs: types, create, remove, list, knobs. */
#ifndef VFMIG_MDEV_H
#define VFMIG_MDEV_H

#include <stddef.h>
#include <stdio.h>

#include "errbuf.h"

#define VFMIG_UUID_LEN 36
#define VFMIG_SYSFS_PARENT "/sys/class/vfmig/vfmig"
#define VFMIG_SYSFS_MDEVS "/sys/bus/mdev/devices"

struct vfmig_type_info {
	char id[64];		/* directory name, e.g. "vfmig-small" */
	char name[64];
	char description[256];
	char device_api[32];
	unsigned int available;
};

struct vfmig_mdev_info {
	char uuid[VFMIG_UUID_LEN + 1];
	char type[64];
};

/* Fill up to max types; returns how many or -errno. */
int vfmig_mdev_types(struct vfmig_type_info *types, int max, struct vfmig_err *err);
/*
 * Create a device of @type ("vfmig-small" or "small").  With @uuid NULL or
 * empty a random UUID is generated; the UUID used is written to @out.
 */
int vfmig_mdev_create(const char *type, const char *uuid,
		      char out[VFMIG_UUID_LEN + 1], struct vfmig_err *err);
int vfmig_mdev_remove(const char *uuid, struct vfmig_err *err);
/* vfmig devices only; returns how many (may exceed max) or -errno. */
int vfmig_mdev_list(struct vfmig_mdev_info *devs, int max, struct vfmig_err *err);
/* 0 when @s is a canonical 8-4-4-4-12 hex UUID. */
int vfmig_uuid_valid(const char *s);

/* Per-device knobs under /sys/bus/mdev/devices/<uuid>/vfmig/<name>. */
int vfmig_knob_read(const char *uuid, const char *name, char *buf, size_t len,
		    struct vfmig_err *err);
int vfmig_knob_write(const char *uuid, const char *name, const char *value,
		     struct vfmig_err *err);

/* snprintf into an array; true when the result did not fit. */
#define VFMIG_FMT_OVERFLOW(buf, ...) \
	(snprintf((buf), sizeof(buf), __VA_ARGS__) >= (int)sizeof(buf))
/* Copy a C string into a fixed array, truncating. */
void vfmig_copy_str(char *dst, size_t len, const char *src);

/* Whole-file sysfs helpers: trailing newline stripped on read. */
int vfmig_sysfs_read(const char *path, char *buf, size_t len);
int vfmig_sysfs_write(const char *path, const char *value);

#endif /* VFMIG_MDEV_H */
