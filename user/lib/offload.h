/* SPDX-License-Identifier: GPL-2.0 */
/* Device-side offload (hash_offload, chunk_offload) for a file stream's devices; see offload.c. */
#ifndef VFMIG_OFFLOAD_H
#define VFMIG_OFFLOAD_H

#include <stdbool.h>

#include "session.h"

#define VFMIG_OFFLOAD_KNOBS	2

/* Which offload knobs of which of a session's devices were set by us. */
struct vfmig_offload {
	bool set[VFMIG_MAX_DEVICES][VFMIG_OFFLOAD_KNOBS];
};

void vfmig_offload_begin(struct vfmig_session *s, int fd, struct vfmig_offload *o);
void vfmig_offload_end(struct vfmig_session *s, const struct vfmig_offload *o);

#endif /* VFMIG_OFFLOAD_H */
