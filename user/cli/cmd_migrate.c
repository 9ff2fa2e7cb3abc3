// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig migrate --from A --to B [--from C --to D]...: both ends in one
 * process.  The source saves into an in-process channel on this thread; a
 * second thread loads from it into the destinations, copying each byte once
 * (a pipe would copy it twice, through the kernel).  The migration counts
 * only when the destinations run: if they fail after the source finished,
 * the source is started again, so exactly one copy of each device runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "channel.h"
#include "cli.h"
#include "migopts.h"

static const char migrate_usage[] =
	"usage: vfmig migrate [OPTIONS] --from UUID --to UUID [--from UUID --to UUID]...\n\n"
	"Migrate each --from device into the --to device paired with it, live, in one\n"
	"stream, both ends in this process.  When it completes the destinations run\n"
	"and the sources are stopped; when anything fails or Ctrl-C is pressed the\n"
	"sources run again with their state untouched and the destinations are reset.\n\n"
	"options:\n"
	"  --from UUID           a source device (repeatable)\n"
	"  --to UUID             its destination (repeatable, same count as --from)\n"
	MIGOPTS_HELP;

struct loader {
	struct vfmig_session *s;
	struct vfmig_channel *ch;
	int ret;
	struct vfmig_err err;
};

static void *load_thread(void *arg)
{
	struct loader *l = arg;

	l->ret = vfmig_session_load(l->s, &(struct vfmig_endpoint){ .chan = l->ch },
				    &cli_cancel, &l->err);
	/* Closing our end makes a still-writing source fail with EPIPE. */
	vfmig_channel_close_read(l->ch);
	return NULL;
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		MIGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	char *from[VFMIG_SESSION_MAX_DEVICES], *to[VFMIG_SESSION_MAX_DEVICES];
	struct vfmig_session *src = NULL, *dst = NULL;
	struct vfmig_err err = { 0 };
	struct loader l = { 0 };
	struct vfmig_stats st;
	struct vfmig_channel *ch = NULL;
	struct migopts o;
	unsigned int nf = 0, nt = 0;
	pthread_t tid;
	int c, r, ret;

	migopts_init(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(migrate_usage, stdout);
			return 0;
		}
		if (c == 'f' || c == 't') {
			unsigned int *n = c == 'f' ? &nf : &nt;

			if (*n >= VFMIG_SESSION_MAX_DEVICES)
				return cli_failf("migrate: at most %u device pairs",
						 VFMIG_SESSION_MAX_DEVICES);
			(c == 'f' ? from : to)[(*n)++] = optarg;
			continue;
		}
		r = migopts_parse(&o, c, optarg);
		if (r < 0)
			return 2;
		if (r == 0) {
			fputs(migrate_usage, stderr);
			return 2;
		}
	}
	if (optind != argc || !nf || nf != nt) {
		fputs(migrate_usage, stderr);
		return 2;
	}
	for (unsigned int i = 0; i < nf; i++)
		for (unsigned int j = 0; j < nt; j++)
			if (!strcmp(from[i], to[j]))
				return cli_failf("migrate: device %s cannot be its own destination",
						 from[i]);
	cli_catch_signals();
	if (vfmig_session_open(&src, from, nf, &o.session, &err) ||
	    vfmig_session_open(&dst, to, nt, &o.session, &err)) {
		vfmig_session_close(src);
		return cli_fail(&err);
	}
	/*
	 * No buffering between the ends: the source's write returns once the
	 * destination has its bytes, so the bandwidth the convergence logic
	 * measures is the destination's, as with QEMU over a socket.
	 */
	if ((ret = vfmig_channel_new(&ch))) {
		ret = cli_failf("migrate: channel: %s", strerror(-ret));
		goto out;
	}
	l.s = dst;
	l.ch = ch;
	if ((errno = pthread_create(&tid, NULL, load_thread, &l))) {
		ret = cli_failf("migrate: thread: %s", strerror(errno));
		goto out;
	}
	vfmig_savevm_set_progress(src->sv, cli_progress, &o);
	ret = vfmig_session_save(src, &(struct vfmig_endpoint){ .chan = ch }, &o.conv,
				 &cli_cancel, &st, &err);
	vfmig_channel_close_write(ch);
	pthread_join(tid, NULL);
	cli_progress_done(&o);

	if (!ret && l.ret) {
		/* The source finished but the destination refused: undo the stop. */
		ret = l.ret;
		err = l.err;
		vfmig_session_restart(src, &err);
		st.status = "failed";
		snprintf(st.error, sizeof(st.error), "%s", err.msg);
		vfmig_err_prefix(&err, "migrate failed at the destination, sources running again: ");
	} else if (ret == -EPIPE && l.ret) {
		/* The destination gave up first and closed its end: its error is the cause. */
		ret = l.ret;
		err = l.err;
		vfmig_err_prefix(&err, "migrate failed at the destination, sources running again: ");
	} else if (ret) {
		/* The source's error is the cause; the loader only saw the stream end. */
		vfmig_err_prefix(&err, "migrate %s, sources running again: ",
				 ret == -ECANCELED || cli_cancel ? "cancelled" : "failed");
		if (ret != -ECANCELED && cli_cancel)
			ret = -ECANCELED;
	}
	cli_report_save(&o, &st, src);
	cli_report_prepared(&o, dst);
	vfmig_session_close(dst);
	dst = NULL;
	if (ret)
		cli_fail(&err);
	ret = ret ? 1 : 0;
out:
	vfmig_channel_free(ch);
	vfmig_session_close(dst);
	vfmig_session_close(src);
	return ret;
}
