/* SPDX-License-Identifier: GPL-2.0 */
/* Hash offload for a file stream's devices; see offload.c. */
#ifndef VFMIG_OFFLOAD_H
#define VFMIG_OFFLOAD_H

#include <stdbool.h>

#include "session.h"

/* Which of a session's devices had their hash_offload knob set by us. */
struct vfmig_offload {
	bool set[VFMIG_MAX_DEVICES];
};

void vfmig_offload_begin(struct vfmig_session *s, int fd, struct vfmig_offload *o);
void vfmig_offload_end(struct vfmig_session *s, const struct vfmig_offload *o);

#endif /* VFMIG_OFFLOAD_H */
