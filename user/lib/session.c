// SPDX-License-Identifier: GPL-2.0
/* Migration sessions over real vfmig devices. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pciconf.h"
#include "session.h"
#include "v1.h"

static void dev_close(struct vfmig_session_dev *sd)
{
	if (!sd)
		return;
	vfmig_v1dev_free(sd->v1);
	vfmig_vfio_close(&sd->vfio);
	free(sd);
}

static int dev_open(struct vfmig_session *s, const char *uuid,
		    const struct vfmig_session_opts *o, struct vfmig_err *err)
{
	struct vfmig_v1dev_opts v1o = { 0 };
	struct vfmig_session_dev *sd;
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
	ret = vfmig_vfio_map_migration(&sd->vfio, !(o && o->no_mmap), err);
	if (ret)
		return ret;
	vfmig_pciconf_ops(&sd->config, &sd->vfio);
	v1o.config = &sd->config;
	v1o.bounce_size = o ? o->bounce_size : 0;
	sd->v1 = vfmig_v1dev_new(&sd->vfio.region, &v1o, err);
	if (!sd->v1)
		return err && err->code ? err->code : -ENOMEM;
	return vfmig_v1dev_register(s->sv, sd->v1, VFMIG_SESSION_IDSTR, s->nr - 1, err);
}

int vfmig_session_open(struct vfmig_session **out, char *const *uuids, unsigned int nr,
		       const struct vfmig_session_opts *opts, struct vfmig_err *err)
{
	struct vfmig_session *s;
	int ret = 0;

	*out = NULL;
	if (!nr || nr > VFMIG_SESSION_MAX_DEVICES)
		return vfmig_err_set(err, -EINVAL, "a migration takes 1 to %u devices, not %u",
				     VFMIG_SESSION_MAX_DEVICES, nr);
	s = calloc(1, sizeof(*s));
	if (s)
		s->sv = vfmig_savevm_new();
	if (!s || !s->sv) {
		free(s);
		return vfmig_err_set(err, -ENOMEM, "out of memory");
	}
	for (unsigned int i = 0; i < nr && !ret; i++)
		ret = dev_open(s, uuids[i], opts, err);
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

int vfmig_session_save(struct vfmig_session *s, const struct vfmig_endpoint *to,
		       const struct vfmig_conv_opts *opts, volatile sig_atomic_t *cancel,
		       struct vfmig_stats *stats, struct vfmig_err *err)
{
	return vfmig_savevm_save_to(s->sv, to, opts, NULL, cancel, stats, err);
}

int vfmig_session_load(struct vfmig_session *s, const struct vfmig_endpoint *from,
		       volatile sig_atomic_t *cancel, struct vfmig_err *err)
{
	int ret;

	/* A clean start: nothing left over from a killed or failed run. */
	for (unsigned int i = 0; i < s->nr; i++) {
		struct vfmig_session_dev *sd = s->dev[i];

		ret = vfmig_recover_idle(&sd->vfio, &sd->prep, err);
		if (ret) {
			vfmig_err_prefix(err, "device %s: clean start before the resume (%s): ",
					 sd->vfio.uuid, sd->prep.why);
			return ret;
		}
	}
	ret = vfmig_savevm_load_from(s->sv, from, cancel, err);
	for (unsigned int i = 0; !ret && i < s->nr; i++)
		ret = vfmig_v1dev_start(s->dev[i]->v1, err);
	if (!ret)
		return 0;
	/*
	 * Reset gives a usable, running device; the kernel clears whatever part
	 * of the stream had reached it (device.md, "Lifetimes"), so nothing
	 * half-loaded stays behind.
	 */
	for (unsigned int i = 0; i < s->nr; i++) {
		struct vfmig_err sub = { 0 };

		if (vfmig_vfio_reset(&s->dev[i]->vfio, &sub))
			vfmig_err_append(err, "%s", sub.msg);
	}
	return ret;
}

int vfmig_session_restart(struct vfmig_session *s, struct vfmig_err *err)
{
	int ret = 0;

	for (unsigned int i = 0; i < s->nr; i++) {
		int r = vfmig_v1_set_state(&s->dev[i]->vfio.region,
					   ~(VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RESUMING),
					   VFMIG_V1_STATE_RUNNING, NULL, err);

		if (r && !ret) {
			vfmig_err_prefix(err, "device %s: restart after failed migration: ",
					 s->dev[i]->vfio.uuid);
			ret = r;
		}
	}
	return ret;
}
