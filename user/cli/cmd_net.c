// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig send UUID... HOST:PORT   and   vfmig receive UUID... --listen PORT:
 * vfmig_connect()/vfmig_send() and vfmig_accept()/vfmig_receive(), which
 * carry the stream and the receiver's verdict over one TCP connection.
 */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "migopts.h"

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
	"  --protocol P          auto (default: v2 where offered, else v1), v1 or v2\n"
	"  --parallel N          accepted; the sender's lanes decide (one more\n"
	"                        connection per lane on PORT)\n"
	"  -q, --quiet           no summary, errors only\n"
	"  -h, --help            this text\n";

int cmd_send(int argc, char **argv)
{
	static const struct option longopts[] = { MIGOPTS_LONG, { NULL, 0, NULL, 0 } };
	struct vfmig_session *s;
	struct migopts o;
	int c, r, ret, fd;

	migopts_init(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, MIGOPTS_SHORT, longopts, NULL)) != -1) {
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
	cli_catch_signals();
	if (vfmig_session_open(cli_ctx(), (const char *const *)argv + optind,
			       (unsigned int)(argc - optind - 1), &s))
		return cli_fail();
	fd = vfmig_connect(cli_ctx(), argv[argc - 1]);
	if (fd < 0) {
		vfmig_session_close(s);
		return cli_fail();
	}
	cli_show_progress(&o);
	ret = vfmig_send(s, fd);
	cli_progress_done(&o);
	close(fd);
	/* Before the report: the next library call clears the error. */
	if (ret)
		ret = cli_fail();
	cli_report_save(&o, s);
	vfmig_session_close(s);
	return ret;
}

int cmd_receive(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "bind", required_argument, NULL, 'b' },
		{ "no-mmap", no_argument, NULL, 0x104 },
		{ "protocol", required_argument, NULL, 0x108 },
		{ "parallel", required_argument, NULL, 0x109 },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *port = NULL, *bind_addr = NULL;
	struct vfmig_session *s;
	struct migopts o;
	int c, r, fd, ret;

	migopts_init(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, MIGOPTS_SHORT, longopts, NULL)) != -1) {
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
			r = migopts_parse(&o, c, optarg);
			if (r <= 0) {
				if (!r)	/* a bad value was reported in one line already */
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
	if (vfmig_session_open(cli_ctx(), (const char *const *)argv + optind,
			       (unsigned int)(argc - optind), &s))
		return cli_fail();
	fd = vfmig_accept(cli_ctx(), bind_addr, port);
	if (fd < 0) {
		vfmig_session_close(s);
		return cli_fail();
	}
	ret = vfmig_receive(s, fd);
	close(fd);
	if (!ret && !o.quiet)
		fprintf(stderr, "received %u device%s on port %s; running\n",
			vfmig_session_count(s), vfmig_session_count(s) == 1 ? "" : "s", port);
	vfmig_session_close(s);
	return ret ? cli_fail() : 0;
}
