// SPDX-License-Identifier: GPL-2.0
/* splice(2) helpers for the v2 data files (see splice.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* splice, pipe2, F_SETPIPE_SZ */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "splice.h"

void vfmig_pipe_init(struct vfmig_pipe *p)
{
	p->rd = p->wr = -1;
	p->cap = 0;
}

int vfmig_pipe_open(struct vfmig_pipe *p)
{
	unsigned int size;
	int fds[2], got;

	if (p->rd >= 0)
		return 0;
	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	/* Above /proc/sys/fs/pipe-max-size an unprivileged caller gets EPERM: halve. */
	for (size = VFMIG_SPLICE_PIPE_SIZE; size > 65536; size >>= 1)
		if (fcntl(fds[1], F_SETPIPE_SZ, size) >= 0)
			break;
	got = fcntl(fds[1], F_GETPIPE_SZ);
	p->rd = fds[0];
	p->wr = fds[1];
	p->cap = got > 0 ? (size_t)got : 65536;
	return 0;
}

void vfmig_pipe_close(struct vfmig_pipe *p)
{
	if (p->rd >= 0)
		close(p->rd);
	if (p->wr >= 0)
		close(p->wr);
	vfmig_pipe_init(p);
}

enum vfmig_splice_kind vfmig_splice_fd_kind(int fd)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st))
		return VFMIG_SPLICE_NONE;
	if (S_ISSOCK(st.st_mode))
		return VFMIG_SPLICE_SOCKET;
	return S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) ? VFMIG_SPLICE_FILE : VFMIG_SPLICE_NONE;
}

/* Block until fd reports @events (or an error or hang-up, which splice then tells). */
static int wait_ready(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
		return -errno;
	return 0;
}

ssize_t vfmig_splice_once(int in, int out, size_t n, bool out_socket,
			  vfmig_cancel_t *cancel)
{
	bool sock = out_socket;
	sigset_t pipe_set, old;
	ssize_t ret;

	/*
	 * splice to a socket has no MSG_NOSIGNAL: hold SIGPIPE blocked and
	 * take back one it raised, so a vanished peer is just EPIPE.
	 */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (sock)
		pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	for (;;) {
		ret = splice(in, NULL, out, NULL, n, SPLICE_F_MOVE);
		if (ret >= 0)
			break;
		ret = -errno;
		if (ret == -EINTR && vfmig_cancel_requested(cancel)) {
			ret = -ECANCELED;
			break;
		}
		if (ret == -EINTR)
			continue;
		if (ret == -EAGAIN) {
			/*
			 * A non-blocking end (the caller's): wait until each
			 * side is ready, one after the other (one poll of both
			 * returns when either is, and would spin while the
			 * other stays blocked).
			 */
			ret = wait_ready(in, POLLIN);
			if (!ret)
				ret = wait_ready(out, POLLOUT);
			if (!ret && vfmig_cancel_requested(cancel))
				ret = -ECANCELED;
			if (ret)
				break;
			continue;
		}
		break;
	}
	if (sock) {
		if (ret == -EPIPE && !sigismember(&old, SIGPIPE)) {
			const struct timespec zero = { 0, 0 };
			sigset_t pending;

			sigpending(&pending);
			if (sigismember(&pending, SIGPIPE))
				sigtimedwait(&pipe_set, NULL, &zero);
		}
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	return ret;
}
