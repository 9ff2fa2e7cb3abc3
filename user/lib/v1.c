// SPDX-License-Identifier: GPL-2.0
/* VFIO migration protocol v1 client: header fields, state changes, chunks. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "v1.h"

const char *vfmig_v1_state_name(uint32_t state)
{
	static const char *const names[8] = {
		[0] = "stop",
		[1] = "running",
		[2] = "stop-and-copy",
		[3] = "pre-copy",
		[4] = "resuming",
		[5] = "invalid (resuming|running)",
		[6] = "error",
		[7] = "invalid (resuming|saving|running)",
	};

	return names[state & VFMIG_V1_STATE_MASK];
}

/* Native-width accessors: one read or write per field, never split. */
static int get_field(const struct vfmig_region *r, void *val, size_t width,
		     uint64_t off, const char *field, struct vfmig_err *err)
{
	int ret = vfmig_region_read(r, val, width, off, err);

	if (ret)
		vfmig_err_prefix(err, "read %s: ", field);
	return ret;
}

static int put_field(const struct vfmig_region *r, const void *val, size_t width,
		     uint64_t off, const char *field, struct vfmig_err *err)
{
	int ret = vfmig_region_write(r, val, width, off, err);

	if (ret)
		vfmig_err_prefix(err, "write %s: ", field);
	return ret;
}

int vfmig_v1_get_state(const struct vfmig_region *r, uint32_t *state, struct vfmig_err *err)
{
	return get_field(r, state, sizeof(*state), VFMIG_V1_OFF_DEVICE_STATE,
			 "device_state", err);
}

int vfmig_v1_put_state(const struct vfmig_region *r, uint32_t state, struct vfmig_err *err)
{
	return put_field(r, &state, sizeof(state), VFMIG_V1_OFF_DEVICE_STATE,
			 "device_state", err);
}

int vfmig_v1_get_pending(const struct vfmig_region *r, uint64_t *pending, struct vfmig_err *err)
{
	return get_field(r, pending, sizeof(*pending), VFMIG_V1_OFF_PENDING_BYTES,
			 "pending_bytes", err);
}

int vfmig_v1_get_data_offset(const struct vfmig_region *r, uint64_t *off, struct vfmig_err *err)
{
	return get_field(r, off, sizeof(*off), VFMIG_V1_OFF_DATA_OFFSET, "data_offset", err);
}

int vfmig_v1_get_data_size(const struct vfmig_region *r, uint64_t *size, struct vfmig_err *err)
{
	return get_field(r, size, sizeof(*size), VFMIG_V1_OFF_DATA_SIZE, "data_size", err);
}

int vfmig_v1_put_data_size(const struct vfmig_region *r, uint64_t size, struct vfmig_err *err)
{
	return put_field(r, &size, sizeof(size), VFMIG_V1_OFF_DATA_SIZE, "data_size", err);
}

int vfmig_v1_set_state(const struct vfmig_region *r, uint32_t mask, uint32_t value,
		       uint32_t *result, struct vfmig_err *err)
{
	struct vfmig_err scratch;
	uint32_t old, new, now;
	int ret;

	ret = vfmig_v1_get_state(r, &old, err);
	if (ret)
		return ret;
	if (result)
		*result = old;
	/* Reserved bits 3-31 survive because they are in old and in mask. */
	new = (old & mask) | value;
	if (!VFMIG_V1_STATE_VALID(new))
		return vfmig_err_set(err, -EINVAL,
				     "refusing invalid device_state 0x%x (%s) from 0x%x (%s)",
				     new, vfmig_v1_state_name(new), old, vfmig_v1_state_name(old));
	/* Always write, even when new == old: QEMU does and drivers must accept it. */
	vfmig_err_clear(&scratch);
	ret = vfmig_v1_put_state(r, new, &scratch);
	if (!ret) {
		if (result)
			*result = new;
		return 0;
	}
	vfmig_err_set(err, ret, "transition %s -> %s failed: %s",
		      vfmig_v1_state_name(old), vfmig_v1_state_name(new), scratch.msg);
	vfmig_err_clear(&scratch);
	if (vfmig_v1_get_state(r, &now, &scratch)) {
		vfmig_err_append(err, "re-reading device_state also failed: %s", scratch.msg);
		if (result)
			*result = VFMIG_V1_STATE_ERROR;
		return ret;
	}
	if (result)
		*result = now;
	if (VFMIG_V1_STATE_IS_ERROR(now))
		vfmig_err_append(err, "device is now in the error state (0x%x) and needs a reset", now);
	else
		vfmig_err_append(err, "device remains in %s (0x%x)", vfmig_v1_state_name(now), now);
	return ret;
}

int vfmig_v1_stage_chunk(const struct vfmig_region *r, struct vfmig_v1_window *win,
			 struct vfmig_err *err)
{
	int ret;

	ret = vfmig_v1_get_data_offset(r, &win->offset, err);
	if (!ret)
		ret = vfmig_v1_get_data_size(r, &win->size, err);
	if (ret)
		return ret;
	/* The data section always follows the header, so offset 0..31 is a device bug. */
	if (win->offset < sizeof(struct vfmig_v1_info))
		return vfmig_err_set(err, -EPROTO,
				     "device reported data_offset 0x%" PRIx64 " inside the v1 header",
				     win->offset);
	return vfmig_region_check_window(r, win->offset, win->size, "data", err);
}

int vfmig_v1_save_chunk(const struct vfmig_region *r, const struct vfmig_v1_window *win,
			vfmig_sink_fn sink, vfmig_sink_fill_fn sink_fill, void *opaque,
			void *bounce, size_t bounce_len, struct vfmig_err *err)
{
	return vfmig_region_copy_out(r, win->offset, win->size, sink, sink_fill, opaque,
				     bounce, bounce_len, err);
}

int vfmig_v1_load_chunk(const struct vfmig_region *r, uint64_t size,
			vfmig_source_fn src, void *opaque,
			void *bounce, size_t bounce_len, struct vfmig_err *err)
{
	uint64_t done = 0, off, n;
	int ret;

	/* Like QEMU, an empty chunk is streamed but never reaches the device. */
	if (!size)
		return 0;
	do {
		ret = vfmig_v1_get_data_offset(r, &off, err);
		if (ret)
			return ret;
		if (off < sizeof(struct vfmig_v1_info) || off >= r->size)
			return vfmig_err_set(err, -EPROTO,
					     "device reported data_offset 0x%" PRIx64
					     " outside the data section (region size 0x%" PRIx64 ")",
					     off, r->size);
		n = size - done;
		if (n > r->size - off)
			n = r->size - off;
		ret = vfmig_region_copy_in(r, off, n, src, opaque, bounce, bounce_len, err);
		if (!ret)
			ret = vfmig_v1_put_data_size(r, n, err);
		if (ret)
			return ret;
		done += n;
	} while (done < size);
	return 0;
}
