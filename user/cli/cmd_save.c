// SPDX-License-Identifier: GPL-2.0
/* vfmig save UUID... -o FILE|-   and   vfmig resume UUID... -i FILE|- */
#include <errno.h>
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
	"  --protocol P          auto (default: v2 where offered, else v1), v1 or v2;\n"
	"                        the stream may come from either\n"
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
	while ((c = getopt_long(argc, argv, save ? "o:" MIGOPTS_SHORT : "i:" MIGOPTS_SHORT,
				 longopts, NULL)) != -1) {
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


static int save_to(struct vfmig_session *s, const char *path)
{
	return strcmp(path, "-") ? vfmig_save_file(s, path) : vfmig_save(s, STDOUT_FILENO);
}

int cmd_save(int argc, char **argv)
{
	const char *path = NULL;
	struct vfmig_session *s;
	struct migopts o;
	int ret;

	ret = parse(argc, argv, &o, &path, true);
	if (ret >= 0)
		return ret;
	if (!strcmp(path, "-") && o.json)
		return cli_failf("save: --json and '-o -' would share stdout; pick one");
	cli_catch_signals();
	if (vfmig_session_open(cli_ctx(), (const char *const *)argv + optind,
			       (unsigned int)(argc - optind), &s))
		return cli_fail();
	cli_show_progress(&o);
	ret = save_to(s, path);
	cli_progress_done(&o);
	/* Before the report: the next library call clears the error. */
	if (ret)
		ret = cli_fail();
	cli_report_save(&o, s);
	vfmig_session_close(s);
	return ret;
}

int cmd_resume(int argc, char **argv)
{
	const char *path = NULL;
	struct vfmig_session *s;
	struct migopts o;
	int ret;

	ret = parse(argc, argv, &o, &path, false);
	if (ret >= 0)
		return ret;
	/* The shared parser knows the save-side options too; they mean nothing here. */
	if (o.save_only_given)
		return cli_failf("resume: only --no-mmap, --protocol and --quiet apply to a resume"), 2;
	cli_catch_signals();
	if (vfmig_session_open(cli_ctx(), (const char *const *)argv + optind,
			       (unsigned int)(argc - optind), &s))
		return cli_fail();
	ret = strcmp(path, "-") ? vfmig_resume_file(s, path) : vfmig_resume(s, STDIN_FILENO);
	if (!ret && !o.quiet)
		fprintf(stderr, "resumed %u device%s from %s; running\n", vfmig_session_count(s),
			vfmig_session_count(s) == 1 ? "" : "s", strcmp(path, "-") ? path : "stdin");
	vfmig_session_close(s);
	return ret ? cli_fail() : 0;
}
