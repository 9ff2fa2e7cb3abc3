/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFIO migration protocol v1 device as a savevm handler.
 *
 * Save side mirrors QEMU 7.2's v1 client: setup sets SAVING (pre-copy 011b
 * from RUNNING), iterate sends chunks, complete goes to stop-and-copy 010b,
 * drains until pending_bytes is 0 and then stops (000b).  A failed or
 * cancelled save returns the device to RUNNING, or to stopped if it was
 * stopped when the save began (never two running copies).  Load side enters RESUMING,
 * loads chunk by chunk and leaves the device in RESUMING: the caller sets
 * RUNNING (vfmig_v1dev_start) once everything else is in place.
 */
#ifndef VFMIG_V1DEV_H
#define VFMIG_V1DEV_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "region.h"
#include "savevm.h"

#define VFMIG_V1DEV_VERSION		1u
/* Both device handlers load sections of protocol v1 (1) and v2 (2). */
#define VFMIG_DEVICE_LOAD_VERSION	2u
#define VFMIG_V1DEV_BOUNCE_DEFAULT	(1u << 20)
#define VFMIG_V1DEV_BOUNCE_MAX		(64u << 20)
#define VFMIG_V1DEV_MAX_CONFIG		4096u

/* Optional non-iterable state (e.g. PCI config) carried in the FULL section. */
struct vfmig_v1dev_config_ops {
	/* Fill at most max bytes of buf, set *len. */
	int (*save)(void *opaque, void *buf, size_t max, size_t *len, struct vfmig_err *err);
	int (*load)(void *opaque, const void *buf, size_t len, struct vfmig_err *err);
	void *opaque;
};

struct vfmig_v1dev_opts {
	size_t bounce_size;	/* trapped-access piece size; 0 = 1 MiB */
	const struct vfmig_v1dev_config_ops *config;	/* may be NULL */
};

struct vfmig_v1dev_counters {
	uint64_t chunks;	/* data chunks saved or loaded */
	uint64_t data_bytes;
	uint64_t empty_chunks;	/* data_size 0 although pending > 0 */
};

struct vfmig_v1dev;

extern const struct vfmig_savevm_handlers vfmig_v1dev_handlers;

/* The region must outlive the device object. */
struct vfmig_v1dev *vfmig_v1dev_new(struct vfmig_region *r, const struct vfmig_v1dev_opts *o,
				    struct vfmig_err *err);
void vfmig_v1dev_free(struct vfmig_v1dev *dev);
int vfmig_v1dev_register(struct vfmig_savevm *sv, struct vfmig_v1dev *dev,
			 const char *idstr, uint32_t instance, struct vfmig_err *err);
/*
 * After a save, even a completed one: back to the state it began in
 * (RUNNING, or stopped), SAVING cleared.
 */
int vfmig_v1dev_restore(struct vfmig_v1dev *dev, struct vfmig_err *err);
/* After a failed save: the device is back in that state; *was_running says which. */
bool vfmig_v1dev_restored(struct vfmig_v1dev *dev, bool *was_running);
/* After a successful load: RESUMING -> RUNNING. */
int vfmig_v1dev_start(struct vfmig_v1dev *dev, struct vfmig_err *err);
const struct vfmig_v1dev_counters *vfmig_v1dev_counters(const struct vfmig_v1dev *dev);

#endif /* VFMIG_V1DEV_H */
