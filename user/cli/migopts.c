// SPDX-License-Identifier: GPL-2.0
/* Options, signals, progress and reports shared by the migration commands. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "migopts.h"

volatile sig_atomic_t cli_cancel;

void migopts_init(struct migopts *o)
{
	memset(o, 0, sizeof(*o));
	vfmig_conv_opts_init(&o->conv);
	o->progress = -1;
}

int parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
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

int migopts_parse(struct migopts *o, int code, const char *arg)
{
	uint64_t v;

	switch (code) {
	case 0x100:
		if (parse_size(arg, &v) || v > VFMIG_MAX_DOWNTIME_MS)
			return cli_failf("--downtime-limit: '%s' is not a number of milliseconds up to %u",
					 arg, VFMIG_MAX_DOWNTIME_MS), -1;
		o->conv.downtime_limit_ms = v;
		return 1;
	case 0x101:
		if (parse_size(arg, &v))
			return cli_failf("--max-bandwidth: '%s' is not a rate in bytes/s", arg), -1;
		o->conv.max_bandwidth = v;
		return 1;
	case 0x102:
		if (parse_size(arg, &v) || v > 1000000)
			return cli_failf("--max-iterations: '%s' is not a count up to 1000000", arg), -1;
		o->conv.max_iterations = (unsigned int)v;
		return 1;
	case 0x103:
		o->conv.offline = true;
		return 1;
	case 0x104:
		o->session.no_mmap = true;
		return 1;
	case 0x105:
		o->json = true;
		return 1;
	case 0x106:
		o->progress = 1;
		return 1;
	case 0x107:
		o->progress = 0;
		return 1;
	case 'q':
		o->quiet = true;
		o->progress = 0;
		return 1;
	default:
		return 0;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	cli_cancel = 1;
}

void cli_catch_signals(void)
{
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

void cli_progress(void *opaque, const struct vfmig_progress *p)
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

void cli_progress_done(const struct migopts *o)
{
	(void)o;
	if (line_drawn)
		fputc('\n', stderr);
	line_drawn = false;
}

void cli_report_save(const struct migopts *o, const struct vfmig_stats *st,
		     struct vfmig_session *s)
{
	char sent[32];

	if (o->json) {
		struct vfmig_stats with_rss = *st;
		struct rusage ru;

		/* Peak RSS of this process (KiB on Linux), mapped data sections included. */
		if (!getrusage(RUSAGE_SELF, &ru))
			with_rss.peak_rss_kib = (uint64_t)ru.ru_maxrss;
		vfmig_stats_print_json(&with_rss, stdout);
		fflush(stdout);
		return;
	}
	if (o->quiet || strcmp(st->status, "completed"))
		return;
	human(sent, sizeof(sent), st->transferred);
	fprintf(stderr, "%s: %s in %" PRIu64 " ms (setup %" PRIu64 " ms, downtime %" PRIu64
		" ms), %u device%s, %" PRIu64 " pre-copy iteration%s, %.1f Mbit/s\n",
		st->status, sent, st->total_time_ms, st->setup_time_ms, st->downtime_ms,
		s->nr, s->nr == 1 ? "" : "s", st->iterations, st->iterations == 1 ? "" : "s",
		st->mbps);
}

void cli_report_prepared(const struct migopts *o, const struct vfmig_session *s)
{
	for (unsigned int i = 0; s && !o->quiet && i < s->nr; i++) {
		const struct vfmig_session_dev *sd = s->dev[i];

		if (sd->prep.action == VFMIG_RECOVER_RESET)
			fprintf(stderr, "vfmig: destination %s: %s; reset it before the resume\n",
				sd->vfio.uuid, sd->prep.why);
	}
}
