// SPDX-License-Identifier: GPL-2.0
/*
 * Migration over a stream socket.  After EOF the sender half-closes and
 * waits for the receiver's verdict line ("OK" once its devices run, or
 * "ERR <reason>"), the return path QEMU has too: only then is the source
 * left stopped.  Any other outcome starts the source again.
 *
 * With several lanes the sender opens one more connection per lane to the
 * same address after the first (QEMU's multifd channels do the same); the
 * first carries lane 0 and the verdict.  The receiver accepts exactly as
 * many as lane 0's header announces, and each lane's header must agree.
 */
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "session.h"

#define VERDICT_MAX 600

static int split_hostport(char *hp, char **host, char **port)
{
	char *colon;

	if (hp[0] == '[') {
		char *close = strchr(hp, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		*close = '\0';
		*host = hp + 1;
		*port = close + 2;
	} else {
		colon = strrchr(hp, ':');
		if (!colon)
			return -EINVAL;
		*colon = '\0';
		*host = hp;
		*port = colon + 1;
	}
	return **host && **port ? 0 : -EINVAL;
}

static int tcp_connect(const char *host, const char *port, struct vfmig_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int fd = -1, rc, saved = 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc)
		return vfmig_err_set(err, -EHOSTUNREACH, "send: %s:%s: %s", host, port,
				     gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return vfmig_err_set(err, -saved, "send: cannot connect to %s:%s: %s", host, port,
				     strerror(saved));
	return fd;
}

int vfmig_connect(struct vfmig_ctx *ctx, const char *host_port)
{
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	char *copy = strdup(host_port), *host, *port;
	int fd;

	if (!copy)
		return vfmig_err_set(err, -ENOMEM, "send: out of memory");
	if (split_hostport(copy, &host, &port)) {
		free(copy);
		return vfmig_err_set(err, -EINVAL, "send: '%s' is not HOST:PORT", host_port);
	}
	fd = tcp_connect(host, port, err);
	if (fd >= 0)
		vfmig_log(ctx, VFMIG_LOG_INFO, "send: connected to %s:%s", host, port);
	free(copy);
	return fd;
}

int vfmig_accept(struct vfmig_ctx *ctx, const char *bind_addr, const char *port)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	struct vfmig_err *err = vfmig_ctx_begin(ctx);
	int lfd, fd, one = 1, rc;

	rc = getaddrinfo(bind_addr, port, &hints, &res);
	if (rc)
		return vfmig_err_set(err, -EINVAL, "receive: port %s: %s", port, gai_strerror(rc));
	lfd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, res->ai_addr, res->ai_addrlen) || listen(lfd, VFMIG_STREAM_MAX_LANES)) {
		rc = errno;
		freeaddrinfo(res);
		if (lfd >= 0)
			close(lfd);
		return vfmig_err_set(err, -rc, "receive: cannot listen on port %s: %s", port,
				     strerror(rc));
	}
	freeaddrinfo(res);
	vfmig_log(ctx, VFMIG_LOG_INFO, "receive: listening on port %s", port);
	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR && !ctx->cancel);
	rc = errno;
	/* Kept for the further lanes of a parallel stream (vfmig_receive). */
	if (ctx->listen_fd >= 0)
		close(ctx->listen_fd);
	ctx->listen_fd = fd < 0 ? -1 : lfd;
	if (fd < 0)
		close(lfd);
	if (fd < 0)
		return vfmig_err_set(err, ctx->cancel ? -ECANCELED : -rc,
				     "receive: accept on port %s: %s", port,
				     ctx->cancel ? "cancelled" : strerror(rc));
	vfmig_log(ctx, VFMIG_LOG_INFO, "receive: connection accepted");
	return fd;
}

/* The verdict: one line, "OK" or "ERR reason". */
static int read_verdict(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len && !memchr(buf, '\n', n)) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;	/* the outcome decides, not a late cancel */
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return n ? 0 : -ECONNRESET;
}

/* "ADDR:PORT" of the other end, for messages. */
static void peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getpeername(fd, (struct sockaddr *)&sa, &salen) ||
	    getnameinfo((struct sockaddr *)&sa, salen, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(buf, len, "(unknown)");
	else
		snprintf(buf, len, strchr(host, ':') ? "[%s]:%s" : "%s:%s", host, port);
}

/* The save completed: the source stays stopped only on the receiver's "OK". */
static int await_verdict(struct vfmig_session *src, int fd, struct vfmig_err *err)
{
	char verdict[VERDICT_MAX], peer[NI_MAXHOST + NI_MAXSERV + 4];
	int ret = 0;

	peer_name(fd, peer, sizeof(peer));
	shutdown(fd, SHUT_WR);
	if (read_verdict(fd, verdict, sizeof(verdict)))
		ret = vfmig_err_set(err, -ECONNRESET,
				    "receiver %s closed the connection without a verdict", peer);
	else if (strcmp(verdict, "OK"))
		ret = vfmig_err_set(err, -EREMOTEIO, "receiver %s: %s", peer,
				    strncmp(verdict, "ERR ", 4) ? verdict : verdict + 4);
	if (!ret) {
		vfmig_log(src->ctx, VFMIG_LOG_INFO, "send: receiver reports its devices running");
		return 0;
	}
	vfmig_session_restore_err(src, err);
	vfmig_session_mark_failed(src, err);
	return ret;
}

/*
 * The save failed: the receiver may have refused the stream and hung up,
 * and its verdict says why far better than our EPIPE does.
 */
static int refusal_reason(struct vfmig_session *src, int fd, int ret, struct vfmig_err *err)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char verdict[VERDICT_MAX], peer[NI_MAXHOST + NI_MAXSERV + 4];

	if (ret == -ECANCELED)
		return ret;
	peer_name(fd, peer, sizeof(peer));
	if (poll(&pfd, 1, 2000) == 1 && !read_verdict(fd, verdict, sizeof(verdict)) &&
	    !strncmp(verdict, "ERR ", 4)) {
		vfmig_err_clear(err);
		ret = vfmig_err_set(err, -EREMOTEIO, "receiver %s: %s", peer, verdict + 4);
		vfmig_session_mark_failed(src, err);
	}
	return ret;
}

/* One more connection to where sockfd goes, for a further lane. */
static int connect_lane(int sockfd, unsigned int k, struct vfmig_err *err)
{
	struct sockaddr_storage sa;
	socklen_t salen = sizeof(sa);
	int fd, e;

	if (getpeername(sockfd, (struct sockaddr *)&sa, &salen))
		return vfmig_err_set(err, -errno, "send: lane %u: getpeername: %s", k,
				     strerror(errno));
	fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen)) {
		e = errno;
		if (fd >= 0)
			close(fd);
		return vfmig_err_set(err, -e, "send: lane %u: cannot connect: %s", k, strerror(e));
	}
	return fd;
}

int vfmig_send(struct vfmig_session *src, int sockfd)
{
	struct vfmig_err *err = vfmig_ctx_begin(src->ctx);
	struct vfmig_endpoint eps[VFMIG_STREAM_MAX_LANES];
	unsigned int lanes = vfmig_session_lanes(src), k;
	int ret = 0;

	eps[0] = (struct vfmig_endpoint){ .fd = sockfd };
	for (k = 1; k < lanes && !ret; k++) {
		eps[k] = (struct vfmig_endpoint){ .fd = connect_lane(sockfd, k, err) };
		if (eps[k].fd < 0)
			ret = eps[k].fd;
	}
	if (ret) {
		lanes = k - 1;
	} else {
		ret = vfmig_session_save_lanes(src, eps, lanes, err);
		/*
		 * A lane's end is its connection's end: the receiver checks that
		 * nothing follows EOF.  After a failure they stay open until the
		 * verdict, so that the receiver does not blame their truncation.
		 */
		for (k = 1; !ret && k < lanes; k++)
			shutdown(eps[k].fd, SHUT_WR);
		ret = ret ? refusal_reason(src, sockfd, ret, err) :
		      await_verdict(src, sockfd, err);
	}
	for (k = 1; k < lanes; k++)
		close(eps[k].fd);
	if (ret)
		vfmig_err_prefix(err, "send %s, devices %s: ",
				 ret == -ECANCELED ? "cancelled" : "failed",
				 vfmig_session_after_failure(src));
	return ret;
}

/*
 * After a refusal the sender may still be writing.  Closing now would reset
 * the connection and could take the verdict with it, so read on for a while:
 * the sender then finishes or notices, and reads why.
 */
static void drain(struct vfmig_ctx *ctx, int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t until = time(NULL) + 10;
	char buf[65536];

	shutdown(fd, SHUT_WR);
	while (!ctx->cancel && time(NULL) < until && poll(&pfd, 1, 3000) == 1 &&
	       read(fd, buf, sizeof(buf)) > 0)
		;
}

struct receiver {
	struct vfmig_ctx *ctx;
	int fd0;
	unsigned int nr;		/* further lanes accepted */
	int fd[VFMIG_STREAM_MAX_LANES];
	atomic_bool aborted;
};

/* The next lane's connection on the listening socket, within 10 s. */
static int accept_lane(void *opaque, unsigned int nth, unsigned int lanes,
		       struct vfmig_endpoint *ep, struct vfmig_err *err)
{
	struct receiver *rv = opaque;
	struct pollfd pfd = { .fd = rv->ctx->listen_fd, .events = POLLIN };
	int waited = 0, fd;

	if (pfd.fd < 0)
		return vfmig_err_set(err, -ENOTCONN,
				     "receive: stream has %u lanes but no listening socket for lane %u",
				     lanes, nth);
	while (poll(&pfd, 1, 200) != 1) {
		if (rv->ctx->cancel)
			return vfmig_err_set(err, -ECANCELED, "receive: cancelled waiting for lane %u",
					     nth);
		if (++waited == 50)
			return vfmig_err_set(err, -ETIMEDOUT,
					     "receive: lane connection %u of %u did not come within 10 s",
					     nth, lanes);
	}
	fd = accept4(pfd.fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return vfmig_err_set(err, -errno, "receive: accept of lane %u: %s", nth,
				     strerror(errno));
	rv->fd[rv->nr++] = fd;
	if (atomic_load(&rv->aborted))
		shutdown(fd, SHUT_RD);
	*ep = (struct vfmig_endpoint){ .fd = fd };
	return 0;
}

/* A lane failed: every lane's reads end at once (lane 0 still takes the verdict). */
static void abort_lanes(void *opaque)
{
	struct receiver *rv = opaque;

	atomic_store(&rv->aborted, true);
	shutdown(rv->fd0, SHUT_RD);
	for (unsigned int k = 0; k < rv->nr; k++)
		shutdown(rv->fd[k], SHUT_RD);
}

/* One verdict line; never SIGPIPE (a library's caller may not ignore it). */
static int send_verdict(int fd, const char *line)
{
	size_t len = strlen(line), off = 0;

	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		off += (size_t)n;
	}
	return 0;
}

int vfmig_receive(struct vfmig_session *dst, int sockfd)
{
	struct vfmig_err *err = vfmig_ctx_begin(dst->ctx);
	struct receiver rv = { .ctx = dst->ctx, .fd0 = sockfd };
	const struct vfmig_lane_source src = { .open = accept_lane, .abort = abort_lanes,
					       .opaque = &rv };
	int ret;

	ret = vfmig_session_load_lanes(dst, &(struct vfmig_endpoint){ .fd = sockfd }, &src,
				       &dst->ctx->cancel, err);
	/* Unread data makes these resets: a sender still writing a lane gives up. */
	for (unsigned int k = 0; k < rv.nr; k++)
		close(rv.fd[k]);
	if (dst->ctx->listen_fd >= 0) {
		close(dst->ctx->listen_fd);
		dst->ctx->listen_fd = -1;
	}
	if (ret) {
		char line[sizeof(err->msg) + 8];

		snprintf(line, sizeof(line), "ERR %s\n", err->msg);
		(void)send_verdict(sockfd, line);	/* the sender restarts its devices either way */
		drain(dst->ctx, sockfd);
		vfmig_err_prefix(err, "receive failed (devices reset): ");
		return ret;
	}
	ret = send_verdict(sockfd, "OK\n");
	if (ret) {
		/*
		 * The sender cannot hear "OK" and runs its devices again: ours
		 * must not run too.  A reset would run them; stopped, they keep
		 * the state and run nothing.
		 */
		vfmig_err_set(err, ret, "receive: verdict not sent: %s", strerror(-ret));
		vfmig_session_stop(dst, err);
		vfmig_err_prefix(err, "receive failed (devices stopped, the sender runs again): ");
	}
	return ret;
}
