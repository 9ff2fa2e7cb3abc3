// SPDX-License-Identifier: GPL-2.0
/* The engine over lanes (lanes.c): 8 fake devices saved and loaded N at a time. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream */
#endif
#include <errno.h>
#include <inttypes.h>

#include <pthread.h>

#include "channel.h"
#include "fake_device.h"
#include "savevm.h"
#include "v1dev.h"
#include "testutil.h"

#define MS 1000000ull
#define NDEV 8

struct side {
	struct fake_dev fake;
	struct vfmig_v1dev *dev;
};

struct set {
	struct side s[NDEV + 1];
	unsigned int nr;
	struct vfmig_savevm *sv;
};

static void set_init(struct set *set, unsigned int nr, uint32_t seed)
{
	struct vfmig_v1dev_opts o = { .bounce_size = 16 * 1024 };
	struct vfmig_err err;
	char id[16];

	vfmig_err_clear(&err);
	set->nr = nr;
	set->sv = vfmig_savevm_new();
	for (unsigned int i = 0; i < nr; i++) {
		struct fake_cfg c;

		fake_cfg_default(&c);
		/* Shapes differ so that a device loaded into another shows. */
		fake_cfg_layout(&c, i % 2 ? FAKE_LAYOUT_MAPPED : FAKE_LAYOUT_TRAPPED);
		c.mem_size = (16 + 8 * i) * 1024;
		c.seed = seed + i;
		assert_int_equal(fake_init(&set->s[i].fake, &c), 0);
		set->s[i].dev = vfmig_v1dev_new(&set->s[i].fake.region, &o, &err);
		assert_non_null(set->s[i].dev);
		snprintf(id, sizeof(id), "dev%u", i);
		assert_int_equal(vfmig_v1dev_register(set->sv, set->s[i].dev, id, 0, &err), 0);
	}
}

static void set_fini(struct set *set)
{
	for (unsigned int i = 0; i < set->nr; i++) {
		vfmig_v1dev_free(set->s[i].dev);
		fake_fini(&set->s[i].fake);
	}
	vfmig_savevm_free(set->sv);
}

static uint32_t state_of(struct set *set, unsigned int i)
{
	return set->s[i].fake.state & VFMIG_V1_STATE_MASK;
}

/* Save set into n memfds. */
static int save_n(struct set *set, unsigned int n, int *fds, vfmig_cancel_t *cancel,
		  struct vfmig_stats *st, struct vfmig_err *err)
{
	struct vfmig_endpoint eps[VFMIG_STREAM_MAX_LANES];
	struct vfmig_conv_opts o;
	struct tu_clock clk;

	tu_clock_init(&clk, MS);
	vfmig_conv_opts_init(&o);
	for (unsigned int k = 0; k < n; k++) {
		fds[k] = tu_memfd();
		eps[k] = (struct vfmig_endpoint){ .fd = fds[k] };
	}
	return vfmig_savevm_save_lanes(set->sv, eps, n, &o, &clk.clock, cancel, st, err);
}

/* Lanes 1.. of a load, handed out in the order of fds[]. */
struct fd_lanes {
	int fd[VFMIG_STREAM_MAX_LANES];
	unsigned int next, opened, aborts;
};

static int fd_open(void *opaque, unsigned int nth, unsigned int lanes,
		   struct vfmig_endpoint *ep, struct vfmig_err *err)
{
	struct fd_lanes *fl = opaque;

	(void)nth;
	if (fl->fd[fl->next] < 0)
		return vfmig_err_set(err, -ETIMEDOUT, "lane %u of %u never came", nth, lanes);
	assert_int_equal(lseek(fl->fd[fl->next], 0, SEEK_SET), 0);
	*ep = (struct vfmig_endpoint){ .fd = fl->fd[fl->next++] };
	fl->opened++;
	return 0;
}

static void fd_abort(void *opaque)
{
	((struct fd_lanes *)opaque)->aborts++;
}

/* Load lane fd0 first, then others[] in order (-1 ends the list). */
static int load_fds(struct set *dst, int fd0, const int *others, struct fd_lanes *fl,
		    struct vfmig_err *err)
{
	const struct vfmig_lane_source src = { .open = fd_open, .abort = fd_abort,
					       .opaque = fl };
	unsigned int k;

	memset(fl, 0, sizeof(*fl));
	for (k = 0; others[k] >= 0; k++)
		fl->fd[k] = others[k];
	fl->fd[k] = -1;
	assert_int_equal(lseek(fd0, 0, SEEK_SET), 0);
	return vfmig_savevm_load_lanes(dst->sv, &(struct vfmig_endpoint){ .fd = fd0 }, &src,
				       NULL, err);
}

static char *inspect(int fd)
{
	struct vfmig_err err;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	vfmig_err_clear(&err);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if (vfmig_stream_inspect(fd, out, NULL, &err))
		fail_msg("inspect: %s", err.msg);
	fclose(out);
	return text;
}

/* 8 devices with 1, 2, 3 and 8 lanes; lanes given to the loader in reverse. */
static void test_round_trip(void **state)
{
	static const unsigned int ns[] = { 1, 2, 3, 8 };

	(void)state;
	for (unsigned int t = 0; t < 4; t++) {
		unsigned int n = ns[t];
		struct set src, dst;
		struct vfmig_stats *st = malloc(sizeof(*st));
		struct vfmig_err err;
		struct fd_lanes fl;
		int fds[VFMIG_STREAM_MAX_LANES], rev[VFMIG_STREAM_MAX_LANES + 1];
		uint64_t sum[NDEV];
		unsigned int k;

		vfmig_err_clear(&err);
		set_init(&src, NDEV, 10);
		set_init(&dst, NDEV, 50);
		for (unsigned int i = 0; i < NDEV; i++)
			sum[i] = fake_checksum(&src.s[i].fake);
		if (save_n(&src, n, fds, NULL, st, &err))
			fail_msg("save with %u lanes: %s", n, err.msg);
		assert_string_equal(st->status, "completed");
		assert_int_equal(st->nr_devices, NDEV);
		for (k = 1; k < n; k++)
			rev[k - 1] = fds[n - k];
		rev[n - 1] = -1;
		if (load_fds(&dst, fds[0], rev, &fl, &err))
			fail_msg("load with %u lanes: %s", n, err.msg);
		assert_int_equal(fl.opened, n - 1);
		assert_int_equal(fl.aborts, 0);
		for (unsigned int i = 0; i < NDEV; i++) {
			/* Source stopped after success, destination holds its state. */
			assert_int_equal(state_of(&src, i), 0);
			assert_true(dst.s[i].fake.resume_done);
			assert_int_equal(fake_checksum(&dst.s[i].fake), sum[i]);
		}
		if (n == 1) {
			/* One lane is today's stream: version 1, byte for byte. */
			struct set again;
			int fd1 = tu_memfd();
			char *a, *b;
			off_t la = lseek(fds[0], 0, SEEK_END), lb;

			set_init(&again, NDEV, 10);
			assert_int_equal(vfmig_savevm_save(again.sv, fd1, NULL, NULL, NULL, NULL,
							   &err), 0);
			lb = lseek(fd1, 0, SEEK_END);
			assert_int_equal(la, lb);
			a = malloc((size_t)la);
			b = malloc((size_t)lb);
			assert_int_equal(pread(fds[0], a, (size_t)la, 0), la);
			assert_int_equal(pread(fd1, b, (size_t)lb, 0), lb);
			assert_memory_equal(a, b, (size_t)la);
			assert_int_equal(b[7], 1);	/* be32 version 1 */
			free(a);
			free(b);
			close(fd1);
			set_fini(&again);
		}
		for (k = 0; k < n; k++)
			close(fds[k]);
		free(st);
		set_fini(&src);
		set_fini(&dst);
	}
}

/* Device i travels in lane i % N, each lane a whole stream naming its lane. */
static void test_assignment(void **state)
{
	struct set src;
	struct vfmig_err err;
	int fds[3];
	char want[64];

	(void)state;
	vfmig_err_clear(&err);
	set_init(&src, NDEV, 10);
	assert_int_equal(save_n(&src, 3, fds, NULL, NULL, &err), 0);
	for (unsigned int k = 0; k < 3; k++) {
		char *text = inspect(fds[k]);

		snprintf(want, sizeof(want), "version 2 features 0x00000000 lane %u of 3", k);
		assert_str_contains(text, want);
		assert_str_contains(text, ": EOF");
		for (unsigned int i = 0; i < NDEV; i++) {
			snprintf(want, sizeof(want), "START id %u \"dev%u\"", i + 1, i);
			if ((strstr(text, want) != NULL) != (i % 3 == k))
				fail_msg("lane %u: dev%u %s:\n%s", k, i,
					 i % 3 == k ? "missing" : "should not be here", text);
			snprintf(want, sizeof(want), "FULL  id %u \"dev%u\"", i + 1, i);
			assert_true((strstr(text, want) != NULL) == (i % 3 == k));
		}
		free(text);
		close(fds[k]);
	}
	set_fini(&src);
}

/* One device fails in one lane: all lanes stop, every source runs again. */
static void test_failing_device(void **state)
{
	struct set src;
	struct vfmig_stats *st = malloc(sizeof(*st));
	struct vfmig_err err;
	int fds[3];

	(void)state;
	vfmig_err_clear(&err);
	set_init(&src, NDEV, 10);
	src.s[5].fake.fail_chunk = EIO;
	src.s[5].fake.fail_chunk_skip = 1;
	assert_int_equal(save_n(&src, 3, fds, NULL, st, &err), -EIO);
	assert_str_contains(err.msg, "\"dev5\" instance 0");
	assert_str_contains(err.msg, "Input/output error");
	assert_null(strchr(err.msg, '\n'));
	assert_string_equal(st->status, "failed");
	for (unsigned int i = 0; i < NDEV; i++) {
		assert_int_equal(state_of(&src, i), VFMIG_V1_STATE_RUNNING);
		/* Every device was set up, and so restarted (not left as it was). */
		assert_true(src.s[i].fake.nr_history >= 2);
	}
	for (unsigned int k = 0; k < 3; k++)
		close(fds[k]);
	free(st);
	set_fini(&src);
}

struct canceller {
	vfmig_cancel_t *cancel;
	unsigned int calls, at;
};

static void cancel_hook(struct fake_dev *d, void *opaque)
{
	struct canceller *c = opaque;

	/* Keep the device dirty, so pre-copy goes on until the cancel. */
	fake_dirty(d, c->calls % d->nr_pages, (uint8_t)c->calls);
	if (++c->calls == c->at)
		*c->cancel = 1;
}

static void test_cancel(void **state)
{
	vfmig_cancel_t cancel = 0;
	struct canceller c = { .cancel = &cancel, .at = 6 };
	struct set src;
	struct vfmig_stats *st = malloc(sizeof(*st));
	struct vfmig_err err;
	int fds[2];

	(void)state;
	vfmig_err_clear(&err);
	set_init(&src, NDEV, 10);
	for (unsigned int i = 0; i < NDEV; i++) {
		src.s[i].fake.dirty_hook = cancel_hook;
		src.s[i].fake.dirty_opaque = i == 3 ? &c : NULL;
	}
	for (unsigned int i = 0; i < NDEV; i++)
		if (i != 3)
			src.s[i].fake.dirty_hook = NULL;
	assert_int_equal(save_n(&src, 2, fds, &cancel, st, &err), -ECANCELED);
	assert_str_contains(err.msg, "cancel");
	assert_string_equal(st->status, "cancelled");
	for (unsigned int i = 0; i < NDEV; i++)
		assert_int_equal(state_of(&src, i), VFMIG_V1_STATE_RUNNING);
	close(fds[0]);
	close(fds[1]);
	free(st);
	set_fini(&src);
}

/* What the destination refuses: lanes that do not add up to one stream. */
/*
 * A downtime limit over the maximum is refused before any device is touched,
 * by the one-stream save (lanes = 1) and by the lanes' own.
 */
static void test_refused_downtime_limit(void **state)
{
	struct vfmig_endpoint eps[2];
	struct vfmig_conv_opts o;
	struct vfmig_err err;
	struct set src;
	int fds[2];

	(void)state;
	set_init(&src, NDEV, 10);
	vfmig_conv_opts_init(&o);
	o.downtime_limit_ms = VFMIG_MAX_DOWNTIME_MS + 1;
	for (unsigned int k = 0; k < 2; k++) {
		fds[k] = tu_memfd();
		eps[k] = (struct vfmig_endpoint){ .fd = fds[k] };
	}
	for (unsigned int lanes = 1; lanes <= 2; lanes++) {
		vfmig_err_clear(&err);
		assert_int_equal(vfmig_savevm_save_lanes(src.sv, eps, lanes, &o, NULL, NULL, NULL,
							 &err), -EINVAL);
		assert_string_equal(err.msg, "downtime limit 2000001 ms exceeds 2000000 ms");
	}
	for (unsigned int i = 0; i < NDEV; i++)
		assert_int_equal(src.s[i].fake.nr_history, 0);
	close(fds[0]);
	close(fds[1]);
	set_fini(&src);
}

static void test_refused_lanes(void **state)
{
	struct set src, src2, dst;
	struct vfmig_err err;
	struct fd_lanes fl;
	int a[3], b[2];

	(void)state;
	vfmig_err_clear(&err);
	set_init(&src, NDEV, 10);
	assert_int_equal(save_n(&src, 3, a, NULL, NULL, &err), 0);
	set_fini(&src);
	set_init(&src, NDEV, 10);
	assert_int_equal(save_n(&src, 2, b, NULL, NULL, &err), 0);

	set_init(&dst, NDEV, 50);
	/* The same lane twice. */
	assert_int_equal(load_fds(&dst, a[0], (int[]){ a[1], a[1], -1 }, &fl, &err), -EPROTO);
	assert_str_contains(err.msg, "lane 1 of 3 arrived twice");
	/* A lane that never comes. */
	vfmig_err_clear(&err);
	assert_int_equal(load_fds(&dst, a[0], (int[]){ a[2], -1 }, &fl, &err), -ETIMEDOUT);
	assert_str_contains(err.msg, "never came");
	/* Lanes of two different splits. */
	vfmig_err_clear(&err);
	assert_int_equal(load_fds(&dst, a[0], (int[]){ b[1], a[2], -1 }, &fl, &err), -EPROTO);
	assert_str_contains(err.msg, "lane 1 announces 2 lanes, lane 0 announced 3");
	/* Lane 1 first: the first connection must carry lane 0. */
	vfmig_err_clear(&err);
	assert_int_equal(load_fds(&dst, a[1], (int[]){ a[0], a[2], -1 }, &fl, &err), -EPROTO);
	assert_str_contains(err.msg, "first connection carries lane 1 of 3");
	/* One lane alone, without a way to the others. */
	vfmig_err_clear(&err);
	assert_int_equal(lseek(a[0], 0, SEEK_SET), 0);
	assert_int_equal(vfmig_savevm_load(dst.sv, a[0], NULL, &err), -EPROTO);
	assert_str_contains(err.msg, "lane 0 of 3: it loads only with its other lanes");

	/* A device in two lanes: lane 0 of a split whose lane 1 has the same devices. */
	{
		struct set sw;
		int c[2], d[2];
		struct vfmig_err e2;

		vfmig_err_clear(&e2);
		set_init(&src2, 4, 10);
		assert_int_equal(save_n(&src2, 2, c, NULL, NULL, &e2), 0);
		/* dev1, dev0, dev3, dev2: its lane 1 holds dev0 and dev2, as c's lane 0. */
		memset(&sw, 0, sizeof(sw));
		sw.sv = vfmig_savevm_new();
		for (unsigned int i = 0; i < 4; i++) {
			static const unsigned int order[4] = { 1, 0, 3, 2 };
			char id[16];

			snprintf(id, sizeof(id), "dev%u", order[i]);
			assert_int_equal(vfmig_v1dev_register(sw.sv, src2.s[order[i]].dev, id, 0,
							      &e2), 0);
		}
		for (unsigned int i = 0; i < 4; i++)
			fake_reset(&src2.s[i].fake);
		{
			struct vfmig_endpoint eps[2];

			d[0] = tu_memfd();
			d[1] = tu_memfd();
			eps[0] = (struct vfmig_endpoint){ .fd = d[0] };
			eps[1] = (struct vfmig_endpoint){ .fd = d[1] };
			assert_int_equal(vfmig_savevm_save_lanes(sw.sv, eps, 2, NULL, NULL, NULL,
								 NULL, &e2), 0);
		}
		vfmig_savevm_free(sw.sv);
		{
			struct set dst4;

			set_init(&dst4, 4, 60);
			assert_int_equal(load_fds(&dst4, c[0], (int[]){ d[1], -1 }, &fl, &e2),
					 -EPROTO);
			assert_str_contains(e2.msg, "device already in lane");
			/* Every lane was stopped once, through the source. */
			assert_int_equal(fl.aborts, 1);
			/* c alone loads (control: the lanes themselves are fine). */
			for (unsigned int i = 0; i < 4; i++)
				fake_reset(&dst4.s[i].fake);
			vfmig_err_clear(&e2);
			if (load_fds(&dst4, c[0], (int[]){ c[1], -1 }, &fl, &e2))
				fail_msg("control load: %s", e2.msg);
			set_fini(&dst4);
		}
		close(c[0]);
		close(c[1]);
		close(d[0]);
		close(d[1]);
	}
	set_fini(&src2);

	/* A registered device that no lane carries. */
	{
		struct set dst9;

		set_init(&dst9, NDEV + 1, 50);
		vfmig_err_clear(&err);
		assert_int_equal(load_fds(&dst9, a[0], (int[]){ a[1], a[2], -1 }, &fl, &err),
				 -ENODATA);
		assert_str_contains(err.msg, "no state for \"dev8\"");
		set_fini(&dst9);
	}
	/* Control: the same lanes in any order load (into reset devices). */
	for (unsigned int i = 0; i < NDEV; i++)
		fake_reset(&dst.s[i].fake);
	vfmig_err_clear(&err);
	if (load_fds(&dst, a[0], (int[]){ a[2], a[1], -1 }, &fl, &err))
		fail_msg("control load: %s", err.msg);
	for (unsigned int i = 0; i < NDEV; i++)
		assert_int_equal(fake_checksum(&dst.s[i].fake), fake_checksum(&src.s[i].fake));
	for (unsigned int k = 0; k < 3; k++)
		close(a[k]);
	close(b[0]);
	close(b[1]);
	set_fini(&src);
	set_fini(&dst);
}

/* As `vfmig migrate` runs it: lanes over channels, the destination on threads. */
struct chan_lanes {
	unsigned int n;
	struct vfmig_channel *ch[VFMIG_STREAM_MAX_LANES];
	struct set *src;
	int ret;
	struct vfmig_err err;
};

static int chan_open(void *opaque, unsigned int nth, unsigned int lanes,
		     struct vfmig_endpoint *ep, struct vfmig_err *err)
{
	struct chan_lanes *cl = opaque;

	(void)err;
	assert_int_equal(lanes, cl->n);
	ep->chan = cl->ch[nth];
	return 0;
}

static void chan_abort(void *opaque)
{
	struct chan_lanes *cl = opaque;

	for (unsigned int k = 0; k < cl->n; k++)
		vfmig_channel_close_read(cl->ch[k]);
}

static void *chan_save(void *arg)
{
	struct chan_lanes *cl = arg;
	struct vfmig_endpoint eps[VFMIG_STREAM_MAX_LANES];

	for (unsigned int k = 0; k < cl->n; k++)
		eps[k] = (struct vfmig_endpoint){ .fd = -1, .chan = cl->ch[k] };
	vfmig_err_clear(&cl->err);
	cl->ret = vfmig_savevm_save_lanes(cl->src->sv, eps, cl->n, NULL, NULL, NULL, NULL,
					  &cl->err);
	for (unsigned int k = 0; k < cl->n; k++)
		vfmig_channel_close_write(cl->ch[k]);
	return NULL;
}

static int chan_migrate(struct set *src, struct set *dst, unsigned int n,
			struct chan_lanes *cl, struct vfmig_err *err)
{
	const struct vfmig_lane_source ls = { .open = chan_open, .abort = chan_abort,
					      .opaque = cl };
	pthread_t t;
	int ret;

	memset(cl, 0, sizeof(*cl));
	cl->n = n;
	cl->src = src;
	for (unsigned int k = 0; k < n; k++)
		assert_int_equal(vfmig_channel_new(&cl->ch[k]), 0);
	assert_int_equal(pthread_create(&t, NULL, chan_save, cl), 0);
	ret = vfmig_savevm_load_lanes(dst->sv, &(struct vfmig_endpoint){ .fd = -1,
					.chan = cl->ch[0] }, &ls, NULL, err);
	chan_abort(cl);
	pthread_join(t, NULL);
	for (unsigned int k = 0; k < n; k++)
		vfmig_channel_free(cl->ch[k]);
	return ret;
}

static void test_over_channels(void **state)
{
	struct chan_lanes cl;
	struct set src, dst, dst7;
	struct vfmig_err err;

	(void)state;
	vfmig_err_clear(&err);
	set_init(&src, NDEV, 10);
	set_init(&dst, NDEV, 50);
	if (chan_migrate(&src, &dst, 4, &cl, &err))
		fail_msg("load: %s", err.msg);
	if (cl.ret)
		fail_msg("save: %s", cl.err.msg);
	for (unsigned int i = 0; i < NDEV; i++) {
		assert_int_equal(state_of(&src, i), 0);
		assert_int_equal(fake_checksum(&dst.s[i].fake), fake_checksum(&src.s[i].fake));
	}
	set_fini(&src);

	/*
	 * The destination lacks dev7 (lane 3): that lane fails, the others are
	 * stopped, the source fails on its writes and every source runs again.
	 */
	set_init(&src, NDEV, 10);
	set_init(&dst7, NDEV - 1, 50);
	vfmig_err_clear(&err);
	assert_int_not_equal(chan_migrate(&src, &dst7, 4, &cl, &err), 0);
	assert_str_contains(err.msg, "lane 3: ");
	assert_str_contains(err.msg, "no device registered for \"dev7\"");
	assert_int_equal(cl.ret, -EPIPE);
	for (unsigned int i = 0; i < NDEV; i++)
		assert_int_equal(state_of(&src, i), VFMIG_V1_STATE_RUNNING);
	set_fini(&dst7);
	set_fini(&src);
	set_fini(&dst);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_assignment),
		cmocka_unit_test(test_failing_device),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_refused_downtime_limit),
		cmocka_unit_test(test_refused_lanes),
		cmocka_unit_test(test_over_channels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
