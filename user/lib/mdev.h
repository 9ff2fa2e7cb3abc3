/* SPDX-License-Identifier: GPL-2.0 */
/* vfmig mdev management through sysfs: types, create, remove, list, knobs. */
#ifndef VFMIG_MDEV_H
#define VFMIG_MDEV_H

#include <stddef.h>
#include <stdio.h>

#include "ctx.h"
#include "errbuf.h"

#define VFMIG_SYSFS_PARENT "/sys/class/vfmig/vfmig"
#define VFMIG_SYSFS_MDEVS "/sys/bus/mdev/devices"

/*
 * vfmig_mdev_types/create/remove/list/get_attr/set_attr and the structs
 * they fill are public: libvfmig.h.  What follows is internal.
 */

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
