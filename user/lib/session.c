// SPDX-License-Identifier: GPL-2.0
/* Migration sessions over real vfmig devices. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "pciconf.h"
#include "session.h"
#include "v1.h"
#include "v2.h"

static void dev_close(struct vfmig_session_dev *sd)
{
	if (!sd)
		return;
	vfmig_v1dev_free(sd->v1);
	vfmig_v2dev_free(sd->v2);
	vfmig_vfio_close(&sd->vfio);
	free(sd);
}

/* VFMIG_OPT_PROTOCOL against what the device offers. */
static int choose_protocol(struct vfmig_session *s, struct vfmig_session_dev *sd,
			   uint64_t *v2_flags, struct vfmig_err *err)
{
	bool v1 = sd->vfio.mig_index >= 0;
	bool v2 = !vfmig_v2_probe(sd->vfio.device, v2_flags);
	enum vfmig_protocol want = s->ctx->protocol;

	if (want == VFMIG_PROTOCOL_AUTO)
		want = v2 ? VFMIG_PROTOCOL_V2 : VFMIG_PROTOCOL_V1;
	if ((want == VFMIG_PROTOCOL_V1 && !v1) || (want == VFMIG_PROTOCOL_V2 && !v2))
		return vfmig_err_set(err, -ENOTSUP,
				     "device %s: does not speak migration protocol %s (it offers %s)",
				     sd->vfio.uuid, vfmig_protocol_name(want),
				     vfmig_protocols_name(v1, v2));
	sd->proto = want;
	return 0;
}

static int dev_open(struct vfmig_session *s, const char *uuid, struct vfmig_err *err)
{
	struct vfmig_v1dev_opts v1o = { 0 };
	struct vfmig_v2dev_opts v2o = { 0 };
	struct vfmig_session_dev *sd;
	uint64_t flags = 0;
	int ret;

	for (unsigned int i = 0; i < s->nr; i++)
		if (!strcmp(s->dev[i]->vfio.uuid, uuid))
			return vfmig_err_set(err, -EINVAL, "device %s is named twice", uuid);
	sd = calloc(1, sizeof(*sd));
	if (!sd)
		return vfmig_err_set(err, -ENOMEM, "device %s: out of memory", uuid);
	ret = vfmig_vfio_open(&sd->vfio, uuid, err);
	if (ret) {
		free(sd);
		return ret;
	}
	s->dev[s->nr++] = sd;
	ret = choose_protocol(s, sd, &flags, err);
	if (ret)
		return ret;
	vfmig_pciconf_ops(&sd->config, &sd->vfio);
	if (sd->proto == VFMIG_PROTOCOL_V2) {
		v2o.config = &sd->config;
		sd->v2 = vfmig_v2dev_new(&vfmig_v2_vfio_ops, &sd->vfio, sd->vfio.uuid, flags, &v2o,
					 err);
		if (!sd->v2)
			return err->code ? err->code : -ENOMEM;
		vfmig_log(s->ctx, VFMIG_LOG_INFO, "device %s: opened as instance %u (protocol v2, %s)",
			  uuid, s->nr - 1, flags & VFIO_MIGRATION_PRE_COPY ?
			  "pre-copy" : "no pre-copy: stop-copy only");
		return vfmig_v2dev_register(s->sv, sd->v2, VFMIG_SESSION_IDSTR, s->nr - 1, err);
	}
	ret = vfmig_vfio_map_migration(&sd->vfio, !s->ctx->no_mmap, err);
	if (ret)
		return ret;
	v1o.config = &sd->config;
	sd->v1 = vfmig_v1dev_new(&sd->vfio.region, &v1o, err);
	if (!sd->v1)
		return err->code ? err->code : -ENOMEM;
	vfmig_log(s->ctx, VFMIG_LOG_INFO, "device %s: opened as instance %u (protocol v1, %s)",
		  uuid, s->nr - 1, s->ctx->no_mmap ? "trapped access only" : "mapped data areas");
	return vfmig_v1dev_register(s->sv, sd->v1, VFMIG_SESSION_IDSTR, s->nr - 1, err);
}

/* Progress goes to the caller's callback, and each change of phase to the log. */
static void on_progress(void *opaque, const struct vfmig_progress *p)
{
	struct vfmig_session *s = opaque;

	if (!s->last_phase || strcmp(s->last_phase, p->phase))
		vfmig_log(s->ctx, VFMIG_LOG_INFO, "save: %s after %" PRIu64 " ms, %" PRIu64
			  " bytes sent, %" PRIu64 " pending", p->phase, p->elapsed_ms,
			  p->transferred, p->pending);
	else
		vfmig_log(s->ctx, VFMIG_LOG_DEBUG, "save: %s round %u: %" PRIu64
			  " bytes sent, %" PRIu64 " pending, %" PRIu64 " bytes/s, downtime ~%"
			  PRIu64 " ms", p->phase, p->iteration, p->transferred, p->pending,
			  p->bandwidth, p->expected_downtime_ms);
	s->last_phase = p->phase;
	if (s->ctx->progress_fn)
		s->ctx->progress_fn(s->ctx->progress_opaque, p);
}

int vfmig_session_open(struct vfmig_ctx *ctx, const char *const *uuids, unsigned int nr,
		       struct vfmig_session **out)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	struct vfmig_session *s;
	int ret = 0;

	*out = NULL;
	if (!nr || nr > VFMIG_MAX_DEVICES)
		return vfmig_err_set(err, -EINVAL, "a migration takes 1 to %u devices, not %u",
				     VFMIG_MAX_DEVICES, nr);
	s = calloc(1, sizeof(*s));
	if (s)
		s->sv = vfmig_savevm_new();
	if (!s || !s->sv) {
		free(s);
		return vfmig_err_set(err, -ENOMEM, "out of memory");
	}
	s->ctx = ctx;
	vfmig_savevm_set_progress(s->sv, on_progress, s);
	for (unsigned int i = 0; i < nr && !ret; i++)
		ret = dev_open(s, uuids[i], err);
	if (ret) {
		vfmig_session_close(s);
		return ret;
	}
	*out = s;
	return 0;
}

void vfmig_session_close(struct vfmig_session *s)
{
	if (!s)
		return;
	for (unsigned int i = 0; i < s->nr; i++)
		dev_close(s->dev[i]);
	vfmig_savevm_free(s->sv);
	free(s);
}

unsigned int vfmig_session_count(const struct vfmig_session *s)
{
	return s->nr;
}

const char *vfmig_session_uuid(const struct vfmig_session *s, unsigned int i)
{
	return i < s->nr ? s->dev[i]->vfio.uuid : NULL;
}

enum vfmig_protocol vfmig_session_protocol(const struct vfmig_session *s, unsigned int i)
{
	return i < s->nr ? s->dev[i]->proto : VFMIG_PROTOCOL_AUTO;
}

const char *vfmig_protocol_name(enum vfmig_protocol p)
{
	switch (p) {
	case VFMIG_PROTOCOL_AUTO:
		return "auto";
	case VFMIG_PROTOCOL_V1:
		return "v1";
	case VFMIG_PROTOCOL_V2:
		return "v2";
	}
	return NULL;
}

unsigned int vfmig_session_lanes(const struct vfmig_session *s)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned int n = s->ctx->parallel;

	if (!n)
		n = cpus > 0 ? (unsigned int)cpus : 1;
	if (n > s->nr)
		n = s->nr;
	if (n > VFMIG_STREAM_MAX_LANES)
		n = VFMIG_STREAM_MAX_LANES;
	return n ? n : 1;
}

int vfmig_session_save_to(struct vfmig_session *s, const struct vfmig_endpoint *to,
			  struct vfmig_err *err)
{
	return vfmig_session_save_lanes(s, to, 1, err);
}

/* Device data the v2 handlers moved by splice(2) so far (0 for v1 devices). */
static uint64_t spliced_bytes(const struct vfmig_session *s)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < s->nr; i++)
		if (s->dev[i]->v2)
			n += vfmig_v2dev_spliced(s->dev[i]->v2);
	return n;
}

/* Whether the v2 data went by splice (tests and users of -v check it). */
static void log_spliced(const struct vfmig_session *s, const char *what, uint64_t before)
{
	for (unsigned int i = 0; i < s->nr; i++)
		if (s->dev[i]->v2) {
			vfmig_log(s->ctx, VFMIG_LOG_INFO, "%s: %" PRIu64 " bytes of device data spliced",
				  what, spliced_bytes(s) - before);
			return;
		}
}

int vfmig_session_save_lanes(struct vfmig_session *s, const struct vfmig_endpoint *to,
			     unsigned int lanes, struct vfmig_err *err)
{
	uint64_t spliced = spliced_bytes(s);
	struct rusage ru;
	int ret;

	s->last_phase = NULL;
	vfmig_log(s->ctx, VFMIG_LOG_INFO, "save: %u device%s, %s, %u lane%s", s->nr,
		  s->nr == 1 ? "" : "s", s->ctx->conv.offline ? "offline" : "live", lanes,
		  lanes == 1 ? "" : "s");
	ret = vfmig_savevm_save_lanes(s->sv, to, lanes, &s->ctx->conv, NULL, &s->ctx->cancel,
				      &s->stats, err);
	/* Peak RSS of this process (KiB on Linux), mapped data sections included. */
	if (!getrusage(RUSAGE_SELF, &ru))
		s->stats.peak_rss_kib = (uint64_t)ru.ru_maxrss;
	s->has_stats = true;
	vfmig_log(s->ctx, VFMIG_LOG_INFO, "save: %s, %" PRIu64 " bytes in %" PRIu64
		  " ms, downtime %" PRIu64 " ms", s->stats.status, s->stats.transferred,
		  s->stats.total_time_ms, s->stats.downtime_ms);
	log_spliced(s, "save", spliced);
	return ret;
}

void vfmig_session_mark_failed(struct vfmig_session *s, const struct vfmig_err *err)
{
	s->stats.status = "failed";
	snprintf(s->stats.error, sizeof(s->stats.error), "%s", err->msg);
}

/* A device left in RESUMING or the error state by a killed run is reset first. */
static int clean_start(struct vfmig_session *s, struct vfmig_err *err)
{
	for (unsigned int i = 0; i < s->nr; i++) {
		struct vfmig_session_dev *sd = s->dev[i];
		struct vfmig_recover_result prep;
		int ret;

		ret = vfmig_recover_idle(&sd->vfio, &prep, err);
		if (ret) {
			vfmig_err_prefix(err, "device %s: clean start before the resume (%s): ",
					 sd->vfio.uuid, prep.why);
			return ret;
		}
		if (prep.action == VFMIG_RECOVER_RESET)
			vfmig_log(s->ctx, VFMIG_LOG_WARNING,
				  "destination %s: %s; reset it before the resume",
				  sd->vfio.uuid, prep.why);
	}
	return 0;
}

int vfmig_session_load_from(struct vfmig_session *s, const struct vfmig_endpoint *from,
			    vfmig_cancel_t *cancel, struct vfmig_err *err)
{
	return vfmig_session_load_lanes(s, from, NULL, cancel, err);
}

/* Each device reset: running, whatever part of a stream had reached it cleared. */
static void vfmig_session_reset(struct vfmig_session *s, struct vfmig_err *err)
{
	vfmig_log(s->ctx, VFMIG_LOG_INFO, "load failed, resetting the devices");
	for (unsigned int i = 0; i < s->nr; i++) {
		struct vfmig_err sub = { 0 };

		if (vfmig_vfio_reset(&s->dev[i]->vfio, &sub))
			vfmig_err_append(err, "%s", sub.msg);
	}
}

int vfmig_session_load_lanes(struct vfmig_session *s, const struct vfmig_endpoint *from,
			     const struct vfmig_lane_source *lanes, vfmig_cancel_t *cancel,
			     struct vfmig_err *err)
{
	uint64_t spliced;
	int ret;

	ret = clean_start(s, err);
	if (ret)
		return ret;
	vfmig_log(s->ctx, VFMIG_LOG_INFO, "load: %u device%s", s->nr, s->nr == 1 ? "" : "s");
	spliced = spliced_bytes(s);
	ret = vfmig_savevm_load_lanes(s->sv, from, lanes, cancel, err);
	if (!ret)
		log_spliced(s, "load", spliced);
	for (unsigned int i = 0; !ret && i < s->nr; i++)
		ret = s->dev[i]->v2 ? vfmig_v2dev_start(s->dev[i]->v2, err) :
		      vfmig_v1dev_start(s->dev[i]->v1, err);
	if (!ret) {
		vfmig_log(s->ctx, VFMIG_LOG_INFO, "load: stream verified, devices running");
		return 0;
	}
	/*
	 * Reset gives a usable, running device; the kernel clears whatever part
	 * of the stream had reached it (device.md, "Lifetimes"), so nothing
	 * half-loaded stays behind.
	 */
	vfmig_session_reset(s, err);
	return ret;
}

/* One source back to RUNNING (@restore false) or to the state its save began in. */
static int restart_one(struct vfmig_session_dev *d, bool restore, struct vfmig_err *err)
{
	if (d->v2)
		return restore ? vfmig_v2dev_restore(d->v2, err) : vfmig_v2dev_restart(d->v2, err);
	if (restore)
		return vfmig_v1dev_restore(d->v1, err);
	return vfmig_v1_set_state(&d->vfio.region,
				  ~(VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RESUMING),
				  VFMIG_V1_STATE_RUNNING, NULL, err);
}

/*
 * Every source as restart_one() puts it.  A device that fails is added to
 * @err (after the cause, which stays first) in its own words.
 */
static int restart_devices(struct vfmig_session *s, bool restore, struct vfmig_err *err)
{
	int ret = 0;

	vfmig_log(s->ctx, VFMIG_LOG_INFO, "restarting the source devices");
	for (unsigned int i = 0; i < s->nr; i++) {
		struct vfmig_err sub = { 0 };
		int r = restart_one(s->dev[i], restore, &sub);

		if (!r)
			continue;
		if (err->code)
			vfmig_err_append(err, "device %s not restarted: %s", s->dev[i]->vfio.uuid,
					 sub.msg);
		else
			vfmig_err_set(err, r, "device %s: restart after failed migration: %s",
				      s->dev[i]->vfio.uuid, sub.msg);
		if (!ret)
			ret = r;
	}
	return ret;
}

int vfmig_session_restore_err(struct vfmig_session *s, struct vfmig_err *err)
{
	return restart_devices(s, true, err);
}

int vfmig_session_stop(struct vfmig_session *s, struct vfmig_err *err)
{
	int ret = 0;

	for (unsigned int i = 0; i < s->nr; i++) {
		struct vfmig_err sub = { 0 };
		int r = s->dev[i]->v2 ? vfmig_v2dev_stop(s->dev[i]->v2, &sub) :
			vfmig_v1_set_state(&s->dev[i]->vfio.region, ~VFMIG_V1_STATE_MASK, 0, NULL,
					   &sub);

		if (r) {
			vfmig_err_append(err, "device %s not stopped: %s", s->dev[i]->vfio.uuid,
					 sub.msg);
			ret = ret ? ret : r;
		}
	}
	return ret;
}

const char *vfmig_session_after_failure(struct vfmig_session *s)
{
	bool all_ran = true;

	for (unsigned int i = 0; i < s->nr; i++) {
		bool ran = true, back = s->dev[i]->v2 ?
			   vfmig_v2dev_restored(s->dev[i]->v2, &ran) :
			   vfmig_v1dev_restored(s->dev[i]->v1, &ran);

		if (!back)
			return "NOT all back as they were (vfmig recover)";
		all_ran &= ran;
	}
	return all_ran ? "running again" : "back as they were (stopped ones stopped)";
}

int vfmig_session_restart(struct vfmig_session *s)
{
	return restart_devices(s, false, vfmig_ctx_begin(s->ctx));
}
