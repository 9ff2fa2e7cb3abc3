/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Convergence decisions and statistics, in the manner of QEMU 7.2:
 * bandwidth is measured per iteration, threshold = bandwidth x downtime
 * limit, and the engine switches to stop-and-copy once the pending state
 * fits below that threshold.  Time comes from an injectable clock so tests
 * are deterministic.
 */
#ifndef VFMIG_CONVERGENCE_H
#define VFMIG_CONVERGENCE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stream.h"	/* VFMIG_IDSTR_MAX */

struct vfmig_clock {
	uint64_t (*now_ns)(void *opaque);
	void (*sleep_ns)(void *opaque, uint64_t ns);
	void *opaque;
};

/* CLOCK_MONOTONIC and nanosleep. */
extern const struct vfmig_clock vfmig_clock_monotonic;

#define VFMIG_DEFAULT_DOWNTIME_MS	300u
#define VFMIG_MAX_DOWNTIME_MS		2000000u	/* QEMU: 2000 s */
#define VFMIG_MAX_ITERATIONS		1000000u
#define VFMIG_RATE_WINDOW_MS		100u		/* QEMU's BUFFER_DELAY */

struct vfmig_conv_opts {
	uint64_t downtime_limit_ms;	/* default 300 */
	uint64_t max_bandwidth;		/* bytes/s, 0 = unlimited */
	unsigned int max_iterations;	/* 0 = unlimited */
	bool offline;			/* stop the device first, no pre-copy */
	unsigned int compress;		/* VFMIG_CODEC_* for an fd stream (compress.h) */
	int compress_level;		/* 0: the codec's default */
};

void vfmig_conv_opts_init(struct vfmig_conv_opts *o);

enum vfmig_conv_decision {
	VFMIG_CONV_ITERATE,	/* another pre-copy round */
	VFMIG_CONV_COMPLETE,	/* pending fits the downtime: stop-and-copy */
	VFMIG_CONV_GIVE_UP,	/* max_iterations reached without converging */
};

struct vfmig_conv {
	struct vfmig_conv_opts opts;
	const struct vfmig_clock *clock;
	uint64_t iter_start_ns, iter_start_bytes;
	uint64_t bandwidth;		/* bytes/s measured in the last iteration */
	uint64_t threshold;		/* bytes that fit in downtime_limit_ms */
	unsigned int iterations;	/* completed pre-copy rounds */
	uint64_t window_start_ns, window_start_bytes;	/* rate limiter */
	uint64_t throttled_ns;		/* total time slept by the limiter */
};

void vfmig_conv_init(struct vfmig_conv *c, const struct vfmig_conv_opts *opts,
		     const struct vfmig_clock *clock);
uint64_t vfmig_conv_now(const struct vfmig_conv *c);
void vfmig_conv_begin_iteration(struct vfmig_conv *c, uint64_t transferred);
/* Measure bandwidth over the iteration and recompute the threshold. */
void vfmig_conv_end_iteration(struct vfmig_conv *c, uint64_t transferred);
enum vfmig_conv_decision vfmig_conv_decide(const struct vfmig_conv *c, uint64_t pending);
/* pending / bandwidth in ms; the downtime limit while nothing is measured. */
uint64_t vfmig_conv_expected_downtime_ms(const struct vfmig_conv *c, uint64_t pending);
/*
 * Rate limiter: sleeps while transfers are ahead of max_bandwidth, then
 * returns how many bytes may go out in the current 100 ms window
 * (UINT64_MAX when unlimited).
 */
uint64_t vfmig_conv_budget(struct vfmig_conv *c, uint64_t transferred);

#define VFMIG_STATS_MAX_ITERS	256u
#define VFMIG_STATS_MAX_DEVICES	16u

struct vfmig_dev_stats {
	char idstr[VFMIG_IDSTR_MAX + 1];
	uint32_t instance;
	uint64_t bytes;		/* stream bytes of this device's sections */
};

/* Statistics in QEMU's "info migrate" vocabulary. */
struct vfmig_stats {
	const char *status;	/* "completed", "failed", "cancelled" */
	uint64_t total_time_ms;
	uint64_t setup_time_ms;
	uint64_t downtime_ms;
	uint64_t expected_downtime_ms;
	uint64_t downtime_limit_ms;
	uint64_t max_bandwidth;
	uint64_t transferred;
	double mbps;
	uint64_t bandwidth;	/* bytes/s, last measurement */
	uint64_t threshold;
	uint64_t iterations;	/* pre-copy rounds */
	uint64_t dirty_sync_count;	/* pending queries */
	bool offline;
	unsigned int nr_pending;	/* entries in pending[] (capped) */
	uint64_t pending[VFMIG_STATS_MAX_ITERS];
	unsigned int nr_devices;
	struct vfmig_dev_stats dev[VFMIG_STATS_MAX_DEVICES];
	char error[VFMIG_ERR_MAX];
	uint64_t peak_rss_kib;	/* set by the caller (getrusage); 0 = not printed */
};

void vfmig_stats_init(struct vfmig_stats *s);
void vfmig_stats_add_pending(struct vfmig_stats *s, uint64_t pending);
/* mbps = transferred * 8 / (total - setup) ms / 1000, as QEMU computes it. */
void vfmig_stats_finish(struct vfmig_stats *s);
int vfmig_stats_write_json(const struct vfmig_stats *s, FILE *out);

#endif /* VFMIG_CONVERGENCE_H */
