// SPDX-License-Identifier: GPL-2.0
/* Convergence decisions, rate limiting and statistics with a fake clock. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream, F_SETPIPE_SZ */
#endif
#include <errno.h>

#include "convergence.h"
#include "testutil.h"

#define MS 1000000ull

/*
 * The decision maker on a fake clock at 0, a test's *state (fixture_setup):
 * it gets the default options in f->o, changes what it tests, then calls
 * start().
 */
struct conv_fixture {
	struct vfmig_conv_opts o;
	struct tu_clock clk;
	struct vfmig_conv c;
};

static int fixture_setup(void **state)
{
	struct conv_fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	tu_clock_init(&f->clk, 0);
	vfmig_conv_opts_init(&f->o);
	*state = f;
	return 0;
}

static int fixture_teardown(void **state)
{
	free(*state);
	return 0;
}

static struct vfmig_conv *start(struct conv_fixture *f)
{
	vfmig_conv_init(&f->c, &f->o, &f->clk.clock);
	return &f->c;
}

/* One pre-copy round that took @ms, from @before to @after bytes sent. */
static void round_of(struct conv_fixture *f, uint64_t before, uint64_t ms, uint64_t after)
{
	vfmig_conv_begin_iteration(&f->c, before);
	f->clk.t += ms * MS;
	vfmig_conv_end_iteration(&f->c, after);
}

static void test_defaults(void **state)
{
	struct vfmig_conv_opts o;

	(void)state;
	vfmig_conv_opts_init(&o);
	assert_int_equal(o.downtime_limit_ms, 300);
	assert_int_equal(o.max_bandwidth, 0);
	assert_int_equal(o.max_iterations, 0);
	assert_false(o.offline);
}

/* Nothing measured yet: threshold 0, so anything pending means iterate. */
static void test_initial_decision(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;

	c = start(f);
	assert_int_equal(c->threshold, 0);
	assert_int_equal(vfmig_conv_decide(c, 0), VFMIG_CONV_COMPLETE);
	assert_int_equal(vfmig_conv_decide(c, 1), VFMIG_CONV_ITERATE);
	assert_int_equal(vfmig_conv_expected_downtime_ms(c, 12345), 300);
}

/* 10 MB in 100 ms = 100 MB/s; x 300 ms = 30 MB threshold. */
static void test_threshold_from_bandwidth(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;

	c = start(f);
	round_of(f, 0, 100, 10000000);
	assert_int_equal(c->bandwidth, 100000000);
	assert_int_equal(c->threshold, 30000000);
	assert_int_equal(c->iterations, 1);
	assert_int_equal(vfmig_conv_decide(c, 30000000), VFMIG_CONV_COMPLETE);
	assert_int_equal(vfmig_conv_decide(c, 30000001), VFMIG_CONV_ITERATE);
	assert_int_equal(vfmig_conv_expected_downtime_ms(c, 50000000), 500);

	/* The next round is slower: 1 MB in 1 s; threshold follows. */
	round_of(f, 10000000, 1000, 11000000);
	assert_int_equal(c->bandwidth, 1000000);
	assert_int_equal(c->threshold, 300000);
	assert_int_equal(vfmig_conv_decide(c, 300001), VFMIG_CONV_ITERATE);
}

/* A fast round under a 1 MB/s limit: the limit, not the burst, sets the threshold. */
static void test_bandwidth_capped_by_limit(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;

	f->o.max_bandwidth = 1000000;
	c = start(f);
	round_of(f, 0, 10, 1000000);	/* 100 MB/s burst */
	assert_int_equal(c->bandwidth, 1000000);
	assert_int_equal(c->threshold, 300000);
	assert_int_equal(vfmig_conv_decide(c, 16000000), VFMIG_CONV_ITERATE);
}

/* A round that took no time keeps the previous measurement. */
static void test_zero_elapsed(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;

	f->o.downtime_limit_ms = 1000;
	c = start(f);
	round_of(f, 0, 1000, 4096);
	assert_int_equal(c->threshold, 4096);
	vfmig_conv_begin_iteration(c, 4096);
	vfmig_conv_end_iteration(c, 1 << 30);
	assert_int_equal(c->bandwidth, 4096);
	assert_int_equal(c->threshold, 4096);
	assert_int_equal(c->iterations, 2);
}

static void test_max_iterations(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;
	int i;

	f->o.max_iterations = 3;
	c = start(f);
	for (i = 0; i < 3; i++) {
		assert_int_equal(vfmig_conv_decide(c, 1 << 20), VFMIG_CONV_ITERATE);
		round_of(f, 0, 1000, 1000);	/* 1000 B/s -> 300 B */
	}
	assert_int_equal(vfmig_conv_decide(c, 1 << 20), VFMIG_CONV_GIVE_UP);
	/* Converged state still wins over the limit. */
	assert_int_equal(vfmig_conv_decide(c, 300), VFMIG_CONV_COMPLETE);
}

static void test_rate_limit_unlimited(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;

	c = start(f);
	assert_true(vfmig_conv_budget(c, 1ull << 40) == UINT64_MAX);
	assert_int_equal(f->clk.slept, 0);
}

/* 1 MB/s: 100 KB per 100 ms window; overshoot is paid back by sleeping. */
static void test_rate_limit(void **state)
{
	struct conv_fixture *f = *state;
	struct vfmig_conv *c;

	f->o.max_bandwidth = 1000000;
	c = start(f);
	assert_int_equal(vfmig_conv_budget(c, 0), 100000);
	assert_int_equal(vfmig_conv_budget(c, 40000), 60000);
	assert_int_equal(f->clk.slept, 0);
	/* 250 KB sent at once: 250 ms at 1 MB/s. */
	assert_int_equal(vfmig_conv_budget(c, 250000), 100000);
	assert_int_equal(f->clk.slept, 250 * MS);
	/* After 100 ms of real time a new window opens without sleeping. */
	f->clk.t += 100 * MS;
	assert_int_equal(vfmig_conv_budget(c, 260000), 100000);
	assert_int_equal(f->clk.slept, 250 * MS);
	assert_int_equal(c->throttled_ns, 250 * MS);
}

static void test_stats_mbps(void **state)
{
	struct vfmig_stats *s = malloc(sizeof(*s));

	(void)state;
	vfmig_stats_init(s);
	s->transferred = 125000000;	/* 1 Gbit */
	s->total_time_ms = 1100;
	s->setup_time_ms = 100;
	vfmig_stats_finish(s);
	assert_true(s->mbps > 999.99 && s->mbps < 1000.01);
	s->total_time_ms = s->setup_time_ms;
	vfmig_stats_finish(s);
	assert_true(s->mbps == 0.0);
	free(s);
}

static void test_stats_pending_capped(void **state)
{
	struct vfmig_stats *s = malloc(sizeof(*s));
	unsigned int i;

	(void)state;
	vfmig_stats_init(s);
	for (i = 0; i < VFMIG_STATS_MAX_ITERS + 10; i++)
		vfmig_stats_add_pending(s, i);
	assert_int_equal(s->nr_pending, VFMIG_STATS_MAX_ITERS);
	assert_int_equal(s->dirty_sync_count, VFMIG_STATS_MAX_ITERS + 10);
	assert_int_equal(s->pending[VFMIG_STATS_MAX_ITERS - 1], VFMIG_STATS_MAX_ITERS - 1);
	free(s);
}

static void test_stats_json(void **state)
{
	struct vfmig_stats *s = malloc(sizeof(*s));
	char *out = NULL;
	size_t len;
	FILE *f;

	(void)state;
	vfmig_stats_init(s);
	s->status = "failed";
	s->total_time_ms = 1500;
	s->setup_time_ms = 500;
	s->downtime_ms = 20;
	s->expected_downtime_ms = 30;
	s->downtime_limit_ms = 300;
	s->max_bandwidth = 0;
	s->transferred = 1000000;
	s->bandwidth = 2000000;
	s->threshold = 600000;
	s->iterations = 2;
	vfmig_stats_add_pending(s, 70000);
	vfmig_stats_add_pending(s, 5000);
	vfmig_stats_add_pending(s, 0);
	s->nr_devices = 2;
	strcpy(s->dev[0].idstr, "dev\"0\\");
	s->dev[0].bytes = 600000;
	strcpy(s->dev[1].idstr, "dev1");
	s->dev[1].instance = 1;
	s->dev[1].bytes = 399991;
	strcpy(s->error, "line\nbreak\x01");
	vfmig_stats_finish(s);
	f = open_memstream(&out, &len);
	assert_int_equal(vfmig_stats_write_json(s, f), 0);
	fclose(f);
	assert_string_equal(out,
		"{\"status\": \"failed\", \"total-time\": 1500, \"setup-time\": 500, \"downtime\": 20, "
		"\"expected-downtime\": 30, \"downtime-limit\": 300, \"max-bandwidth\": 0, "
		"\"transferred\": 1000000, \"mbps\": 8.00, \"bandwidth\": 2000000, \"threshold\": 600000, "
		"\"iterations\": 2, \"dirty-sync-count\": 3, \"offline\": false, "
		"\"pending\": [70000, 5000, 0], \"devices\": ["
		"{\"id\": \"dev\\\"0\\\\\", \"instance\": 0, \"transferred\": 600000}, "
		"{\"id\": \"dev1\", \"instance\": 1, \"transferred\": 399991}], "
		"\"error\": \"line\\nbreak\\u0001\"}\n");
	free(out);
	free(s);
}

/* A case that gets a fresh conv_fixture as *state. */
#define CONV_TEST(t) cmocka_unit_test_setup_teardown(t, fixture_setup, fixture_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		CONV_TEST(test_initial_decision),
		CONV_TEST(test_threshold_from_bandwidth),
		CONV_TEST(test_bandwidth_capped_by_limit),
		CONV_TEST(test_zero_elapsed),
		CONV_TEST(test_max_iterations),
		CONV_TEST(test_rate_limit_unlimited),
		CONV_TEST(test_rate_limit),
		cmocka_unit_test(test_stats_mbps),
		cmocka_unit_test(test_stats_pending_capped),
		cmocka_unit_test(test_stats_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
