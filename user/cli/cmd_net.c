// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig send UUID... HOST:PORT   and   vfmig receive UUID... --listen PORT
 *
 * The stream goes over one TCP connection.  After EOF the sender half-closes
 * and waits for the receiver's verdict line ("OK" once its devices run, or
 * "ERR <reason>"), the return path QEMU has too: only then is the source
 * left stopped.  Any other outcome starts the source again.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "migopts.h"

#define VERDICT_MAX 600

static const char send_usage[] =
	"usage: vfmig send [OPTIONS] UUID... HOST:PORT\n\n"
	"Migrate the devices live to a 'vfmig receive' listening on HOST:PORT (use\n"
	"[ADDR]:PORT for IPv6).  The source stays stopped only once the receiver\n"
	"reports its devices running; otherwise it runs again, state untouched.\n\n"
	"options:\n"
	MIGOPTS_HELP;

static const char receive_usage[] =
	"usage: vfmig receive [OPTIONS] UUID... --listen PORT\n\n"
	"Wait for one 'vfmig send' on PORT, load its stream into the devices (the\n"
	"i-th device of the stream into the i-th UUID), start them and tell the\n"
	"sender.  On failure the devices are reset and the sender is told why.\n\n"
	"options:\n"
	"  --listen PORT         TCP port to accept the connection on\n"
	"  --bind ADDR           local address to listen on (default: any)\n"
	"  --no-mmap             move data with pwrite only, never the mappings\n"
	"  -q, --quiet           no summary, errors only\n"
	"  -h, --help            this text\n";

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

/* The verdict: one line, "OK" or "ERR reason". */
static int read_verdict(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, len - 1 - n);

		if (r < 0 && errno == EINTR)
			continue;	/* the outcome decides, not a late Ctrl-C */
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return n ? 0 : -ECONNRESET;
}

int cmd_send(int argc, char **argv)
{
	static const struct option longopts[] = { MIGOPTS_LONG, { NULL, 0, NULL, 0 } };
	struct vfmig_err err = { 0 };
	struct vfmig_session *s;
	struct vfmig_stats st;
	struct migopts o;
	char verdict[VERDICT_MAX], *host, *port;
	int c, r, ret, fd;

	migopts_init(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(send_usage, stdout);
			return 0;
		}
		r = migopts_parse(&o, c, optarg);
		if (r <= 0) {
			if (!r)
				fputs(send_usage, stderr);
			return 2;
		}
	}
	if (argc - optind < 2) {
		fputs(send_usage, stderr);
		return 2;
	}
	if (split_hostport(argv[argc - 1], &host, &port))
		return cli_failf("send: '%s' is not HOST:PORT", argv[argc - 1]);
	cli_catch_signals();
	if (vfmig_session_open(&s, argv + optind, (unsigned int)(argc - optind - 1), &o.session, &err))
		return cli_fail(&err);
	fd = tcp_connect(host, port, &err);
	if (fd < 0) {
		vfmig_session_close(s);
		return cli_fail(&err);
	}
	vfmig_savevm_set_progress(s->sv, cli_progress, &o);
	ret = vfmig_session_save(s, &(struct vfmig_endpoint){ .fd = fd }, &o.conv,
				 &cli_cancel, &st, &err);
	cli_progress_done(&o);
	if (!ret) {
		shutdown(fd, SHUT_WR);
		if (read_verdict(fd, verdict, sizeof(verdict)))
			ret = vfmig_err_set(&err, -ECONNRESET,
					    "receiver %s:%s closed the connection without a verdict",
					    host, port);
		else if (strcmp(verdict, "OK"))
			ret = vfmig_err_set(&err, -EREMOTEIO, "receiver %s:%s: %s", host, port,
					    strncmp(verdict, "ERR ", 4) ? verdict : verdict + 4);
		if (ret) {
			vfmig_session_restart(s, &err);
			st.status = "failed";
			snprintf(st.error, sizeof(st.error), "%s", err.msg);
		}
	} else if (ret != -ECANCELED) {
		/*
		 * The receiver may have refused the stream and hung up: its verdict
		 * says why far better than our EPIPE does.
		 */
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if (poll(&pfd, 1, 2000) == 1 && !read_verdict(fd, verdict, sizeof(verdict)) &&
		    !strncmp(verdict, "ERR ", 4)) {
			vfmig_err_clear(&err);
			ret = vfmig_err_set(&err, -EREMOTEIO, "receiver %s:%s: %s", host, port,
					    verdict + 4);
			snprintf(st.error, sizeof(st.error), "%s", err.msg);
		}
	}
	close(fd);
	cli_report_save(&o, &st, s);
	vfmig_session_close(s);
	if (ret) {
		vfmig_err_prefix(&err, "send %s, devices running again: ",
				 ret == -ECANCELED ? "cancelled" : "failed");
		return cli_fail(&err);
	}
	return 0;
}

static int tcp_accept(const char *bind_addr, const char *port, struct vfmig_err *err)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
	int lfd, fd, one = 1, rc;

	rc = getaddrinfo(bind_addr, port, &hints, &res);
	if (rc)
		return vfmig_err_set(err, -EINVAL, "receive: port %s: %s", port, gai_strerror(rc));
	lfd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC, res->ai_protocol);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(lfd, res->ai_addr, res->ai_addrlen) || listen(lfd, 1)) {
		rc = errno;
		freeaddrinfo(res);
		if (lfd >= 0)
			close(lfd);
		return vfmig_err_set(err, -rc, "receive: cannot listen on port %s: %s", port,
				     strerror(rc));
	}
	freeaddrinfo(res);
	do {
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	} while (fd < 0 && errno == EINTR && !cli_cancel);
	rc = errno;
	close(lfd);
	if (fd < 0)
		return vfmig_err_set(err, cli_cancel ? -ECANCELED : -rc, "receive: accept on port %s: %s",
				     port, cli_cancel ? "cancelled" : strerror(rc));
	return fd;
}

/*
 * After a refusal the sender may still be writing.  Closing now would reset
 * the connection and could take the verdict with it, so read on for a while:
 * the sender then finishes or notices, and reads why.
 */
static void drain(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	time_t until = time(NULL) + 10;
	char buf[65536];

	shutdown(fd, SHUT_WR);
	while (!cli_cancel && time(NULL) < until && poll(&pfd, 1, 3000) == 1 &&
	       read(fd, buf, sizeof(buf)) > 0)
		;
}

int cmd_receive(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "bind", required_argument, NULL, 'b' },
		{ "no-mmap", no_argument, NULL, 0x104 },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port = NULL, *bind_addr = NULL;
	struct vfmig_err err = { 0 };
	struct vfmig_session *s;
	struct migopts o;
	int c, fd, ret;

	migopts_init(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(receive_usage, stdout);
			return 0;
		case 'l':
			port = optarg;
			break;
		case 'b':
			bind_addr = optarg;
			break;
		default:
			if (migopts_parse(&o, c, optarg) <= 0) {
				fputs(receive_usage, stderr);
				return 2;
			}
		}
	}
	if (!port || optind >= argc) {
		fputs(receive_usage, stderr);
		return 2;
	}
	cli_catch_signals();
	if (vfmig_session_open(&s, argv + optind, (unsigned int)(argc - optind), &o.session, &err))
		return cli_fail(&err);
	fd = tcp_accept(bind_addr, port, &err);
	if (fd < 0) {
		vfmig_session_close(s);
		return cli_fail(&err);
	}
	ret = vfmig_session_load(s, &(struct vfmig_endpoint){ .fd = fd }, &cli_cancel,
				 &err);
	if (ret) {
		dprintf(fd, "ERR %s\n", err.msg);
		drain(fd);
	} else {
		dprintf(fd, "OK\n");
	}
	close(fd);
	cli_report_prepared(&o, s);
	if (!ret && !o.quiet)
		fprintf(stderr, "received %u device%s on port %s; running\n", s->nr,
			s->nr == 1 ? "" : "s", port);
	vfmig_session_close(s);
	if (ret) {
		vfmig_err_prefix(&err, "receive failed (devices reset): ");
		return cli_fail(&err);
	}
	return 0;
}
