/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VFIO migration protocol v1 client over a struct vfmig_region.
 *
 * Header fields are accessed at their native width (4-byte device_state,
 * 8-byte u64s) as the v1 rules demand; data windows move in large pieces or
 * straight from the sparse mappings.
 */
#ifndef VFMIG_V1_H
#define VFMIG_V1_H

#include <stdint.h>

#include <vfmig/abi.h>

#include "errbuf.h"
#include "region.h"

#define VFMIG_V1_OFF_DEVICE_STATE	offsetof(struct vfmig_v1_info, device_state)
#define VFMIG_V1_OFF_PENDING_BYTES	offsetof(struct vfmig_v1_info, pending_bytes)
#define VFMIG_V1_OFF_DATA_OFFSET	offsetof(struct vfmig_v1_info, data_offset)
#define VFMIG_V1_OFF_DATA_SIZE		offsetof(struct vfmig_v1_info, data_size)

/* One staged data window as reported by data_offset/data_size. */
struct vfmig_v1_window {
	uint64_t offset;
	uint64_t size;
};

/* "stop", "running", "stop-and-copy", "pre-copy", "resuming", "error", ... */
const char *vfmig_v1_state_name(uint32_t state);

int vfmig_v1_get_state(const struct vfmig_region *r, uint32_t *state, struct vfmig_err *err);
int vfmig_v1_put_state(const struct vfmig_region *r, uint32_t state, struct vfmig_err *err);
int vfmig_v1_get_pending(const struct vfmig_region *r, uint64_t *pending, struct vfmig_err *err);
int vfmig_v1_get_data_offset(const struct vfmig_region *r, uint64_t *off, struct vfmig_err *err);
int vfmig_v1_get_data_size(const struct vfmig_region *r, uint64_t *size, struct vfmig_err *err);
int vfmig_v1_put_data_size(const struct vfmig_region *r, uint64_t size, struct vfmig_err *err);

/*
 * Read-modify-write of device_state: new = (old & mask) | value, refused
 * locally when not VFMIG_V1_STATE_VALID.  On a failed write device_state is
 * re-read; *result (optional) receives the state the device is in
 * afterwards, so callers can test VFMIG_V1_STATE_IS_ERROR(*result).  Returns
 * 0 or -errno (the write's errno).
 */
int vfmig_v1_set_state(const struct vfmig_region *r, uint32_t mask, uint32_t value,
		       uint32_t *result, struct vfmig_err *err);

/* Read data_offset then data_size, and check the window fits the region. */
int vfmig_v1_stage_chunk(const struct vfmig_region *r, struct vfmig_v1_window *win,
			 struct vfmig_err *err);
/*
 * Copy a staged window into sink (bounded by bounce_len per trapped piece;
 * sink_fill, optional, takes trapped pieces without the bounce buffer).
 */
int vfmig_v1_save_chunk(const struct vfmig_region *r, const struct vfmig_v1_window *win,
			vfmig_sink_fn sink, vfmig_sink_fill_fn sink_fill, void *opaque,
			void *bounce, size_t bounce_len, struct vfmig_err *err);
/*
 * Load one chunk of size bytes from src: read data_offset, write the bytes,
 * write data_size; split into several pieces when data_offset + size exceeds
 * the region, as QEMU's load_buffer does.
 */
int vfmig_v1_load_chunk(const struct vfmig_region *r, uint64_t size,
			vfmig_source_fn src, void *opaque,
			void *bounce, size_t bounce_len, struct vfmig_err *err);

#endif /* VFMIG_V1_H */
