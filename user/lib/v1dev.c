// SPDX-License-Identifier: GPL-2.0
/* VFIO v1 device handler for the savevm engine. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "v1.h"
#include "devsection.h"
#include "v1dev.h"

struct vfmig_v1dev {
	struct vfmig_region *region;
	const struct vfmig_v1dev_config_ops *config;
	void *bounce;
	size_t bounce_len;
	uint64_t pending;	/* last pending_bytes, the round's target */
	bool touched;		/* save changed device_state: restore on failure */
	bool was_running;	/* what a failed save returns to: RUNNING or stopped */
	bool began;		/* a save read the state it began in */
	struct vfmig_v1dev_counters cnt;
};

struct vfmig_v1dev *vfmig_v1dev_new(struct vfmig_region *r, const struct vfmig_v1dev_opts *o,
				    struct vfmig_err *err)
{
	size_t bounce = o && o->bounce_size ? o->bounce_size : VFMIG_V1DEV_BOUNCE_DEFAULT;
	struct vfmig_v1dev *dev;

	if (!r || !r->ops || !r->ops->read || !r->ops->write) {
		vfmig_err_set(err, -EINVAL, "v1 device: region without access ops");
		return NULL;
	}
	if (bounce > VFMIG_V1DEV_BOUNCE_MAX) {
		vfmig_err_set(err, -EINVAL, "%s: bounce buffer of %zu bytes exceeds %u",
			      vfmig_region_name(r), bounce, VFMIG_V1DEV_BOUNCE_MAX);
		return NULL;
	}
	if (r->size <= sizeof(struct vfmig_v1_info)) {
		vfmig_err_set(err, -EINVAL, "%s: migration region of %" PRIu64
			      " bytes has no room for data", vfmig_region_name(r), r->size);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev)
		dev->bounce = malloc(bounce);
	if (!dev || !dev->bounce) {
		free(dev);
		vfmig_err_set(err, -ENOMEM, "%s: out of memory", vfmig_region_name(r));
		return NULL;
	}
	dev->region = r;
	dev->bounce_len = bounce;
	dev->config = o ? o->config : NULL;
	return dev;
}

void vfmig_v1dev_free(struct vfmig_v1dev *dev)
{
	if (!dev)
		return;
	free(dev->bounce);
	free(dev);
}

const struct vfmig_v1dev_counters *vfmig_v1dev_counters(const struct vfmig_v1dev *dev)
{
	return &dev->cnt;
}

static const char *name(const struct vfmig_v1dev *dev)
{
	return vfmig_region_name(dev->region);
}

/* Prefix the recorded error with the device name and step. */
static int fail(const struct vfmig_v1dev *dev, int ret, const char *step, struct vfmig_err *err)
{
	vfmig_err_prefix(err, "%s: %s: ", name(dev), step);
	return ret;
}

static int set_state(struct vfmig_v1dev *dev, uint32_t mask, uint32_t value,
		     const char *step, struct vfmig_err *err)
{
	int ret = vfmig_v1_set_state(dev->region, mask, value, NULL, err);

	return ret ? fail(dev, ret, step, err) : 0;
}

static int check_cancel(struct vfmig_v1dev *dev, struct vfmig_save_io *io)
{
	if (vfmig_cancel_requested(io->cancel))
		return vfmig_err_set(io->err, -ECANCELED, "%s: cancelled between chunks", name(dev));
	return 0;
}

/* One chunk: stage it, frame it as DATA + size, copy the window. */
static int save_one_chunk(struct vfmig_v1dev *dev, struct vfmig_save_io *io, uint64_t *size)
{
	struct vfmig_v1_window win;
	int ret;

	ret = vfmig_v1_stage_chunk(dev->region, &win, io->err);
	if (ret)
		return fail(dev, ret, "stage chunk", io->err);
	ret = vfmig_stream_put_blob(io->w, VFMIG_TAG_DATA, win.size, io->err);
	if (!ret)
		ret = vfmig_v1_save_chunk(dev->region, &win, vfmig_writer_sink,
					  vfmig_writer_can_fill(io->w) ? vfmig_writer_sink_fill : NULL,
					  io->w, dev->bounce, dev->bounce_len, io->err);
	if (ret)
		return fail(dev, ret, "copy chunk", io->err);
	dev->cnt.chunks++;
	dev->cnt.data_bytes += win.size;
	if (!win.size)
		dev->cnt.empty_chunks++;
	*size = win.size;
	return 0;
}

static int read_pending(struct vfmig_v1dev *dev, uint64_t *pending, struct vfmig_err *err)
{
	int ret = vfmig_v1_get_pending(dev->region, pending, err);

	return ret ? fail(dev, ret, "query pending", err) : 0;
}

static int v1dev_setup(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v1dev *dev = opaque;
	uint32_t old;
	int ret;

	ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_SETUP, io->err);
	if (ret)
		return ret;
	ret = vfmig_v1_get_state(dev->region, &old, io->err);
	if (ret)
		return fail(dev, ret, "read device_state", io->err);
	/* A stopped source (saved before, say) stays stopped whatever happens. */
	dev->was_running = old & VFMIG_V1_STATE_RUNNING;
	dev->began = true;
	dev->touched = true;
	dev->pending = 0;
	if (io->offline) {
		/* Stop first; SAVING then gives stop-and-copy with no pre-copy. */
		ret = set_state(dev, ~VFMIG_V1_STATE_RUNNING, 0, "stop device", io->err);
		if (ret)
			return ret;
	}
	/*
	 * old | SAVING: RUNNING -> pre-copy (011b), STOP -> stop-and-copy (010b).
	 * QEMU passes mask 111b here, which clears reserved bits 3-31; keeping
	 * every bit is what the v1 read-modify-write rule asks for.
	 */
	ret = set_state(dev, ~0u, VFMIG_V1_STATE_SAVING, "start saving", io->err);
	if (ret)
		return ret;
	return vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
}

static int v1dev_pending(void *opaque, uint64_t *pending, struct vfmig_save_io *io)
{
	struct vfmig_v1dev *dev = opaque;
	int ret = read_pending(dev, &dev->pending, io->err);

	*pending = dev->pending;
	return ret;
}

static int v1dev_iterate(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v1dev *dev = opaque;
	uint64_t target = dev->pending, sent = 0, pending, size;
	int ret, done = 0;

	for (;;) {
		ret = check_cancel(dev, io);
		if (!ret)
			ret = read_pending(dev, &pending, io->err);	/* acks the last chunk */
		if (ret)
			return ret;
		if (!pending) {
			done = 1;
			break;
		}
		ret = save_one_chunk(dev, io, &size);
		if (ret)
			return ret;
		sent += size;
		/* An empty chunk means the device has nothing ready now. */
		if (!size || sent >= io->budget || sent >= target)
			break;
	}
	dev->pending = 0;
	vfmig_region_release(dev->region);	/* the next device's turn */
	ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
	return ret ? ret : done;
}

static int v1dev_complete(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v1dev *dev = opaque;
	uint64_t pending, size;
	int ret;

	ret = set_state(dev, ~VFMIG_V1_STATE_RUNNING, VFMIG_V1_STATE_SAVING,
			"enter stop-and-copy", io->err);
	if (!ret)
		ret = read_pending(dev, &pending, io->err);
	while (!ret && pending) {
		ret = check_cancel(dev, io);
		if (!ret)
			ret = save_one_chunk(dev, io, &size);
		if (ret)
			return ret;
		if (!size)
			break;	/* as QEMU: a device with nothing to give is done */
		ret = read_pending(dev, &pending, io->err);
	}
	vfmig_region_release(dev->region);
	if (!ret)
		ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
	if (!ret)
		ret = set_state(dev, ~VFMIG_V1_STATE_SAVING, 0, "stop after stop-and-copy", io->err);
	return ret;
}

static int v1dev_save_config(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v1dev *dev = opaque;

	return vfmig_devsec_save_config(dev->config, name(dev), io);
}

int vfmig_v1dev_restore(struct vfmig_v1dev *dev, struct vfmig_err *err)
{
	return dev->was_running ?
	       set_state(dev, ~(VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RESUMING),
			 VFMIG_V1_STATE_RUNNING, "return source to running", err) :
	       set_state(dev, ~VFMIG_V1_STATE_MASK, 0, "return source to stop", err);
}

bool vfmig_v1dev_restored(struct vfmig_v1dev *dev, bool *was_running)
{
	struct vfmig_err sub = { 0 };
	uint32_t state;

	if (vfmig_v1_get_state(dev->region, &state, &sub))
		return false;
	state &= VFMIG_V1_STATE_MASK;
	*was_running = dev->began ? dev->was_running : state == VFMIG_V1_STATE_RUNNING;
	return state == (*was_running ? VFMIG_V1_STATE_RUNNING : 0);
}

static int v1dev_cleanup(void *opaque, bool failed, struct vfmig_err *err)
{
	struct vfmig_v1dev *dev = opaque;
	bool touched = dev->touched;

	dev->touched = false;
	if (!failed || !touched)
		return 0;
	/* As QEMU's failure notifier, back to RUNNING, unless it was stopped before. */
	return vfmig_v1dev_restore(dev, err);
}

static int v1dev_load_setup(void *opaque, struct vfmig_err *err)
{
	struct vfmig_v1dev *dev = opaque;

	return set_state(dev, ~VFMIG_V1_STATE_MASK, VFMIG_V1_STATE_RESUMING, "enter resuming", err);
}

static int load_data(struct vfmig_v1dev *dev, struct vfmig_load_io *io)
{
	uint64_t size;
	int ret;

	for (;;) {
		ret = vfmig_devsec_next_data(name(dev), io, &size);
		if (ret < 0)
			return ret;
		if (!ret) {
			vfmig_region_release(dev->region);
			return 0;
		}
		ret = vfmig_v1_load_chunk(dev->region, size, vfmig_reader_source, io->r,
					  dev->bounce, dev->bounce_len, io->err);
		if (ret)
			return fail(dev, ret, "load chunk", io->err);
		dev->cnt.chunks++;
		dev->cnt.data_bytes += size;
	}
}

static int v1dev_load_state(void *opaque, struct vfmig_load_io *io)
{
	struct vfmig_v1dev *dev = opaque;

	switch (io->sec->type) {
	case VFMIG_SECTION_START:
		return vfmig_devsec_load_start(name(dev), io);
	case VFMIG_SECTION_FULL:
		return vfmig_devsec_load_config(dev->config, name(dev), io);
	default:
		return load_data(dev, io);
	}
}

int vfmig_v1dev_start(struct vfmig_v1dev *dev, struct vfmig_err *err)
{
	return set_state(dev, ~VFMIG_V1_STATE_MASK, VFMIG_V1_STATE_RUNNING, "start device", err);
}

static const char *v1dev_name(void *opaque)
{
	return name(opaque);
}

const struct vfmig_savevm_handlers vfmig_v1dev_handlers = {
	.setup = v1dev_setup,
	.pending = v1dev_pending,
	.iterate = v1dev_iterate,
	.complete = v1dev_complete,
	.save_config = v1dev_save_config,
	.cleanup = v1dev_cleanup,
	.load_setup = v1dev_load_setup,
	.load_state = v1dev_load_state,
	.name = v1dev_name,
};

int vfmig_v1dev_register(struct vfmig_savevm *sv, struct vfmig_v1dev *dev,
			 const char *idstr, uint32_t instance, struct vfmig_err *err)
{
	/* Writes version 1 (protocol v1), loads a v2 device's stream as well. */
	return vfmig_savevm_register_versions(sv, idstr, instance, VFMIG_V1DEV_VERSION,
					      VFMIG_DEVICE_LOAD_VERSION, &vfmig_v1dev_handlers,
					      dev, err);
}
