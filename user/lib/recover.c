// SPDX-License-Identifier: GPL-2.0
/* Recovery of devices left behind by killed or failed migrations. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "mdev.h"
#include "recover.h"
#include "v1.h"
#include "v2.h"

const char *vfmig_recover_action_name(enum vfmig_recover_action a)
{
	switch (a) {
	case VFMIG_RECOVER_WRITE:
		return "device_state write";
	case VFMIG_RECOVER_RESET:
		return "VFIO_DEVICE_RESET";
	default:
		return "nothing to do";
	}
}

/*
 * A device whose v1 region is not set up (a v2-only device, or one a v2
 * session opened) is recovered through MIG_DEVICE_STATE; the state is the
 * same one either way.
 */
static bool use_v2(const struct vfmig_vfio_dev *d)
{
	return !d->region.ops;
}

const char *vfmig_recover_state_name(const struct vfmig_recover_result *res, uint32_t s)
{
	return res->v2 ? vfmig_v2_state_name(s) : vfmig_v1_state_name(s);
}

static int v2_reset(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
		    struct vfmig_err *err)
{
	int ret;

	res->action = VFMIG_RECOVER_RESET;
	ret = vfmig_vfio_reset(d, err);
	if (!ret)
		ret = vfmig_v2_get_state(d->device, &res->after, err);
	if (ret)
		return ret;
	if (res->after != VFIO_DEVICE_STATE_RUNNING)
		return vfmig_err_set(err, -EIO, "device %s: still %s after VFIO_DEVICE_RESET",
				     d->uuid, vfmig_v2_state_name(res->after));
	return 0;
}

static int v2_read_before(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res)
{
	struct vfmig_err sub;

	memset(res, 0, sizeof(*res));
	res->v2 = true;
	vfmig_err_clear(&sub);
	if (vfmig_v2_get_state(d->device, &res->before, &sub)) {
		snprintf(res->why, sizeof(res->why), "state unreadable (%.100s)", sub.msg);
		return -1;
	}
	res->before_valid = true;
	return 0;
}

/* To RUNNING from any state the core has a path from; ERROR by reset. */
static int v2_running(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
		      struct vfmig_err *err)
{
	struct vfmig_err sub;

	if (v2_read_before(d, res))
		return v2_reset(d, res, err);
	if (res->before == VFIO_DEVICE_STATE_RUNNING) {
		res->after = res->before;
		return 0;
	}
	if (res->before == VFIO_DEVICE_STATE_ERROR ||
	    res->before == VFIO_DEVICE_STATE_RESUMING) {
		snprintf(res->why, sizeof(res->why), "device was in %s",
			 vfmig_v2_state_name(res->before));
		return v2_reset(d, res, err);
	}
	res->action = VFMIG_RECOVER_WRITE;
	vfmig_err_clear(&sub);
	if (vfmig_v2_set_state(d->device, VFIO_DEVICE_STATE_RUNNING, NULL, &sub)) {
		snprintf(res->why, sizeof(res->why), "set refused (%.120s)", sub.msg);
		return v2_reset(d, res, err);
	}
	return vfmig_v2_get_state(d->device, &res->after, err);
}

static int v2_idle(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
		   struct vfmig_err *err)
{
	if (v2_read_before(d, res))
		return v2_reset(d, res, err);
	if (res->before == VFIO_DEVICE_STATE_RUNNING || res->before == VFIO_DEVICE_STATE_STOP ||
	    res->before == VFIO_DEVICE_STATE_RUNNING_P2P) {
		res->after = res->before;
		return 0;
	}
	snprintf(res->why, sizeof(res->why), "device was in %s", vfmig_v2_state_name(res->before));
	return v2_reset(d, res, err);
}

/* Reset, then insist on RUNNING: that is what VFIO_DEVICE_RESET promises. */
static int do_reset(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
		    struct vfmig_err *err)
{
	int ret;

	res->action = VFMIG_RECOVER_RESET;
	ret = vfmig_vfio_reset(d, err);
	if (!ret)
		ret = vfmig_v1_get_state(&d->region, &res->after, err);
	if (ret)
		return ret;
	if ((res->after & VFMIG_V1_STATE_MASK) != VFMIG_V1_STATE_RUNNING)
		return vfmig_err_set(err, -EIO, "device %s: still %s after VFIO_DEVICE_RESET",
				     d->uuid, vfmig_v1_state_name(res->after));
	return 0;
}

static int read_before(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res)
{
	struct vfmig_err sub;

	memset(res, 0, sizeof(*res));
	vfmig_err_clear(&sub);
	if (vfmig_v1_get_state(&d->region, &res->before, &sub)) {
		snprintf(res->why, sizeof(res->why), "device_state unreadable (%.100s)", sub.msg);
		return -1;
	}
	res->before_valid = true;
	return 0;
}

int vfmig_recover_running(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
			  struct vfmig_err *err)
{
	uint32_t s;
	struct vfmig_err sub;
	int ret;

	if (use_v2(d))
		return v2_running(d, res, err);
	if (read_before(d, res))
		return do_reset(d, res, err);
	s = res->before & VFMIG_V1_STATE_MASK;
	if (VFMIG_V1_STATE_IS_ERROR(res->before) || (s & VFMIG_V1_STATE_RESUMING)) {
		snprintf(res->why, sizeof(res->why), "device was in %s",
			 vfmig_v1_state_name(res->before));
		return do_reset(d, res, err);
	}
	/* STOP, RUNNING, pre-copy, stop-and-copy: a write keeps the memory as it is. */
	res->action = VFMIG_RECOVER_WRITE;
	vfmig_err_clear(&sub);
	ret = vfmig_v1_set_state(&d->region, ~(VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RESUMING),
				 VFMIG_V1_STATE_RUNNING, &res->after, &sub);
	if (ret) {
		snprintf(res->why, sizeof(res->why), "write refused (%.120s)", sub.msg);
		return do_reset(d, res, err);
	}
	ret = vfmig_v1_get_state(&d->region, &res->after, err);
	if (!ret && (res->after & VFMIG_V1_STATE_MASK) != VFMIG_V1_STATE_RUNNING)
		ret = vfmig_err_set(err, -EIO, "device %s: still %s after writing RUNNING", d->uuid,
				    vfmig_v1_state_name(res->after));
	return ret;
}

int vfmig_recover_idle(struct vfmig_vfio_dev *d, struct vfmig_recover_result *res,
		       struct vfmig_err *err)
{
	uint32_t s;

	if (use_v2(d))
		return v2_idle(d, res, err);
	if (read_before(d, res))
		return do_reset(d, res, err);
	s = res->before & VFMIG_V1_STATE_MASK;
	if (!VFMIG_V1_STATE_IS_ERROR(res->before) &&
	    (s == VFMIG_V1_STATE_RUNNING || s == VFMIG_V1_STATE_STOP)) {
		res->after = res->before;
		return 0;
	}
	snprintf(res->why, sizeof(res->why), "device was in %s", vfmig_v1_state_name(res->before));
	return do_reset(d, res, err);
}

/*
 * The kernel's word that @uuid holds a verified resume that never ran: its
 * source may run.  A module without the knob, or an unreadable one, says no.
 */
static bool resume_held(const char *uuid)
{
	char v[8];

	return !vfmig_knob_read(uuid, "resume_held", v, sizeof(v), NULL) && v[0] == '1';
}

int vfmig_recover(struct vfmig_ctx *ctx, const char *uuid, char *summary, size_t len)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	struct vfmig_recover_result res = { 0 };
	struct vfmig_vfio_dev d;
	int ret;

	if (!ctx->recover_held && !vfmig_uuid_valid(uuid) && resume_held(uuid))
		return vfmig_err_set(err, -EPERM,
				     "recover: device %s holds a migrated state that never ran "
				     "(its source may be running): not started; --force if that "
				     "source is gone", uuid);
	ret = vfmig_vfio_open(&d, uuid, err);
	/* v1 where the device has the region, else v2 (use_v2). */
	if (!ret && d.mig_index >= 0)
		ret = vfmig_vfio_map_migration(&d, false, err);
	if (!ret)
		ret = vfmig_recover_running(&d, &res, err);
	vfmig_vfio_close(&d);
	if (ret) {
		vfmig_err_prefix(err, "recover: ");
		return ret;
	}
	if (summary && len)
		snprintf(summary, len, "%s -> %s by %s%s%s%s",
			 res.before_valid ? vfmig_recover_state_name(&res, res.before) : "unknown",
			 vfmig_recover_state_name(&res, res.after), vfmig_recover_action_name(res.action),
			 res.why[0] ? " (" : "", res.why, res.why[0] ? ")" : "");
	vfmig_log(ctx, VFMIG_LOG_INFO, "device %s: %s", uuid, summary ? summary : "recovered");
	return 0;
}
