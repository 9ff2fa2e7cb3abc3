/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Bringing a device left behind by a killed or failed migration back to a
 * clean start.
 *
 * vfmig_recover() is `vfmig recover`: open the device and bring it to
 * RUNNING, by a device_state write from STOP, RUNNING, pre-copy or
 * stop-and-copy (the memory is kept as it is), by VFIO_DEVICE_RESET from
 * RESUMING, the error state, or when the write is refused.
 *
 * vfmig_recover_idle() is what the engine does before resuming into a
 * destination: a device in RUNNING or STOP is left alone, anything else
 * (a RESUMING left by a killed run on a kernel that keeps it, the error
 * state, a save session) is reset first.
 */
#ifndef VFMIG_RECOVER_H
#define VFMIG_RECOVER_H

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"
#include "errbuf.h"
#include "vfio.h"

enum vfmig_recover_action {
	VFMIG_RECOVER_NONE,	/* already where it should be */
	VFMIG_RECOVER_WRITE,	/* device_state write to RUNNING */
	VFMIG_RECOVER_RESET,	/* VFIO_DEVICE_RESET */
};

struct vfmig_recover_result {
	uint32_t before;	/* device_state found (when before_valid) */
	bool before_valid;	/* false: device_state could not be read */
	enum vfmig_recover_action action;
	char why[160];		/* why a reset was needed, "" otherwise */
	uint32_t after;		/* device_state at the end */
	bool v2;		/* before/after are v2 states (enum vfio_device_mig_state) */
};

/* On an open device whose migration region is set up (vfmig_vfio_map_migration). */
int vfmig_recover_running(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
			  struct vfmig_err *err);
int vfmig_recover_idle(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
		       struct vfmig_err *err);
/* vfmig_recover() (public, libvfmig.h): open, vfmig_recover_running(), close. */
/* "nothing to do", "device_state write", "VFIO_DEVICE_RESET" */
const char *vfmig_recover_action_name(enum vfmig_recover_action a);
/* before/after as text, in the protocol they were read with. */
const char *vfmig_recover_state_name(const struct vfmig_recover_result *res, uint32_t s);

#endif /* VFMIG_RECOVER_H */
