/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the VM suites (they run as root inside the test VM). */
#ifndef VFMIG_SELFTEST_UTIL_H
#define VFMIG_SELFTEST_UTIL_H

#include <stdint.h>

#include "errbuf.h"
#include "kmod.h"
#include "mdev.h"
#include "tap.h"
#include "vfio.h"

/* Load vfmig.ko (from $VFMIG_MODULE) with @params; 0 or -errno, diag on error. */
int st_load_module(const char *params);
/* Create a device of @type with a UUID derived from @n; 0 or -errno. */
int st_create(const char *type, unsigned int n, char uuid[VFMIG_UUID_LEN + 1]);
/* Remove every vfmig device left behind. */
void st_remove_all(void);
/* Raw sysfs write returning -errno, for checking what the kernel refuses. */
int st_write(const char *path, const char *value);
/* Read a knob as an unsigned number / hex checksum. */
int st_knob_u64(const char *uuid, const char *name, uint64_t *val);
int st_available(const char *type, unsigned int *n);

#endif /* VFMIG_SELFTEST_UTIL_H */
