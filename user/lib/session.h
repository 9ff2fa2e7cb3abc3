/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A migration session: the vfmig devices of one save or one resume, opened
 * through VFIO, wrapped as v1 savevm handlers and registered in one engine.
 *
 * Devices are registered as "vfmig" instance 0, 1, ... in the order given,
 * so the i-th source device's state goes to the i-th destination device.
 * PCI config space travels in each device's FULL section.
 */
#ifndef VFMIG_SESSION_H
#define VFMIG_SESSION_H

#include <signal.h>
#include <stdbool.h>

#include "recover.h"
#include "savevm.h"
#include "v1dev.h"
#include "vfio.h"

#define VFMIG_SESSION_IDSTR		"vfmig"
#define VFMIG_SESSION_MAX_DEVICES	VFMIG_SAVEVM_MAX_HANDLERS

struct vfmig_session_opts {
	bool no_mmap;		/* move every byte with pread/pwrite */
	size_t bounce_size;	/* trapped-access piece size; 0 = default */
};

struct vfmig_session_dev {
	struct vfmig_vfio_dev vfio;
	struct vfmig_v1dev *v1;
	struct vfmig_v1dev_config_ops config;
	/* Destination: what was done before the resume for a clean start. */
	struct vfmig_recover_result prep;
};

struct vfmig_session {
	unsigned int nr;
	struct vfmig_session_dev *dev[VFMIG_SESSION_MAX_DEVICES];
	struct vfmig_savevm *sv;
};

/* Open and register every device; on failure nothing stays open. */
int vfmig_session_open(struct vfmig_session **out, char *const *uuids, unsigned int nr,
		       const struct vfmig_session_opts *opts, struct vfmig_err *err);
void vfmig_session_close(struct vfmig_session *s);

/*
 * Save (source).  On success every device is stopped, as QEMU leaves a
 * migrated VM; on failure or cancel every device runs again.
 */
int vfmig_session_save(struct vfmig_session *s, const struct vfmig_endpoint *to,
		       const struct vfmig_conv_opts *opts, volatile sig_atomic_t *cancel,
		       struct vfmig_stats *stats, struct vfmig_err *err);
/*
 * Resume (destination): bring every device to a clean start (a device not
 * in RUNNING or STOP, e.g. left in RESUMING or the error state by a killed
 * run, is reset first; dev[i]->prep says what was done), load the stream,
 * then start every device.  On failure each device is reset, so it is
 * usable again and running (the kernel clears what a refused stream had
 * written); err says which section and offset was bad.
 */
int vfmig_session_load(struct vfmig_session *s, const struct vfmig_endpoint *from,
		       volatile sig_atomic_t *cancel, struct vfmig_err *err);
/*
 * Source side, after a save that completed but whose destination failed:
 * put the stopped devices back to RUNNING (their state was only read).
 */
int vfmig_session_restart(struct vfmig_session *s, struct vfmig_err *err);

#endif /* VFMIG_SESSION_H */
