/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Moving device data with splice(2) through a pipe of our own, so the
 * bytes pass from one kernel file to another without a trip through a
 * user buffer: a v2 saving file to the stream fd, the stream fd to a v2
 * resuming file.  Every call says when splice is refused (-EINVAL,
 * -ENOSYS: a module without splice, an fd type that has none) so the
 * caller can fall back to read(2)/write(2).
 */
#ifndef VFMIG_SPLICE_H
#define VFMIG_SPLICE_H

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "cancel.h"

/*
 * What we ask the pipe to hold: twice a read of the saving file (1 MiB),
 * because the module lends device memory to the pipe a page per buffer
 * plus a buffer per record header: 1 MiB takes 272 buffers, more than the
 * 256 of a 1 MiB pipe.  A caller without CAP_SYS_RESOURCE gets at most
 * /proc/sys/fs/pipe-max-size (1 MiB): its splices then stop short of a full
 * read, and the stream has smaller DATA blobs than the read(2) fallback's
 * (as valid, not byte-identical).
 */
#define VFMIG_SPLICE_PIPE_SIZE	(2u << 20)

struct vfmig_pipe {
	int rd, wr;	/* -1 until opened */
	size_t cap;	/* bytes the pipe holds */
};

void vfmig_pipe_init(struct vfmig_pipe *p);
/* Open it if not yet, as large as allowed up to VFMIG_SPLICE_PIPE_SIZE. */
int vfmig_pipe_open(struct vfmig_pipe *p);
void vfmig_pipe_close(struct vfmig_pipe *p);
/* The fd types splice serves; a caller checks an fd once and keeps the answer. */
enum vfmig_splice_kind {
	VFMIG_SPLICE_NONE,	/* not one (or fstat failed): read/write only */
	VFMIG_SPLICE_FILE,	/* a pipe or a regular file */
	VFMIG_SPLICE_SOCKET,	/* a socket: a splice into it may raise SIGPIPE */
};
enum vfmig_splice_kind vfmig_splice_fd_kind(int fd);
/* splice refused for this pair: fall back to read/write. */
static inline bool vfmig_splice_refused(ssize_t ret)
{
	return ret == -EINVAL || ret == -ENOSYS;
}
/*
 * One splice(2) of up to n bytes from in to out (file positions, no
 * offsets): the bytes moved, 0 at end of input, or -errno.  Retries EINTR
 * unless *cancel is set (-ECANCELED) and waits on EAGAIN; with out_socket,
 * a peer that went away is -EPIPE, never SIGPIPE.
 */
ssize_t vfmig_splice_once(int in, int out, size_t n, bool out_socket,
			  vfmig_cancel_t *cancel);

#endif
