/* SPDX-License-Identifier: GPL-2.0 */
/*
 * An in-process byte channel between two threads: what a pipe does for
 * `vfmig migrate`, without the kernel.  A pipe copies every byte twice
 * (writer → pipe buffer → reader); here the writer hands over its own
 * buffer and waits while the reader copies straight out of it, so each byte
 * is copied once, by the reader, into wherever it goes (for a mapped data
 * section: from the source's mapping into the destination's).
 *
 * One writer thread and one reader thread.  Closing one end is seen by the
 * other: the reader gets end of input, the writer -EPIPE.  A wait gives up
 * with -ECANCELED once the caller's cancel flag is set (a signal handler
 * sets it; there is no blocked system call for it to interrupt).
 */
#ifndef VFMIG_CHANNEL_H
#define VFMIG_CHANNEL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cancel.h"
#include "errbuf.h"

struct vfmig_channel;

int vfmig_channel_new(struct vfmig_channel **out);
void vfmig_channel_free(struct vfmig_channel *ch);
/*
 * Whether a side that must wait first watches for the other's next step
 * for a moment, rather than sleeping at once (on by default).  Worth it
 * while both threads have a CPU each; with more threads than CPUs, the
 * watching takes a CPU another thread could use.
 */
void vfmig_channel_set_spin(struct vfmig_channel *ch, bool on);

/* All n bytes taken by the reader: 0; -EPIPE if it closed, -ECANCELED. */
int vfmig_channel_write(struct vfmig_channel *ch, const void *p, size_t n,
			vfmig_cancel_t *cancel);
/*
 * Hand over n bytes that fill() writes itself (fill(ctx, dst, len) must
 * put exactly len bytes at dst; 0 or -errno with err set), straight into
 * the waiting reader's buffer, as many pieces as the reader's reads take.
 * 0, fill()'s error, -EPIPE if the reader closed, -ECANCELED; err says.
 */
typedef int (*vfmig_channel_fill_fn)(void *ctx, void *dst, size_t len, struct vfmig_err *err);
int vfmig_channel_write_fill(struct vfmig_channel *ch, size_t n, vfmig_channel_fill_fn fill,
			     void *fill_ctx, vfmig_cancel_t *cancel, struct vfmig_err *err);
/* Bytes copied or filled into buf (1..len), 0 at end of input, -ECANCELED. */
ssize_t vfmig_channel_read(struct vfmig_channel *ch, void *buf, size_t len,
			   vfmig_cancel_t *cancel);
void vfmig_channel_close_write(struct vfmig_channel *ch);
void vfmig_channel_close_read(struct vfmig_channel *ch);

#endif /* VFMIG_CHANNEL_H */
