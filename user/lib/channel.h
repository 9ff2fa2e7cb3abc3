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
#include <stddef.h>
#include <sys/types.h>

struct vfmig_channel;

int vfmig_channel_new(struct vfmig_channel **out);
void vfmig_channel_free(struct vfmig_channel *ch);

/* All n bytes taken by the reader: 0; -EPIPE if it closed, -ECANCELED. */
int vfmig_channel_write(struct vfmig_channel *ch, const void *p, size_t n,
			volatile sig_atomic_t *cancel);
/* Bytes copied into buf (1..len), 0 at end of input, -ECANCELED. */
ssize_t vfmig_channel_read(struct vfmig_channel *ch, void *buf, size_t len,
			   volatile sig_atomic_t *cancel);
void vfmig_channel_close_write(struct vfmig_channel *ch);
void vfmig_channel_close_read(struct vfmig_channel *ch);

#endif /* VFMIG_CHANNEL_H */
