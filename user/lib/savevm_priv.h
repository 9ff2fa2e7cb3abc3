/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The engine's registry and the steps savevm.c shares with the parallel
 * engine of lanes.c (several sub-streams, one worker each).
 */
#ifndef VFMIG_SAVEVM_PRIV_H
#define VFMIG_SAVEVM_PRIV_H

#include <pthread.h>

#include "savevm.h"

struct savevm_entry {
	char idstr[VFMIG_IDSTR_MAX + 1];
	uint32_t instance;
	uint32_t version;		/* written into its sections */
	uint32_t load_version;		/* highest section version it loads */
	uint32_t section_id;		/* save side */
	const struct vfmig_savevm_handlers *h;
	void *opaque;
	bool set_up;			/* save setup ran: needs cleanup */
	bool done;			/* iterate reported nothing left */
	uint64_t pending;
	uint64_t bytes;			/* stream bytes of its sections */
	bool load_set_up;
	bool loaded;			/* at least one section loaded */
	unsigned int seen;		/* section types loaded, bit (1 << type) */
	bool load_id_valid;
	uint32_t load_id;
	int load_lane;			/* lane its sections came in; -1 = none yet */
};

struct vfmig_savevm {
	vfmig_progress_fn progress;
	void *progress_opaque;
	pthread_mutex_t lock;		/* load_lane claims while lanes load */
	unsigned int nr;
	struct savevm_entry e[VFMIG_SAVEVM_MAX_HANDLERS];
};

static inline uint64_t vfmig_ns_to_ms(uint64_t ns)
{
	return ns / 1000000u;
}

/* Progress to the callback, if one is set (transferred: bytes so far, buffered too). */
void vfmig_savevm_report(struct vfmig_savevm *sv, const char *phase, const struct vfmig_conv *c,
			 uint64_t transferred, uint64_t pending, uint64_t t0);
/* A save's options: @opts, or the defaults (kept in @defaults); a downtime limit over the maximum is refused. */
int vfmig_savevm_save_opts(const struct vfmig_conv_opts **opts,
			   struct vfmig_conv_opts *defaults, struct vfmig_err *err);
/* Start of a save: the options' figures into st, every entry's save state forgotten. */
void vfmig_savevm_save_begin(struct vfmig_savevm *sv, const struct vfmig_conv_opts *opts,
			     struct vfmig_stats *st);
/*
 * End of a save whose result is ret (cleanup already done): totals, per-device
 * bytes, status and error into st.
 */
void vfmig_savevm_save_end(struct vfmig_savevm *sv, const struct vfmig_conv *c, uint64_t t0,
			   uint64_t transferred, int ret, struct vfmig_stats *st,
			   struct vfmig_err *err);

/* One section: header, the handler's payload, footer; bytes are accounted. */
int vfmig_savevm_save_section(struct savevm_entry *e, uint8_t type, const char *phase,
			      int (*fn)(void *, struct vfmig_save_io *),
			      struct vfmig_save_io *io);
/* cleanup() of every device that was set up; failed = restart it. */
int vfmig_savevm_cleanup(struct vfmig_savevm *sv, bool failed, struct vfmig_err *err);

/* Load steps: forget the last load, load_setup() all, then per stream or lane. */
void vfmig_savevm_load_reset(struct vfmig_savevm *sv);
int vfmig_savevm_load_setup(struct vfmig_savevm *sv, struct vfmig_err *err);
/* Sections up to EOF and the end; lane -1 = the only stream. */
int vfmig_savevm_load_sections(struct vfmig_savevm *sv, struct vfmig_reader *r, int lane,
			       vfmig_cancel_t *cancel, struct vfmig_err *err);
/* Every device loaded, and whole (offset: for the message). */
int vfmig_savevm_load_check(struct vfmig_savevm *sv, uint64_t offset, struct vfmig_err *err);
/* load_cleanup() of every device set up; returns ret or the first cleanup error. */
int vfmig_savevm_load_cleanup(struct vfmig_savevm *sv, int ret, struct vfmig_err *err);

#endif /* VFMIG_SAVEVM_PRIV_H */
