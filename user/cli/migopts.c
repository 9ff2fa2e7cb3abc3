// SPDX-License-Identifier: GPL-2.0
/* Options, signals, progress and reports shared by the migration commands. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "migopts.h"

void migopts_init(struct migopts *o)
{
	memset(o, 0, sizeof(*o));
	o->progress = -1;
	cli_ctx();
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	/* Decimal digits first: strtoull would skip blanks, take a sign, read 010 as 8. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	default: break;
	}
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A numeric option: parsed here, range-checked by the library. */
static int set_number(struct migopts *o, enum vfmig_option opt, const char *name,
		      const char *arg)
{
	uint64_t v;

	o->save_only_given = true;
	if (parse_size(arg, &v))
		return cli_failf("%s: '%s' is not a number", name, arg), -1;
	if (vfmig_set_option(cli_ctx(), opt, v))
		return cli_failf("%s: %s", name, vfmig_error_message(cli_ctx())), -1;
	return 1;
}

int parse_protocol(const char *s, enum vfmig_protocol *out)
{
	static const enum vfmig_protocol all[] = {
		VFMIG_PROTOCOL_AUTO, VFMIG_PROTOCOL_V1, VFMIG_PROTOCOL_V2,
	};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (!strcmp(s, vfmig_protocol_name(all[i]))) {
			*out = all[i];
			return 0;
		}
	return -1;
}

/* --compress none|zstd[:LEVEL]|lz4[:ACCEL]. */
static int set_compress(struct migopts *o, const char *arg)
{
	static const char *const names[] = { "none", "zstd", "lz4" };
	static const enum vfmig_compress codecs[] = {
		VFMIG_COMPRESS_NONE, VFMIG_COMPRESS_ZSTD, VFMIG_COMPRESS_LZ4,
	};
	const char *colon = strchr(arg, ':');
	size_t len = colon ? (size_t)(colon - arg) : strlen(arg);
	uint64_t level = 0;
	size_t i;

	o->save_only_given = o->compress_given = true;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(arg, names[i], len))
			break;
	if (i == sizeof(names) / sizeof(names[0]))
		return cli_failf("--compress: '%s' is not none, zstd[:LEVEL] or lz4[:ACCEL]", arg), -1;
	if (colon && (codecs[i] == VFMIG_COMPRESS_NONE || parse_size(colon + 1, &level) || !level))
		return cli_failf("--compress: bad level in '%s'", arg), -1;
	if (vfmig_set_option(cli_ctx(), VFMIG_OPT_COMPRESS, codecs[i]) ||
	    vfmig_set_option(cli_ctx(), VFMIG_OPT_COMPRESS_LEVEL, level))
		return cli_failf("--compress: %s", vfmig_error_message(cli_ctx())), -1;
	return 1;
}

int migopts_parse(struct migopts *o, int code, const char *arg)
{
	switch (code) {
	case 0x10c:
		return set_compress(o, arg);
	case 0x108:
		if (parse_protocol(arg, &o->protocol))
			return cli_failf("--protocol: '%s' is not auto, v1 or v2", arg), -1;
		vfmig_set_option(cli_ctx(), VFMIG_OPT_PROTOCOL, o->protocol);
		return 1;
	case 0x109: {
		uint64_t v;

		/* Not save-only: a resume or receive accepts it and follows the stream. */
		if (!strcmp(arg, "auto"))
			v = 0;
		else if (parse_size(arg, &v) || !v)
			return cli_failf("--parallel: '%s' is not auto or a number of lanes (1..%u)",
					 arg, VFMIG_MAX_DEVICES), -1;
		if (vfmig_set_option(cli_ctx(), VFMIG_OPT_PARALLEL, v))
			return cli_failf("--parallel: %s", vfmig_error_message(cli_ctx())), -1;
		return 1;
	}
	case 0x100:
		return set_number(o, VFMIG_OPT_DOWNTIME_LIMIT_MS, "--downtime-limit", arg);
	case 0x101:
		return set_number(o, VFMIG_OPT_MAX_BANDWIDTH, "--max-bandwidth", arg);
	case 0x102:
		return set_number(o, VFMIG_OPT_MAX_ITERATIONS, "--max-iterations", arg);
	case 0x103:
		o->save_only_given = true;
		vfmig_set_option(cli_ctx(), VFMIG_OPT_OFFLINE, 1);
		return 1;
	case 0x104:
		vfmig_set_option(cli_ctx(), VFMIG_OPT_NO_MMAP, 1);
		return 1;
	case 0x105:
		o->save_only_given = true;
		o->json = true;
		return 1;
	case 0x106:
		o->save_only_given = true;
		o->progress = 1;
		return 1;
	case 0x107:
		o->progress = 0;
		return 1;
	case 'q':
		o->quiet = true;
		o->progress = 0;
		cli_verbosity = -1;
		cli_ctx();
		return 1;
	case 'v':
		if (cli_verbosity >= 0)
			cli_verbosity++;
		cli_ctx();
		return 1;
	default:
		return 0;
	}
}

/*
 * The context a signal cancels, set before the handler is installed: the
 * handler may only call vfmig_cancel() (async-signal-safe), not cli_ctx(),
 * which sets the log callback that the loader thread reads meanwhile.
 */
static struct vfmig_ctx *signal_ctx;

static void on_signal(int sig)
{
	(void)sig;
	vfmig_cancel(signal_ctx);
}

/* Default actions again, before the context the handler cancels is freed. */
void cli_release_signals(void)
{
	if (!signal_ctx)
		return;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal_ctx = NULL;
}

void cli_catch_signals(void)
{
	signal_ctx = cli_ctx();
	/* No SA_RESTART: a blocked read or write returns EINTR and sees the cancel. */
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void human(char *buf, size_t len, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)bytes;
	unsigned int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static bool progress_on(const struct migopts *o)
{
	if (o->progress >= 0)
		return o->progress;
	return isatty(STDERR_FILENO);
}

static bool line_drawn;

static void draw_progress(void *opaque, const struct vfmig_progress *p)
{
	const struct migopts *o = opaque;
	static uint64_t last_ms;
	static const char *last_phase;
	char sent[32], pend[32], rate[32];
	bool tty = isatty(STDERR_FILENO);

	if (!progress_on(o))
		return;
	/* Phase changes always show; otherwise at most 5 updates a second. */
	if (p->phase == last_phase && p->elapsed_ms - last_ms < 200 && line_drawn)
		return;
	last_phase = p->phase;
	last_ms = p->elapsed_ms;
	human(sent, sizeof(sent), p->transferred);
	human(pend, sizeof(pend), p->pending);
	human(rate, sizeof(rate), p->bandwidth);
	fprintf(stderr, "%s%-13s iter %-4u sent %10s  pending %10s  rate %10s/s  downtime ~%" PRIu64 " ms%s",
		tty ? "\r" : "", p->phase, p->iteration, sent, pend, rate,
		p->expected_downtime_ms, tty ? "\033[K" : "\n");
	line_drawn = tty;
}

void cli_show_progress(struct migopts *o)
{
	vfmig_set_progress(cli_ctx(), draw_progress, o);
}

void cli_progress_done(const struct migopts *o)
{
	(void)o;
	if (line_drawn)
		fputc('\n', stderr);
	line_drawn = false;
}

void cli_report_save(const struct migopts *o, const struct vfmig_session *s)
{
	unsigned int nr = vfmig_session_count(s);
	uint64_t iters = vfmig_stats_get(s, VFMIG_STAT_ITERATIONS);
	char sent[32];

	if (o->json) {
		vfmig_stats_print_json(s, stdout);
		fflush(stdout);
		return;
	}
	if (o->quiet || strcmp(vfmig_stats_status(s), "completed"))
		return;
	human(sent, sizeof(sent), vfmig_stats_get(s, VFMIG_STAT_TRANSFERRED));
	fprintf(stderr, "completed: %s in %" PRIu64 " ms (setup %" PRIu64 " ms, downtime %" PRIu64
		" ms), %u device%s, %" PRIu64 " pre-copy iteration%s, %.1f Mbit/s\n",
		sent, vfmig_stats_get(s, VFMIG_STAT_TOTAL_TIME_MS),
		vfmig_stats_get(s, VFMIG_STAT_SETUP_TIME_MS),
		vfmig_stats_get(s, VFMIG_STAT_DOWNTIME_MS), nr, nr == 1 ? "" : "s", iters,
		iters == 1 ? "" : "s", vfmig_stats_mbps(s));
}
