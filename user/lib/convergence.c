// SPDX-License-Identifier: GPL-2.0
/* Convergence: bandwidth, threshold, rate limit, statistics. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "convergence.h"

#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

static uint64_t mono_now(void *opaque)
{
	struct timespec ts;

	(void)opaque;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void mono_sleep(void *opaque, uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / NS_PER_S),
			       .tv_nsec = (long)(ns % NS_PER_S) };

	(void)opaque;
	/* A signal (SIGINT for cancel) may cut the sleep short; that is fine. */
	nanosleep(&ts, NULL);
}

const struct vfmig_clock vfmig_clock_monotonic = {
	.now_ns = mono_now,
	.sleep_ns = mono_sleep,
};

void vfmig_conv_opts_init(struct vfmig_conv_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->downtime_limit_ms = VFMIG_DEFAULT_DOWNTIME_MS;
}

void vfmig_conv_init(struct vfmig_conv *c, const struct vfmig_conv_opts *opts,
		     const struct vfmig_clock *clock)
{
	memset(c, 0, sizeof(*c));
	c->opts = *opts;
	c->clock = clock ? clock : &vfmig_clock_monotonic;
	c->iter_start_ns = c->window_start_ns = vfmig_conv_now(c);
}

uint64_t vfmig_conv_now(const struct vfmig_conv *c)
{
	return c->clock->now_ns(c->clock->opaque);
}

void vfmig_conv_begin_iteration(struct vfmig_conv *c, uint64_t transferred)
{
	c->iter_start_ns = vfmig_conv_now(c);
	c->iter_start_bytes = transferred;
}

void vfmig_conv_end_iteration(struct vfmig_conv *c, uint64_t transferred)
{
	uint64_t ns = vfmig_conv_now(c) - c->iter_start_ns;
	uint64_t bytes = transferred - c->iter_start_bytes;

	c->iterations++;
	/* No time passed: keep the previous measurement rather than divide by 0. */
	if (!ns)
		return;
	c->bandwidth = (uint64_t)((double)bytes * NS_PER_S / (double)ns);
	/*
	 * A round shorter than one rate window can outrun the limit (a device
	 * chunk is sent whole); stop-and-copy will not go faster than the limit
	 * lets the rounds go, so the limit caps the estimate.
	 */
	if (c->opts.max_bandwidth && c->bandwidth > c->opts.max_bandwidth)
		c->bandwidth = c->opts.max_bandwidth;
	c->threshold = (uint64_t)((double)c->bandwidth * (double)c->opts.downtime_limit_ms / 1000.0);
}

enum vfmig_conv_decision vfmig_conv_decide(const struct vfmig_conv *c, uint64_t pending)
{
	if (pending <= c->threshold)
		return VFMIG_CONV_COMPLETE;
	if (c->opts.max_iterations && c->iterations >= c->opts.max_iterations)
		return VFMIG_CONV_GIVE_UP;
	return VFMIG_CONV_ITERATE;
}

uint64_t vfmig_conv_expected_downtime_ms(const struct vfmig_conv *c, uint64_t pending)
{
	if (!c->bandwidth)
		return c->opts.downtime_limit_ms;
	return (uint64_t)((double)pending * 1000.0 / (double)c->bandwidth);
}

uint64_t vfmig_conv_budget(struct vfmig_conv *c, uint64_t transferred)
{
	uint64_t now, used, need_ns, elapsed, allowance;

	if (!c->opts.max_bandwidth)
		return UINT64_MAX;
	allowance = c->opts.max_bandwidth * VFMIG_RATE_WINDOW_MS / 1000;
	if (!allowance)
		allowance = 1;
	now = vfmig_conv_now(c);
	used = transferred - c->window_start_bytes;
	/* Time these bytes are allowed to take at max_bandwidth. */
	need_ns = (uint64_t)((double)used * NS_PER_S / (double)c->opts.max_bandwidth);
	elapsed = now - c->window_start_ns;
	if (used >= allowance) {
		if (need_ns > elapsed) {
			c->clock->sleep_ns(c->clock->opaque, need_ns - elapsed);
			c->throttled_ns += need_ns - elapsed;
			now = vfmig_conv_now(c);
		}
		c->window_start_ns = now;
		c->window_start_bytes = transferred;
		return allowance;
	}
	if (elapsed >= VFMIG_RATE_WINDOW_MS * NS_PER_MS) {
		c->window_start_ns = now;
		c->window_start_bytes = transferred;
		return allowance;
	}
	return allowance - used;
}

void vfmig_stats_init(struct vfmig_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->status = "setup";
}

void vfmig_stats_add_pending(struct vfmig_stats *s, uint64_t pending)
{
	s->dirty_sync_count++;
	if (s->nr_pending < VFMIG_STATS_MAX_ITERS)
		s->pending[s->nr_pending++] = pending;
}

void vfmig_stats_finish(struct vfmig_stats *s)
{
	uint64_t ms = s->total_time_ms - s->setup_time_ms;

	s->mbps = ms ? (double)s->transferred * 8.0 / (double)ms / 1000.0 : 0.0;
}

static void json_str(FILE *out, const char *str)
{
	const unsigned char *p = (const unsigned char *)(str ? str : "");

	fputc('"', out);
	for (; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

int vfmig_stats_write_json(const struct vfmig_stats *s, FILE *out)
{
	unsigned int i;

	fputs("{\"status\": ", out);
	json_str(out, s->status);
	fprintf(out, ", \"total-time\": %" PRIu64 ", \"setup-time\": %" PRIu64
		", \"downtime\": %" PRIu64 ", \"expected-downtime\": %" PRIu64
		", \"downtime-limit\": %" PRIu64 ", \"max-bandwidth\": %" PRIu64
		", \"transferred\": %" PRIu64 ", \"mbps\": %.2f, \"bandwidth\": %" PRIu64
		", \"threshold\": %" PRIu64 ", \"iterations\": %" PRIu64
		", \"dirty-sync-count\": %" PRIu64 ", \"offline\": %s, \"pending\": [",
		s->total_time_ms, s->setup_time_ms, s->downtime_ms, s->expected_downtime_ms,
		s->downtime_limit_ms, s->max_bandwidth, s->transferred, s->mbps, s->bandwidth,
		s->threshold, s->iterations, s->dirty_sync_count, s->offline ? "true" : "false");
	for (i = 0; i < s->nr_pending; i++)
		fprintf(out, "%s%" PRIu64, i ? ", " : "", s->pending[i]);
	fputs("], \"devices\": [", out);
	for (i = 0; i < s->nr_devices; i++) {
		fputs(i ? ", {\"id\": " : "{\"id\": ", out);
		json_str(out, s->dev[i].idstr);
		fprintf(out, ", \"instance\": %u, \"transferred\": %" PRIu64 "}",
			s->dev[i].instance, s->dev[i].bytes);
	}
	fputs("]", out);
	if (s->peak_rss_kib)
		fprintf(out, ", \"peak-rss-kib\": %" PRIu64, s->peak_rss_kib);
	if (s->error[0]) {
		fputs(", \"error\": ", out);
		json_str(out, s->error);
	}
	fputs("}\n", out);
	return ferror(out) ? -EIO : 0;
}
