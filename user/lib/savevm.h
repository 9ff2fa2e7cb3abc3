/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Handler registry and migration engine in the style of QEMU's savevm.
 *
 * Each migrating device registers a set of handlers under an id string and
 * instance number.  Saving runs setup (START sections), pre-copy rounds
 * (PART sections) until the convergence logic says the rest fits in the
 * downtime, then complete (END sections), config (FULL sections) and the
 * EOF marker.  Loading dispatches every section to the handler registered
 * for its id string and instance, so several devices share one stream.
 */
#ifndef VFMIG_SAVEVM_H
#define VFMIG_SAVEVM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "cancel.h"
#include "convergence.h"
#include "errbuf.h"
#include "stream.h"
#include "vfmig/libvfmig.h"

#define VFMIG_SAVEVM_MAX_HANDLERS VFMIG_STATS_MAX_DEVICES

/* What a save-side handler gets: where to write and when to stop. */
struct vfmig_save_io {
	struct vfmig_writer *w;
	struct vfmig_err *err;
	vfmig_cancel_t *cancel;	/* may be NULL; non-zero = cancel */
	bool offline;			/* setup: stop the device first */
	uint64_t budget;		/* iterate: bytes allowed this round */
};

/* What a load-side handler gets: the section being loaded. */
struct vfmig_load_io {
	struct vfmig_reader *r;
	struct vfmig_err *err;
	vfmig_cancel_t *cancel;
	const struct vfmig_section *sec;
};

/*
 * Payloads written by handlers must follow the tag grammar of stream.h and
 * end with VFMIG_TAG_END_OF_STATE, so `vfmig inspect` can walk them.  All
 * return 0 or -errno with err set, except iterate (below).
 */
struct vfmig_savevm_handlers {
	/* START payload; start tracking/saving on the source. */
	int (*setup)(void *opaque, struct vfmig_save_io *io);
	/* Bytes still to send (cheap; called once per round). */
	int (*pending)(void *opaque, uint64_t *pending, struct vfmig_save_io *io);
	/* PART payload; 1 = nothing left now, 0 = more to send, <0 error. */
	int (*iterate)(void *opaque, struct vfmig_save_io *io);
	/* END payload: stop the device and drain it. */
	int (*complete)(void *opaque, struct vfmig_save_io *io);
	/* FULL payload (non-iterable state); optional. */
	int (*save_config)(void *opaque, struct vfmig_save_io *io);
	/* After save; failed = return the source to running. */
	int (*cleanup)(void *opaque, bool failed, struct vfmig_err *err);
	/* Before any section is read (called for every handler). */
	int (*load_setup)(void *opaque, struct vfmig_err *err);
	/* One section's payload up to and including END_OF_STATE. */
	int (*load_state)(void *opaque, struct vfmig_load_io *io);
	/* After load (called for every handler whose load_setup ran). */
	int (*load_cleanup)(void *opaque, bool failed, struct vfmig_err *err);
	/* The device's own name (its UUID) for errors the framework writes; optional. */
	const char *(*name)(void *opaque);
};

struct vfmig_savevm;

/* struct vfmig_progress and vfmig_progress_fn: the public header. */

struct vfmig_savevm *vfmig_savevm_new(void);
/* Called after setup, after each pending query and at each phase change. */
void vfmig_savevm_set_progress(struct vfmig_savevm *sv, vfmig_progress_fn fn, void *opaque);
void vfmig_savevm_free(struct vfmig_savevm *sv);
/* Register a device; idstr + instance must be unique, version >= 1. */
int vfmig_savevm_register(struct vfmig_savevm *sv, const char *idstr, uint32_t instance,
			  uint32_t version, const struct vfmig_savevm_handlers *h,
			  void *opaque, struct vfmig_err *err);
/* The same, writing version but loading sections of versions 1..load_version. */
int vfmig_savevm_register_versions(struct vfmig_savevm *sv, const char *idstr,
				   uint32_t instance, uint32_t version, uint32_t load_version,
				   const struct vfmig_savevm_handlers *h, void *opaque,
				   struct vfmig_err *err);

/*
 * Save all registered devices to fd.  opts may be NULL (defaults), clock
 * may be NULL (monotonic), stats may be NULL.  On failure or cancel every device that was set up is
 * returned to running and the cause is in err (-ECANCELED for a cancel).
 */
int vfmig_savevm_save(struct vfmig_savevm *sv, int fd, const struct vfmig_conv_opts *opts,
		      const struct vfmig_clock *clock, vfmig_cancel_t *cancel,
		      struct vfmig_stats *stats, struct vfmig_err *err);
/* The same to an fd or an in-process channel. */
int vfmig_savevm_save_to(struct vfmig_savevm *sv, const struct vfmig_endpoint *ep,
			 const struct vfmig_conv_opts *opts, const struct vfmig_clock *clock,
			 vfmig_cancel_t *cancel, struct vfmig_stats *stats,
			 struct vfmig_err *err);

/*
 * Load a stream from fd into the registered devices.  Every registered
 * device with load handlers must appear in the stream.  Errors name the
 * section and the stream offset.
 */
int vfmig_savevm_load(struct vfmig_savevm *sv, int fd, vfmig_cancel_t *cancel,
		      struct vfmig_err *err);
int vfmig_savevm_load_from(struct vfmig_savevm *sv, const struct vfmig_endpoint *ep,
			   vfmig_cancel_t *cancel, struct vfmig_err *err);

/*
 * Save over several lanes at once (lanes.c): device i goes into lane
 * i % lanes, eps[k] receives lane k's sub-stream, one thread per lane, one
 * convergence decision for the set.  lanes <= 1 is vfmig_savevm_save_to()
 * on eps[0], byte for byte.
 */
int vfmig_savevm_save_lanes(struct vfmig_savevm *sv, const struct vfmig_endpoint *eps,
			    unsigned int lanes, const struct vfmig_conv_opts *opts,
			    const struct vfmig_clock *clock, vfmig_cancel_t *cancel,
			    struct vfmig_stats *stats, struct vfmig_err *err);

/* Where a load finds the lanes after the first, and how it stops them. */
struct vfmig_lane_source {
	/* The endpoint of one more lane (any order; its header says which). */
	int (*open)(void *opaque, unsigned int nth, unsigned int lanes,
		    struct vfmig_endpoint *ep, struct vfmig_err *err);
	/* A lane failed: end every lane's input, so the sender notices too. */
	void (*abort)(void *opaque);
	void *opaque;
};

/*
 * Load a stream whose first lane is at first: one lane is
 * vfmig_savevm_load_from(); more (as its header says) are opened through
 * src and loaded by one thread each.  Every device must come in exactly one
 * lane, complete.  src may be NULL: then a multi-lane stream is refused.
 */
int vfmig_savevm_load_lanes(struct vfmig_savevm *sv, const struct vfmig_endpoint *first,
			    const struct vfmig_lane_source *src, vfmig_cancel_t *cancel,
			    struct vfmig_err *err);

#endif /* VFMIG_SAVEVM_H */
