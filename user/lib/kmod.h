/* SPDX-License-Identifier: GPL-2.0 */
/* Loading and unloading vfmig.ko through libkmod. */
#ifndef VFMIG_KMOD_H
#define VFMIG_KMOD_H

#include <stdbool.h>

#include "errbuf.h"

/*
 * Load the module at @path with @params (may be NULL); with no @path, the
 * vfmig module installed for the running kernel (make install), by name,
 * as modprobe would.  With a @path, its dependencies
 * (modinfo "depends" and "softdep pre:") are loaded by name first through
 * the running kernel's module index.  Already loaded is success, with
 * *was_loaded set when the caller passed it.  0 or -errno.
 */
int vfmig_module_load(const char *path, const char *params, bool *was_loaded,
		      struct vfmig_err *err);
/* Unload vfmig; -EBUSY while a device is open.  Not loaded is success. */
int vfmig_module_unload(struct vfmig_err *err);
/* true when the vfmig module is live in the running kernel. */
bool vfmig_module_is_loaded(void);
/*
 * Where to find vfmig.ko when the caller gives no path: $VFMIG_MODULE, else
 * <top>/build/<uname -r>/vfmig.ko for a program at <top>/user/build/.
 * Writes into buf; 0 or -errno.
 */
int vfmig_module_default_path(char *buf, unsigned int len);

#endif /* VFMIG_KMOD_H */
