// SPDX-License-Identifier: GPL-2.0
/* Migration region access: exact-length I/O and piecewise window copies. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "region.h"

const char *vfmig_region_name(const struct vfmig_region *r)
{
	return r && r->name ? r->name : "device";
}

int vfmig_region_read(const struct vfmig_region *r, void *buf, size_t len,
		      uint64_t off, struct vfmig_err *err)
{
	ssize_t ret;

	ret = r->ops->read(r->ctx, buf, len, off);
	if (ret < 0)
		return vfmig_err_set(err, (int)ret, "region read of %zu bytes at 0x%" PRIx64 ": %s",
				     len, off, strerror((int)-ret));
	if ((size_t)ret != len)
		return vfmig_err_set(err, -EIO, "short region read at 0x%" PRIx64 ": %zd of %zu bytes",
				     off, ret, len);
	return 0;
}

int vfmig_region_write(const struct vfmig_region *r, const void *buf, size_t len,
		       uint64_t off, struct vfmig_err *err)
{
	ssize_t ret;

	ret = r->ops->write(r->ctx, buf, len, off);
	if (ret < 0)
		return vfmig_err_set(err, (int)ret, "region write of %zu bytes at 0x%" PRIx64 ": %s",
				     len, off, strerror((int)-ret));
	if ((size_t)ret != len)
		return vfmig_err_set(err, -EIO, "short region write at 0x%" PRIx64 ": %zd of %zu bytes",
				     off, ret, len);
	return 0;
}

void vfmig_region_release(const struct vfmig_region *r)
{
	if (r->ops->release)
		r->ops->release(r->ctx);
}

const struct vfmig_region_area *vfmig_region_mapped_at(const struct vfmig_region *r,
							uint64_t off)
{
	unsigned int i;

	for (i = 0; i < r->nr_areas && i < VFMIG_MAX_AREAS; i++) {
		const struct vfmig_region_area *a = &r->areas[i];

		if (a->map && off >= a->offset && off - a->offset < a->size)
			return a;
	}
	return NULL;
}

uint64_t vfmig_region_next_mapped(const struct vfmig_region *r, uint64_t off,
				  uint64_t limit)
{
	uint64_t next = limit;
	unsigned int i;

	for (i = 0; i < r->nr_areas && i < VFMIG_MAX_AREAS; i++) {
		const struct vfmig_region_area *a = &r->areas[i];

		if (a->map && a->size && a->offset > off && a->offset < next)
			next = a->offset;
	}
	return next;
}

int vfmig_region_check_window(const struct vfmig_region *r, uint64_t off,
			      uint64_t len, const char *what, struct vfmig_err *err)
{
	if (off > r->size || len > r->size - off)
		return vfmig_err_set(err, -ERANGE,
				     "%s window [0x%" PRIx64 ", +0x%" PRIx64 ") exceeds region size 0x%" PRIx64,
				     what, off, len, r->size);
	return 0;
}

/* Length of the piece at pos: up to the end of its area, or the next area. */
static uint64_t piece_len(const struct vfmig_region *r, uint64_t pos, uint64_t end,
			  const struct vfmig_region_area *a, size_t bounce_len)
{
	uint64_t stop;

	if (a) {
		stop = a->offset + a->size;
		return (stop < end ? stop : end) - pos;
	}
	stop = vfmig_region_next_mapped(r, pos, end);
	if (stop - pos > bounce_len)
		return bounce_len;
	return stop - pos;
}

/* A trapped piece being read into a fill sink: where the next bytes come from. */
struct region_fill {
	const struct vfmig_region *r;
	uint64_t pos;
};

static int region_fill(void *ctx, void *dst, size_t len, struct vfmig_err *err)
{
	struct region_fill *f = ctx;
	int ret = vfmig_region_read(f->r, dst, len, f->pos, err);

	if (!ret)
		f->pos += len;
	return ret;
}

int vfmig_region_copy_out(const struct vfmig_region *r, uint64_t off, uint64_t len,
			  vfmig_sink_fn sink, vfmig_sink_fill_fn sink_fill, void *opaque,
			  void *bounce, size_t bounce_len, struct vfmig_err *err)
{
	uint64_t pos = off, end;
	int ret;

	ret = vfmig_region_check_window(r, off, len, "read", err);
	if (ret)
		return ret;
	if (!bounce_len)
		return vfmig_err_set(err, -EINVAL, "no bounce buffer");
	end = off + len;
	while (pos < end) {
		const struct vfmig_region_area *a = vfmig_region_mapped_at(r, pos);
		uint64_t n = piece_len(r, pos, end, a, bounce_len);

		if (a) {
			ret = sink(opaque, (const uint8_t *)a->map + (pos - a->offset), n, err);
		} else if (sink_fill) {
			struct region_fill f = { r, pos };

			ret = sink_fill(opaque, n, region_fill, &f, err);
		} else {
			ret = vfmig_region_read(r, bounce, n, pos, err);
			if (!ret)
				ret = sink(opaque, bounce, n, err);
		}
		if (ret)
			return ret;
		pos += n;
	}
	return 0;
}

int vfmig_region_copy_in(const struct vfmig_region *r, uint64_t off, uint64_t len,
			 vfmig_source_fn src, void *opaque,
			 void *bounce, size_t bounce_len, struct vfmig_err *err)
{
	uint64_t pos = off, end;
	int ret;

	ret = vfmig_region_check_window(r, off, len, "write", err);
	if (ret)
		return ret;
	if (!bounce_len)
		return vfmig_err_set(err, -EINVAL, "no bounce buffer");
	end = off + len;
	while (pos < end) {
		const struct vfmig_region_area *a = vfmig_region_mapped_at(r, pos);
		uint64_t n = piece_len(r, pos, end, a, bounce_len);

		if (a) {
			ret = src(opaque, (uint8_t *)a->map + (pos - a->offset), n, err);
		} else {
			ret = src(opaque, bounce, n, err);
			if (!ret)
				ret = vfmig_region_write(r, bounce, n, pos, err);
		}
		if (ret)
			return ret;
		pos += n;
	}
	return 0;
}
