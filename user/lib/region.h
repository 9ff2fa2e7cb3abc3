/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One device's migration region, abstracted so the same protocol code drives
 * a real VFIO device fd or an in-process fake.
 *
 * Offsets are relative to the start of the migration region.  Areas are the
 * sparse-mmap windows; an area with map == NULL is known but not mapped, so
 * its bytes go through ops like any trapped part.
 */
#ifndef VFMIG_REGION_H
#define VFMIG_REGION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errbuf.h"
#include "vfmig/abi.h"


struct vfmig_region_area {
	uint64_t offset;
	uint64_t size;
	void *map;		/* NULL if not mapped */
};

struct vfmig_region_ops {
	/* offsets are relative to the start of the migration region; return bytes or -errno */
	ssize_t (*read)(void *ctx, void *buf, size_t len, uint64_t off);
	ssize_t (*write)(void *ctx, const void *buf, size_t len, uint64_t off);
	/*
	 * Optional: let the mapped areas' pages go from this process (they
	 * fault back in on the next touch), so a migration of many devices
	 * holds the windows of the ones it is moving, not of all of them.
	 */
	void (*release)(void *ctx);
};

struct vfmig_region {
	const struct vfmig_region_ops *ops;
	void *ctx;
	uint64_t size;
	unsigned int nr_areas;
	struct vfmig_region_area areas[VFMIG_MAX_AREAS];
	const char *name;	/* device name for messages */
};

/* Data sink/source used to move a data window to or from a stream. */
typedef int (*vfmig_sink_fn)(void *opaque, const void *buf, size_t len,
			     struct vfmig_err *err);
typedef int (*vfmig_source_fn)(void *opaque, void *buf, size_t len,
			       struct vfmig_err *err);
/*
 * A sink that takes len bytes by having fill(fill_ctx, dst, n) write them
 * into its own memory, in pieces it chooses (fill is called with
 * consecutive pieces): trapped windows are then read straight into the
 * consumer's buffer instead of through the bounce buffer.
 */
typedef int (*vfmig_fill_fn)(void *fill_ctx, void *dst, size_t len, struct vfmig_err *err);
typedef int (*vfmig_sink_fill_fn)(void *opaque, size_t len, vfmig_fill_fn fill, void *fill_ctx,
				  struct vfmig_err *err);

const char *vfmig_region_name(const struct vfmig_region *r);

/* Exactly len bytes through ops; a short transfer is an error.  0 or -errno. */
int vfmig_region_read(const struct vfmig_region *r, void *buf, size_t len,
		      uint64_t off, struct vfmig_err *err);
int vfmig_region_write(const struct vfmig_region *r, const void *buf, size_t len,
		       uint64_t off, struct vfmig_err *err);

/* Drop the mapped areas' pages from this process (ops->release), if any. */
void vfmig_region_release(const struct vfmig_region *r);

/* Mapped area containing off, or NULL. */
const struct vfmig_region_area *vfmig_region_mapped_at(const struct vfmig_region *r,
							uint64_t off);
/* Start of the first mapped area beyond off, or limit if none is below it. */
uint64_t vfmig_region_next_mapped(const struct vfmig_region *r, uint64_t off,
				  uint64_t limit);

/* Check that [off, off + len) lies inside the region (overflow safe). */
int vfmig_region_check_window(const struct vfmig_region *r, uint64_t off,
			      uint64_t len, const char *what, struct vfmig_err *err);

/*
 * Move [off, off + len) of the region to a sink, piece by piece: memcpy-free
 * hand-off straight from a mapping where the window is mapped, otherwise
 * region reads of up to bounce_len bytes, through the bounce buffer or, if
 * sink_fill is given, straight into the sink's memory.
 */
int vfmig_region_copy_out(const struct vfmig_region *r, uint64_t off, uint64_t len,
			  vfmig_sink_fn sink, vfmig_sink_fill_fn sink_fill, void *opaque,
			  void *bounce, size_t bounce_len, struct vfmig_err *err);
/* The reverse: fill [off, off + len) from a source. */
int vfmig_region_copy_in(const struct vfmig_region *r, uint64_t off, uint64_t len,
			 vfmig_source_fn src, void *opaque,
			 void *bounce, size_t bounce_len, struct vfmig_err *err);

#endif /* VFMIG_REGION_H */
