/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the VM suites (they run as root inside the test VM). */
#ifndef VFMIG_SELFTEST_UTIL_H
#define VFMIG_SELFTEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "vfmig/libvfmig.h"
#include "kmod.h"
#include "mdev.h"
#include "tap.h"
#include "vfio.h"
#include "vfmig/abi.h"
#include "vfmig/payload.h"

/* Load vfmig.ko (from $VFMIG_MODULE) with @params; 0 or -errno, diag on error. */
/* The suites' library context (created on first use), and its last error. */
struct vfmig_ctx *st_ctx(void);
const char *st_err(void);

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
/*
 * A knob's value for comparisons.  A failed read says so and gives a value
 * no other read gives (UINT64_MAX, then one less each time), so two failed
 * checksum reads never compare equal.
 */
uint64_t st_knob(const char *uuid, const char *name);
int st_available(const char *type, unsigned int *n);
/* The sysfs path of knob @name of device @uuid; 0 or -ENAMETOOLONG. */
int st_knob_path(char *path, size_t len, const char *uuid, const char *name);
/* Knob write / read (newline stripped) answering 0 or -errno exactly as the kernel did. */
int st_knob_write_raw(const char *uuid, const char *name, const char *value);
int st_knob_read_raw(const char *uuid, const char *name, char *buf, size_t len);
/* A knob's number (the checksum in hex), UINT64_MAX if unreadable. */
uint64_t st_knob_value(const char *uuid, const char *name);


/* A device opened through VFIO, with its migration region's offset. */
#define HDR(f) offsetof(struct vfmig_v1_info, f)

struct dev {
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_vfio_dev v;
	uint64_t base;			/* migration region offset in the fd */
};

/* Create device @n of @type, write the knob/value pairs of @setup, open it. */
int dev_open(struct dev *d, const char *type, unsigned int n, const char *setup[]);
/* Open the existing device d->uuid through VFIO (dev_open without creating). */
int dev_attach(struct dev *d);
/* VFIO_DEVICE_RESET; 0 or -errno. */
int dev_reset(struct dev *d);
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

/* A saved stream: the non-empty chunks of a save in the order they were read. */
struct st_chunk {
	uint64_t size;
	uint8_t *data;
};

struct st_stream {
	struct st_chunk *c;
	unsigned int n, cap;
	uint64_t bytes;
};

/* Append an empty chunk of @size bytes; *data points at it.  0 or -1. */
int st_stream_add(struct st_stream *s, uint64_t size, uint8_t **data);
void st_stream_free(struct st_stream *s);
/*
 * Read one chunk of a save: pending_bytes (into *pending), and when something
 * is pending, data_offset, data_size and the bytes, appended to @s.  *size is
 * the chunk's size (0 when nothing was pending).  0 or -1.
 */
int st_save_chunk(struct dev *d, struct st_stream *s, bool use_mmap, uint64_t *pending,
		  uint64_t *size);
/*
 * Resume @s into @d the way QEMU does: per piece read data_offset, write at
 * most up to the region's end, write data_size.  A destination with a smaller
 * data section than the source therefore gets each chunk in several pieces.
 * Returns the number of data_size writes, or -errno of the first that failed
 * (*failed_at, if not NULL, says which write that was).
 */
long st_resume_split(struct dev *d, const struct st_stream *s, bool use_mmap,
		     unsigned long *failed_at);

/* Read module parameter @name of vfmig as a number; 0 or -errno. */
int st_read_param(const char *name, long *v);

/* Monotonic time in seconds, and a sleep, for the suites' timings. */
double now_s(void);
void sleep_ms(unsigned int ms);

/* A device payload record header starts at @p (include/vfmig/payload.h). */
bool rec_magic_ok(const uint8_t *p);

/*
 * VFIO migration protocol v2 on a device fd.  The build host's uapi header
 * may be 6.1's, which lacks the 6.2+ names: the library's vfio_compat.h is
 * their one home.
 */
#include "vfio_compat.h"
/* VFIO_DEVICE_FEATURE_MIGRATION's flags; 0 or -errno. */
int v2_flags(int devfd, uint64_t *flags);
/* SET the state; *data_fd (if non-NULL) gets the new data file or -1; 0 or -errno. */
int v2_set(int devfd, uint32_t state, int *data_fd);
/* GET the state, 0xdead if refused. */
uint32_t v2_get(int devfd);
/* VFIO_DEVICE_FEATURE_MIG_DATA_SIZE; 0 or -errno. */
int v2_data_size(int devfd, uint64_t *len);
/* VFIO_MIG_GET_PRECOPY_INFO on a data file; 0 or -errno. */
int v2_precopy_info(int datafd, uint64_t *initial, uint64_t *dirty);
/* True on kernels whose VFIO has PRE_COPY (6.2 and later). */
bool v2_kernel_has_pre_copy(void);

#endif /* VFMIG_SELFTEST_UTIL_H */
