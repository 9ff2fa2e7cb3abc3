// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig migrate --from A --to B [--from C --to D]...: both ends in one
 * process, through vfmig_migrate() (the library's in-process channel or
 * socket pair per lane, and its loader thread).
 */
#include <stdio.h>
#include <string.h>

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
	"  --from-protocol P, --to-protocol P  --protocol for one side only, so a v1\n"
	"                        source can feed a v2 destination and back\n"
	MIGOPTS_HELP;

/* The protocol for one side's session: its own option, else --protocol. */
static void side_protocol(const struct migopts *o, int side)
{
	vfmig_set_option(cli_ctx(), VFMIG_OPT_PROTOCOL,
			 side >= 0 ? (uint64_t)side : (uint64_t)o->protocol);
}

int cmd_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "from-protocol", required_argument, NULL, 'F' },
		{ "to-protocol", required_argument, NULL, 'T' },
		MIGOPTS_LONG,
		{ NULL, 0, NULL, 0 },
	};
	const char *from[VFMIG_MAX_DEVICES], *to[VFMIG_MAX_DEVICES];
	struct vfmig_session *src = NULL, *dst = NULL;
	struct migopts o;
	unsigned int nf = 0, nt = 0;
	int c, r, ret, fp = -1, tp = -1;
	enum vfmig_protocol p;

	migopts_init(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, MIGOPTS_SHORT, longopts, NULL)) != -1) {
		if (c == 'h') {
			fputs(migrate_usage, stdout);
			return 0;
		}
		if (c == 'f' || c == 't') {
			unsigned int *n = c == 'f' ? &nf : &nt;

			if (*n >= VFMIG_MAX_DEVICES)
				return cli_failf("migrate: at most %u device pairs",
						 VFMIG_MAX_DEVICES);
			(c == 'f' ? from : to)[(*n)++] = optarg;
			continue;
		}
		if (c == 'F' || c == 'T') {
			if (parse_protocol(optarg, &p))
				return cli_failf("migrate: %s: '%s' is not auto, v1 or v2",
						 c == 'F' ? "--from-protocol" : "--to-protocol",
						 optarg), 2;
			*(c == 'F' ? &fp : &tp) = (int)p;
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
	/* Both ends in one process: nothing to gain from compressing. */
	if (o.compress_given)
		return cli_failf("migrate: --compress applies to send and save only; "
				 "the in-process migration is not compressed"), 2;
	for (unsigned int i = 0; i < nf; i++)
		for (unsigned int j = 0; j < nt; j++)
			if (!strcmp(from[i], to[j]))
				return cli_failf("migrate: device %s cannot be its own destination",
						 from[i]), 2;
	cli_catch_signals();
	/* Each side's protocol is read when its session opens. */
	side_protocol(&o, fp);
	if (vfmig_session_open(cli_ctx(), from, nf, &src))
		return cli_fail();
	side_protocol(&o, tp);
	if (vfmig_session_open(cli_ctx(), to, nt, &dst)) {
		ret = cli_fail();
		vfmig_session_close(src);
		return ret;
	}
	cli_show_progress(&o);
	ret = vfmig_migrate(src, dst);
	cli_progress_done(&o);
	/* Before the report: the next library call clears the error. */
	if (ret)
		ret = cli_fail();
	cli_report_save(&o, src);
	vfmig_session_close(dst);
	vfmig_session_close(src);
	return ret;
}
