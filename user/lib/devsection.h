/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The parts of a device's section payloads that do not depend on the
 * protocol the device speaks (v1dev.c and v2dev.c both use them): the START
 * payload (SETUP tag), the FULL payload (CONFIG blob from the config ops),
 * the framing of PART and END payloads (DATA chunks), and the END_OF_STATE
 * that closes each.  stream-format.md has the grammar.
 */
#ifndef VFMIG_DEVSECTION_H
#define VFMIG_DEVSECTION_H

#include "savevm.h"
#include "v1dev.h"

/* The next tag must be want; name says whose section it is. */
int vfmig_devsec_expect_tag(const char *name, struct vfmig_load_io *io, uint64_t want);
/*
 * PART or END payload, the next item: a DATA chunk of *size bytes (returns
 * 1; the chunk's bytes follow in the stream) or the closing END_OF_STATE
 * (returns 0).  A cancel or any other tag is an error.
 */
int vfmig_devsec_next_data(const char *name, struct vfmig_load_io *io, uint64_t *size);
/* START: SETUP, END_OF_STATE. */
int vfmig_devsec_load_start(const char *name, struct vfmig_load_io *io);
/* FULL: the config ops' blob (empty without ops), END_OF_STATE. */
int vfmig_devsec_save_config(const struct vfmig_v1dev_config_ops *config, const char *name,
			     struct vfmig_save_io *io);
int vfmig_devsec_load_config(const struct vfmig_v1dev_config_ops *config, const char *name,
			     struct vfmig_load_io *io);

#endif /* VFMIG_DEVSECTION_H */
