/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A migration session (public: struct vfmig_session of libvfmig.h): the
 * vfmig devices of one save or one resume, opened through VFIO, wrapped as
 * v1 or v2 savevm handlers (VFMIG_OPT_PROTOCOL, per device) and registered
 * in one engine.
 *
 * Devices are registered as "vfmig" instance 0, 1, ... in the order given,
 * so the i-th source device's state goes to the i-th destination device.
 * PCI config space travels in each device's FULL section.
 */
#ifndef VFMIG_SESSION_H
#define VFMIG_SESSION_H

#include <signal.h>
#include <stdbool.h>

#include "cancel.h"
#include "ctx.h"
#include "recover.h"
#include "savevm.h"
#include "v1dev.h"
#include "v2dev.h"
#include "vfio.h"

#define VFMIG_SESSION_IDSTR		"vfmig"

struct vfmig_session_dev {
	struct vfmig_vfio_dev vfio;
	enum vfmig_protocol proto;	/* V1 or V2: which handler below */
	struct vfmig_v1dev *v1;
	struct vfmig_v2dev *v2;
	struct vfmig_v1dev_config_ops config;
};

struct vfmig_session {
	struct vfmig_ctx *ctx;
	unsigned int nr;
	struct vfmig_session_dev *dev[VFMIG_MAX_DEVICES];
	struct vfmig_savevm *sv;
	const char *last_phase;		/* of the running save, for the log */
	bool has_stats;
	struct vfmig_stats stats;	/* of the last save */
};

/*
 * The steps behind the public calls, with the error buffer and the cancel
 * flag given explicitly so that vfmig_migrate() can run a load on its own
 * thread.  Save: on success every device is stopped; on failure or cancel
 * every device runs again.  Load: a clean start (a device in RESUMING or
 * the error state is reset first), the stream, then every device started;
 * on failure every device is reset.
 */
int vfmig_session_save_to(struct vfmig_session *s, const struct vfmig_endpoint *to,
			  struct vfmig_err *err);
int vfmig_session_load_from(struct vfmig_session *s, const struct vfmig_endpoint *from,
			    vfmig_cancel_t *cancel, struct vfmig_err *err);
/*
 * The same over lanes (savevm.h): to[0..lanes-1] on the save side; on the
 * load side from is lane 0 and lanes (may be NULL) finds the others.
 */
int vfmig_session_save_lanes(struct vfmig_session *s, const struct vfmig_endpoint *to,
			     unsigned int lanes, struct vfmig_err *err);
int vfmig_session_load_lanes(struct vfmig_session *s, const struct vfmig_endpoint *from,
			     const struct vfmig_lane_source *lanes, vfmig_cancel_t *cancel,
			     struct vfmig_err *err);
/* Stop every device (a destination whose source runs again); failures appended. */
int vfmig_session_stop(struct vfmig_session *s, struct vfmig_err *err);
/* Lanes for a migrate or send: VFMIG_OPT_PARALLEL (0 = CPUs), capped at the devices. */
unsigned int vfmig_session_lanes(const struct vfmig_session *s);
/*
 * Put stopped sources back as their save found them (RUNNING, or stopped:
 * never two running copies); their state was only read.
 */
int vfmig_session_restore_err(struct vfmig_session *s, struct vfmig_err *err);
/*
 * After a failed save, for its error: "running again", "back as they were
 * (...)" when some were stopped before, or a warning when a device is not.
 */
const char *vfmig_session_after_failure(struct vfmig_session *s);
/* After a save whose outcome changed later (verdict, fsync): record it. */
void vfmig_session_mark_failed(struct vfmig_session *s, const struct vfmig_err *err);

#endif /* VFMIG_SESSION_H */
