/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The VFIO migration protocol v2 device as a savevm handler, with the
 * contract of v1dev.h.
 *
 * Save side mirrors QEMU 8+'s v2 client: a live setup enters PRE_COPY when
 * the device offers it (6.2+ kernels) and pre-copy rounds read the saving
 * file as far as VFIO_MIG_GET_PRECOPY_INFO says; without PRE_COPY the
 * device keeps running and reports nothing pending, so everything goes in
 * stop-copy.  Offline, setup stops the device first.  complete enters
 * STOP_COPY, reads the file to its end and stops (STOP).  A failed or
 * cancelled save returns the device to RUNNING, by VFIO_DEVICE_RESET from
 * ERROR.  Load side enters RESUMING, writes the data into the resuming file
 * and leaves the device in RESUMING: vfmig_v2dev_start() goes to RUNNING
 * through STOP, which the kernel allows only with the whole state in.
 *
 * The stream is the one v1dev writes: each read of the saving file is one
 * DATA blob.  Both carry the same device payload, so either loader takes
 * either stream; the section version says which protocol saved it.
 */
#ifndef VFMIG_V2DEV_H
#define VFMIG_V2DEV_H

#include <stddef.h>
#include <stdint.h>

#include "errbuf.h"
#include "savevm.h"
#include "v2.h"
#include "v1dev.h"

#define VFMIG_V2DEV_VERSION		2u
#define VFMIG_V2DEV_BOUNCE_DEFAULT	(1u << 20)	/* QEMU's default buffer */

struct vfmig_v2dev_opts {
	size_t bounce_size;	/* bytes per read()/write() of the data file; 0 = 1 MiB */
	const struct vfmig_v1dev_config_ops *config;	/* may be NULL */
};

struct vfmig_v2dev;

extern const struct vfmig_savevm_handlers vfmig_v2dev_handlers;

/*
 * ops/opaque: the device (vfmig_v2_vfio_ops and its struct vfmig_vfio_dev,
 * both kept); name: for errors, kept; flags: VFIO_MIGRATION_* from
 * vfmig_v2_probe().
 */
struct vfmig_v2dev *vfmig_v2dev_new(const struct vfmig_v2_ops *ops, void *opaque,
				    const char *name, uint64_t flags,
				    const struct vfmig_v2dev_opts *o, struct vfmig_err *err);
void vfmig_v2dev_free(struct vfmig_v2dev *dev);
int vfmig_v2dev_register(struct vfmig_savevm *sv, struct vfmig_v2dev *dev,
			 const char *idstr, uint32_t instance, struct vfmig_err *err);
/* After a successful load: RESUMING -> STOP -> RUNNING. */
int vfmig_v2dev_start(struct vfmig_v2dev *dev, struct vfmig_err *err);
/* Back to RUNNING from any state, ERROR by VFIO_DEVICE_RESET. */
int vfmig_v2dev_restart(struct vfmig_v2dev *dev, struct vfmig_err *err);
/*
 * After a save, even a completed one: back to the state it began in
 * (RUNNING, or STOP), the same way.
 */
int vfmig_v2dev_restore(struct vfmig_v2dev *dev, struct vfmig_err *err);
/* Any state but ERROR -> STOP. */
int vfmig_v2dev_stop(struct vfmig_v2dev *dev, struct vfmig_err *err);
/* After a failed save: the device is back in the state it began in; *was_running says which. */
bool vfmig_v2dev_restored(struct vfmig_v2dev *dev, bool *was_running);
const struct vfmig_v1dev_counters *vfmig_v2dev_counters(const struct vfmig_v2dev *dev);
/* DATA bytes that went by splice(2) instead of read/write (tests, stats). */
uint64_t vfmig_v2dev_spliced(const struct vfmig_v2dev *dev);

#endif /* VFMIG_V2DEV_H */
