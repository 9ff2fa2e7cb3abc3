/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the VM suites (they run as root inside the test VM). */
#ifndef VFMIG_SELFTEST_UTIL_H
#define VFMIG_SELFTEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "kmod.h"
#include "mdev.h"
#include "tap.h"
#include "vfio.h"
#include "vfmig/abi.h"
#include "vfmig/payload.h"

/* Load vfmig.ko (from $VFMIG_MODULE) with @params; 0 or -errno, diag on error. */
int st_load_module(const char *params);
/* Create a device of @type with a UUID derived from @n; 0 or -errno. */
int st_create(const char *type, unsigned int n, char uuid[VFMIG_UUID_LEN + 1]);
/* Remove every vfmig device left behind. */
void st_remove_all(void);
/* The last test of a suite: remove every device, unload the module. */
int st_test_unload(void);
/* Raw sysfs write returning -errno, for checking what the kernel refuses. */
int st_write(const char *path, const char *value);
/* Read a knob as an unsigned number / hex checksum. */
int st_knob_u64(const char *uuid, const char *name, uint64_t *val);
int st_available(const char *type, unsigned int *n);


/* A device opened through VFIO, with its migration region's offset. */
#define HDR(f) offsetof(struct vfmig_v1_info, f)

struct dev {
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_vfio_dev v;
	uint64_t base;			/* migration region offset in the fd */
};

/* Create device @n of @type, write the knob/value pairs of @setup, open it. */
int dev_open(struct dev *d, const char *type, unsigned int n, const char *setup[]);
void dev_close(struct dev *d);
/* Header field accesses; 0 or -errno. */
int rd32(struct dev *d, uint64_t off, uint32_t *v);
int wr32(struct dev *d, uint64_t off, uint32_t v);
int rd64(struct dev *d, uint64_t off, uint64_t *v);
int wr64(struct dev *d, uint64_t off, uint64_t v);
uint32_t state_of(struct dev *d);	/* 0xdead if unreadable */
int set_state(struct dev *d, uint32_t s);
/* Copy [off, off+len) of the region from or to @buf, through mmap where mapped if asked. */
int xfer(struct dev *d, uint64_t off, uint8_t *buf, uint64_t len, bool use_mmap,
	 bool to_device);

/* Monotonic time in seconds, and a sleep, for the suites' timings. */
double now_s(void);
void sleep_ms(unsigned int ms);

/* A device payload record header starts at @p (include/vfmig/payload.h). */
bool rec_magic_ok(const uint8_t *p);

#endif /* VFMIG_SELFTEST_UTIL_H */
