// SPDX-License-Identifier: GPL-2.0
/* vfmig save UUID... -o FILE|-   and   vfmig resume UUID... -i FILE|- */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "migopts.h"

static const char save_usage[] =
	"usage: vfmig save [OPTIONS] UUID... -o FILE|-\n\n"
	"Save the devices' state into one stream (FILE, or stdout for '-').  Live by\n"
	"default: pre-copy rounds while the devices run, then stop-and-copy once the\n"
	"rest fits in the downtime limit.  On success the devices stay stopped, as a\n"
	"migrated VM does; on any failure or Ctrl-C they run again, state untouched.\n\n"
	"options:\n"
	"  -o, --output FILE     where the stream goes ('-' = stdout)\n"
	MIGOPTS_HELP;

static const char resume_usage[] =
	"usage: vfmig resume [OPTIONS] UUID... -i FILE|-\n\n"
	"Load a stream written by 'vfmig save' into the devices (the i-th device of the\n"
	"stream into the i-th UUID) and start them.  Every section is checked before it\n"
	"reaches a device; on failure the devices are reset and the error names the\n"
	"section and stream offset that were bad.\n\n"
	"options:\n"
	"  -i, --input FILE      where the stream comes from ('-' = stdin)\n"
	"  --no-mmap             move data with pwrite only, never the mappings\n"
	"  -q, --quiet           no summary, errors only\n"
	"  -h, --help            this text\n";

static int parse(int argc, char **argv, struct migopts *o, const char **path, bool save)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "input", required_argument, NULL, 'i' },
		MIGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = save ? save_usage : resume_usage;
	int c, r;

	migopts_init(o);
	optind = 1;
	while ((c = getopt_long(argc, argv, save ? "o:qh" : "i:qh", longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 0;
		}
		if ((c == 'o' && save) || (c == 'i' && !save)) {
			*path = optarg;
			continue;
		}
		r = migopts_parse(o, c, optarg);
		if (r < 0)
			return 2;
		if (r == 0) {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!*path || optind >= argc) {
		fputs(usage, stderr);
		return 2;
	}
	return -1;
}

int cmd_save(int argc, char **argv)
{
	struct vfmig_err err = { 0 };
	struct vfmig_session *s;
	struct vfmig_stats st;
	struct migopts o;
	const char *path = NULL;
	int fd, ret;

	ret = parse(argc, argv, &o, &path, true);
	if (ret >= 0)
		return ret;
	if (!strcmp(path, "-") && o.json)
		return cli_failf("save: --json and '-o -' would share stdout; pick one");
	cli_catch_signals();
	if (vfmig_session_open(&s, argv + optind, (unsigned int)(argc - optind), &o.session, &err))
		return cli_fail(&err);
	fd = strcmp(path, "-") ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)
			       : STDOUT_FILENO;
	if (fd < 0) {
		ret = cli_failf("save: cannot create %s: %s", path, strerror(errno));
		vfmig_session_close(s);
		return ret;
	}
	vfmig_savevm_set_progress(s->sv, cli_progress, &o);
	ret = vfmig_session_save(s, &(struct vfmig_endpoint){ .fd = fd }, &o.conv,
				 &cli_cancel, &st, &err);
	cli_progress_done(&o);
	if (!ret && fd != STDOUT_FILENO && fsync(fd) && errno != EINVAL)
		ret = vfmig_err_set(&err, -errno, "save: %s: fsync: %s", path, strerror(errno));
	if (fd != STDOUT_FILENO && close(fd) && !ret)
		ret = vfmig_err_set(&err, -errno, "save: %s: close: %s", path, strerror(errno));
	if (ret && fd != STDOUT_FILENO)
		unlink(path);	/* no half-written stream that looks like a save */
	cli_report_save(&o, &st, s);
	if (ret && st.status && !strcmp(st.status, "completed"))
		vfmig_session_restart(s, &err);	/* the stream did not make it to disk */
	vfmig_session_close(s);
	if (ret) {
		vfmig_err_prefix(&err, "save%s: ", ret == -ECANCELED ? " cancelled, devices running again" : " failed, devices running again");
		return cli_fail(&err);
	}
	return 0;
}

int cmd_resume(int argc, char **argv)
{
	struct vfmig_err err = { 0 };
	struct vfmig_session *s;
	struct migopts o;
	const char *path = NULL;
	int fd, ret;

	ret = parse(argc, argv, &o, &path, false);
	if (ret >= 0)
		return ret;
	/* The shared parser knows the save-side options too; they mean nothing here. */
	if (o.json || o.progress > 0 || o.conv.offline || o.conv.max_bandwidth ||
	    o.conv.max_iterations || o.conv.downtime_limit_ms != VFMIG_DEFAULT_DOWNTIME_MS)
		return cli_failf("resume: only --no-mmap and --quiet apply to a resume"), 2;
	cli_catch_signals();
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0)
		return cli_failf("resume: cannot open %s: %s", path, strerror(errno));
	if (vfmig_session_open(&s, argv + optind, (unsigned int)(argc - optind), &o.session, &err)) {
		if (fd != STDIN_FILENO)
			close(fd);
		return cli_fail(&err);
	}
	ret = vfmig_session_load(s, &(struct vfmig_endpoint){ .fd = fd }, &cli_cancel,
				 &err);
	if (fd != STDIN_FILENO)
		close(fd);
	cli_report_prepared(&o, s);
	if (!ret && !o.quiet)
		fprintf(stderr, "resumed %u device%s from %s; running\n", s->nr,
			s->nr == 1 ? "" : "s", strcmp(path, "-") ? path : "stdin");
	vfmig_session_close(s);
	if (ret) {
		vfmig_err_prefix(&err, "resume failed (devices reset): ");
		return cli_fail(&err);
	}
	return 0;
}
