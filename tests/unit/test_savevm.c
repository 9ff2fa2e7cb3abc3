// SPDX-License-Identifier: GPL-2.0
/* Engine + v1 device handler: full save/resume loops against fake devices. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream, F_SETPIPE_SZ */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>

#include <pthread.h>

#include "channel.h"
#include "fake_device.h"
#include "savevm.h"
#include "v1dev.h"
#include "testutil.h"

#define MS 1000000ull

struct side {
	struct fake_dev fake;
	struct vfmig_v1dev *dev;
};

static struct side *side_new(const struct fake_cfg *c, uint32_t seed)
{
	struct side *s = calloc(1, sizeof(*s));
	struct fake_cfg cfg = *c;
	struct vfmig_v1dev_opts o = { .bounce_size = 64 * 1024 };
	struct vfmig_err err;

	vfmig_err_clear(&err);
	cfg.seed = seed;
	assert_int_equal(fake_init(&s->fake, &cfg), 0);
	s->dev = vfmig_v1dev_new(&s->fake.region, &o, &err);
	assert_non_null(s->dev);
	return s;
}

static void side_free(struct side *s)
{
	vfmig_v1dev_free(s->dev);
	fake_fini(&s->fake);
	free(s);
}

static struct fake_cfg cfg_for(enum fake_layout layout, enum fake_policy policy)
{
	struct fake_cfg c;

	fake_cfg_default(&c);
	fake_cfg_layout(&c, layout);
	c.policy = policy;
	return c;
}

/*
 * What a save needs besides its devices: default convergence options, a
 * fake clock that advances @step per read, and an empty error.
 */
struct engine {
	struct vfmig_conv_opts o;
	struct tu_clock clk;
	struct vfmig_err err;
};

static void engine_init(struct engine *e, uint64_t step)
{
	vfmig_err_clear(&e->err);
	tu_clock_init(&e->clk, step);
	vfmig_conv_opts_init(&e->o);
}

/*
 * One migration's parts: a source (seed 3) and a destination (seed 4) of
 * one config, an engine whose clock advances @step per read, the stream's
 * memfd and room for the save's stats.
 */
struct mig {
	struct side *src, *dst;
	struct vfmig_stats *st;
	struct engine e;
	int fd;
};

static void mig_init(struct mig *m, const struct fake_cfg *c, uint64_t step)
{
	m->src = side_new(c, 3);
	m->dst = side_new(c, 4);
	m->st = malloc(sizeof(*m->st));
	assert_non_null(m->st);
	engine_init(&m->e, step);
	m->fd = tu_memfd();
}

static void mig_fini(struct mig *m)
{
	close(m->fd);
	free(m->st);
	side_free(m->src);
	side_free(m->dst);
}

static int save_one(struct side *src, const char *id, int fd, struct engine *e,
		    vfmig_cancel_t *cancel, struct vfmig_stats *st)
{
	struct vfmig_savevm *sv = vfmig_savevm_new();
	int ret;

	assert_int_equal(vfmig_v1dev_register(sv, src->dev, id, 0, &e->err), 0);
	ret = vfmig_savevm_save(sv, fd, &e->o, &e->clk.clock, cancel, st, &e->err);
	vfmig_savevm_free(sv);
	return ret;
}

static int load_one(struct side *dst, const char *id, int fd, struct vfmig_err *err)
{
	struct vfmig_savevm *sv = vfmig_savevm_new();
	int ret;

	assert_int_equal(vfmig_v1dev_register(sv, dst->dev, id, 0, err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	ret = vfmig_savevm_load(sv, fd, NULL, err);
	vfmig_savevm_free(sv);
	return ret;
}

/* Load @fd into @dst as "dev0": it must succeed and leave @dst's memory at @sum. */
static void load_expecting(struct side *dst, int fd, struct engine *e, uint64_t sum)
{
	if (load_one(dst, "dev0", fd, &e->err))
		fail_msg("load: %s", e->err.msg);
	assert_int_equal(fake_checksum(&dst->fake), sum);
}

static uint32_t dev_state(struct side *s)
{
	return s->fake.state & VFMIG_V1_STATE_MASK;
}

static uint32_t last_state(struct side *s)
{
	assert_true(s->fake.nr_history > 0);
	return s->fake.history[s->fake.nr_history - 1];
}

/* Save src, load into a fresh dst with dst_cfg, compare checksums. */
static void round_trip(const struct fake_cfg *src_cfg, const struct fake_cfg *dst_cfg)
{
	struct side *src = side_new(src_cfg, 7), *dst = side_new(dst_cfg, 99);
	struct vfmig_stats *st = malloc(sizeof(*st));
	struct engine e;
	uint64_t sum = fake_checksum(&src->fake);
	int fd = tu_memfd();

	engine_init(&e, MS);
	assert_true(fake_checksum(&dst->fake) != sum);
	if (save_one(src, "dev0", fd, &e, NULL, st))
		fail_msg("save: %s", e.err.msg);
	/* Source walked 1 -> 3 -> 2 -> 0 and is stopped now. */
	assert_int_equal(src->fake.nr_history, 3);
	assert_int_equal(src->fake.history[0], 3);
	assert_int_equal(src->fake.history[1], 2);
	assert_int_equal(src->fake.history[2], 0);
	assert_int_equal(dev_state(src), 0);
	assert_true(src->fake.final_sent);
	assert_string_equal(st->status, "completed");
	assert_int_equal(st->transferred, (uint64_t)lseek(fd, 0, SEEK_END));
	assert_int_equal(st->nr_devices, 1);
	assert_int_equal(st->dev[0].bytes + 9, st->transferred);	/* header + EOF */

	if (load_one(dst, "dev0", fd, &e.err))
		fail_msg("load: %s", e.err.msg);
	/* Destination is left in RESUMING with everything applied. */
	assert_int_equal(dev_state(dst), VFMIG_V1_STATE_RESUMING);
	assert_true(dst->fake.resume_done);
	assert_int_equal(fake_checksum(&dst->fake), sum);
	assert_int_equal(vfmig_v1dev_start(dst->dev, &e.err), 0);
	assert_int_equal(dev_state(dst), VFMIG_V1_STATE_RUNNING);
	/* Mapped windows never go through trapped reads. */
	if (src_cfg->nr_areas == 1 && src_cfg->areas[0].mapped)
		assert_int_equal(src->fake.data_reads, 0);
	/* Trapped windows: one large read per chunk, never 8 bytes at a time. */
	if (src_cfg->nr_areas == 0) {
		const struct vfmig_v1dev_counters *cnt = vfmig_v1dev_counters(src->dev);

		assert_int_equal(src->fake.data_reads, cnt->chunks - cnt->empty_chunks);
		assert_int_equal(src->fake.min_data_access, 32);	/* the final record */
	}
	close(fd);
	free(st);
	side_free(src);
	side_free(dst);
}

/* A device saved and resumed into one of its own shape, per layout and policy. */
struct layout_case {
	enum fake_layout layout;
	enum fake_policy policy;
	size_t chunk_max;	/* 0: the default */
};

static struct layout_case trapped_fixed = { FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED, 0 };
static struct layout_case mapped_fixed = { FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED, 0 };
static struct layout_case unmapped_area_fixed = { FAKE_LAYOUT_UNMAPPED, FAKE_POLICY_FIXED, 0 };
static struct layout_case sparse_rotate = { FAKE_LAYOUT_SPARSE, FAKE_POLICY_ROTATE, 0 };
static struct layout_case sparse_gap = { FAKE_LAYOUT_SPARSE, FAKE_POLICY_GAP, 4096 };	/* the gap is 4 KiB */
static struct layout_case sparse_straddle = { FAKE_LAYOUT_SPARSE, FAKE_POLICY_STRADDLE, 0 };

static void test_layout_round_trip(void **state)
{
	const struct layout_case *lc = *state;
	struct fake_cfg c = cfg_for(lc->layout, lc->policy);

	if (lc->chunk_max)
		c.chunk_max = lc->chunk_max;
	round_trip(&c, &c);
}

/* Source and destination disagree on layout: the stream does not care. */
static void test_mixed_layouts(void **state)
{
	struct fake_cfg s = cfg_for(FAKE_LAYOUT_SPARSE, FAKE_POLICY_STRADDLE);
	struct fake_cfg d = cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED);

	(void)state;
	round_trip(&s, &d);
	round_trip(&d, &s);
	/*
	 * Run first: streams without compression, saved and loaded, opened
	 * neither codec's library (each costs every process start, lazy.h).
	 */
	assert_null(dlopen("libzstd.so.1", RTLD_NOW | RTLD_NOLOAD));
	assert_null(dlopen("liblz4.so.1", RTLD_NOW | RTLD_NOLOAD));
}

/* A destination region smaller than the source chunks: loads split. */
static void test_small_destination_region(void **state)
{
	struct fake_cfg s = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct fake_cfg d = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);

	(void)state;
	d.region_size = 4096 + 3000;
	round_trip(&s, &d);
	d = cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED);
	d.region_size = 4096 + 1000;
	fake_cfg_layout(&d, FAKE_LAYOUT_MAPPED);
	round_trip(&s, &d);
}

struct channel_saver {
	struct side *src;
	struct vfmig_channel *ch;
	struct vfmig_stats st;
	struct vfmig_err err;
	int ret;
};

static void *channel_save_thread(void *arg)
{
	struct channel_saver *cs = arg;
	struct vfmig_savevm *sv = vfmig_savevm_new();
	struct vfmig_conv_opts o;

	vfmig_err_clear(&cs->err);
	vfmig_conv_opts_init(&o);
	cs->ret = vfmig_v1dev_register(sv, cs->src->dev, "dev0", 0, &cs->err) ||
		  vfmig_savevm_save_to(sv, &(struct vfmig_endpoint){ .chan = cs->ch }, &o, NULL,
				       NULL, &cs->st, &cs->err);
	vfmig_channel_close_write(cs->ch);
	vfmig_savevm_free(sv);
	return NULL;
}

/*
 * Save and load at once over an in-process channel, as `vfmig migrate`
 * does: a mapped source into a mapped destination with a smaller region
 * (loads split), and a trapped pair.
 */
static void test_save_load_over_channel(void **state)
{
	struct fake_cfg cfgs[2][2] = {
		{ cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED),
		  cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED) },
		{ cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED),
		  cfg_for(FAKE_LAYOUT_SPARSE, FAKE_POLICY_ROTATE) },
	};

	(void)state;
	cfgs[0][1].region_size = 4096 + 5000;
	fake_cfg_layout(&cfgs[0][1], FAKE_LAYOUT_MAPPED);
	for (int i = 0; i < 2; i++) {
		struct channel_saver cs = { 0 };
		struct side *dst = side_new(&cfgs[i][1], 99);
		struct vfmig_savevm *dv = vfmig_savevm_new();
		struct vfmig_err err;
		uint64_t sum;
		pthread_t t;

		vfmig_err_clear(&err);
		cs.src = side_new(&cfgs[i][0], 7);
		sum = fake_checksum(&cs.src->fake);
		assert_int_equal(vfmig_channel_new(&cs.ch), 0);
		assert_int_equal(vfmig_v1dev_register(dv, dst->dev, "dev0", 0, &err), 0);
		assert_int_equal(pthread_create(&t, NULL, channel_save_thread, &cs), 0);
		if (vfmig_savevm_load_from(dv, &(struct vfmig_endpoint){ .chan = cs.ch }, NULL, &err))
			fail_msg("load: %s", err.msg);
		vfmig_channel_close_read(cs.ch);
		pthread_join(t, NULL);
		if (cs.ret)
			fail_msg("save: %s", cs.err.msg);
		assert_string_equal(cs.st.status, "completed");
		assert_int_equal(dev_state(cs.src), 0);
		assert_true(dst->fake.resume_done);
		assert_int_equal(fake_checksum(&dst->fake), sum);
		vfmig_channel_free(cs.ch);
		vfmig_savevm_free(dv);
		side_free(cs.src);
		side_free(dst);
	}
}

/* Three devices of different shapes in one stream, registered in another order. */
static void test_several_devices(void **state)
{
	static const char *const ids[3] = { "dev-a", "dev-b", "dev-c" };
	struct fake_cfg cfg[3] = {
		cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED),
		cfg_for(FAKE_LAYOUT_SPARSE, FAKE_POLICY_ROTATE),
		cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED),
	};
	struct side *src[3], *dst[3];
	struct vfmig_savevm *sv = vfmig_savevm_new(), *dv = vfmig_savevm_new();
	struct vfmig_inspect_totals t;
	struct vfmig_stats *st = malloc(sizeof(*st));
	struct engine e;
	uint64_t sum[3];
	FILE *devnull = fopen("/dev/null", "w");
	int fd = tu_memfd(), i;

	(void)state;
	engine_init(&e, MS);
	cfg[1].mem_size = 32 * 1024;
	cfg[2].mem_size = 128 * 1024;
	cfg[2].region_size = 4096 + 64 * 1024;
	fake_cfg_layout(&cfg[2], FAKE_LAYOUT_MAPPED);
	for (i = 0; i < 3; i++) {
		cfg[i].name = ids[i];
		src[i] = side_new(&cfg[i], 10 + i);
		dst[i] = side_new(&cfg[i], 20 + i);
		sum[i] = fake_checksum(&src[i]->fake);
	}
	for (i = 0; i < 3; i++) {
		assert_int_equal(vfmig_v1dev_register(sv, src[i]->dev, ids[i], 0, &e.err), 0);
		assert_int_equal(vfmig_v1dev_register(dv, dst[2 - i]->dev, ids[2 - i], 0, &e.err), 0);
	}
	assert_int_equal(vfmig_savevm_save(sv, fd, &e.o, &e.clk.clock, NULL, st, &e.err), 0);
	assert_int_equal(st->nr_devices, 3);
	assert_string_equal(st->dev[1].idstr, "dev-b");
	assert_true(st->dev[2].bytes > 128 * 1024);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(vfmig_stream_inspect(fd, devnull, &t, &e.err), 0);
	/* START, PART per round, END and FULL for each device. */
	assert_int_equal(t.sections, 3 * (3 + st->iterations));
	assert_int_equal(t.data_bytes, vfmig_v1dev_counters(src[0]->dev)->data_bytes +
					vfmig_v1dev_counters(src[1]->dev)->data_bytes +
					vfmig_v1dev_counters(src[2]->dev)->data_bytes);
	assert_int_equal(t.chunks, vfmig_v1dev_counters(src[0]->dev)->chunks +
				   vfmig_v1dev_counters(src[1]->dev)->chunks +
				   vfmig_v1dev_counters(src[2]->dev)->chunks);
	/* Memory plus a 32-byte record header per non-empty chunk. */
	assert_true(t.data_bytes > (64 + 32 + 128) * 1024);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if (vfmig_savevm_load(dv, fd, NULL, &e.err))
		fail_msg("load: %s", e.err.msg);
	for (i = 0; i < 3; i++) {
		assert_true(dst[i]->fake.resume_done);
		assert_int_equal(fake_checksum(&dst[i]->fake), sum[i]);
		side_free(src[i]);
		side_free(dst[i]);
	}
	fclose(devnull);
	close(fd);
	free(st);
	vfmig_savevm_free(sv);
	vfmig_savevm_free(dv);
}

/* Guest writes during pre-copy: a few rounds, then convergence. */
struct dirtier {
	unsigned int calls, limit, pages;
	vfmig_cancel_t *cancel;
	unsigned int cancel_at;
};

static void dirty_hook(struct fake_dev *d, void *opaque)
{
	struct dirtier *w = opaque;
	unsigned int i;

	w->calls++;
	if (w->cancel && w->calls == w->cancel_at)
		*w->cancel = 1;
	if (w->limit && w->calls > w->limit)
		return;
	for (i = 0; i < w->pages; i++)
		fake_dirty(d, (w->calls * 7 + i * 3) % d->nr_pages, (uint8_t)(w->calls + i));
}

static void test_dirty_then_converge(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED);
	struct dirtier w = { .limit = 6, .pages = 5 };
	struct mig m;

	(void)state;
	mig_init(&m, &c, MS);
	m.e.o.downtime_limit_ms = 1;	/* small: forces real pre-copy rounds */
	m.src->fake.dirty_hook = dirty_hook;
	m.src->fake.dirty_opaque = &w;
	if (save_one(m.src, "dev0", m.fd, &m.e, NULL, m.st))
		fail_msg("save: %s", m.e.err.msg);
	assert_true(m.st->iterations >= 1);
	assert_true(w.calls > w.limit);
	assert_int_equal(m.st->nr_pending, m.st->iterations + 1);
	assert_int_equal(m.st->pending[0], 64 * 1024);	/* all dirty at first */
	/* The destination matches the source's final memory, dirtied pages included. */
	load_expecting(m.dst, m.fd, &m.e, fake_checksum(&m.src->fake));
	mig_fini(&m);
}

/* Never converging: max_iterations ends it, the source runs again, unharmed. */
static void test_non_convergence(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct dirtier w = { .pages = 40 };
	struct mig m;
	uint64_t sum;

	(void)state;
	mig_init(&m, &c, 1000 * MS);		/* a slow link: 1 s per clock read */
	m.e.o.max_iterations = 5;
	m.src->fake.dirty_hook = dirty_hook;
	m.src->fake.dirty_opaque = &w;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, m.st), -ETIMEDOUT);
	assert_str_contains(m.e.err.msg, "did not converge after 5 iterations");
	assert_int_equal(m.st->iterations, 5);
	assert_int_equal(m.st->nr_pending, 6);
	assert_string_equal(m.st->status, "failed");
	assert_string_equal(m.st->error, m.e.err.msg);
	/* Back to RUNNING (from pre-copy), saving abandoned. */
	assert_int_equal(dev_state(m.src), VFMIG_V1_STATE_RUNNING);
	assert_int_equal(last_state(m.src), VFMIG_V1_STATE_RUNNING);
	assert_false(m.src->fake.staged);

	/* Intact: with the guest quiet, a second migration reproduces it exactly. */
	m.src->fake.dirty_hook = NULL;
	sum = fake_checksum(&m.src->fake);
	assert_int_equal(ftruncate(m.fd, 0), 0);
	assert_int_equal(lseek(m.fd, 0, SEEK_SET), 0);
	vfmig_err_clear(&m.e.err);
	m.e.o.max_iterations = 0;
	if (save_one(m.src, "dev0", m.fd, &m.e, NULL, m.st))
		fail_msg("save: %s", m.e.err.msg);
	load_expecting(m.dst, m.fd, &m.e, sum);
	mig_fini(&m);
}

static void test_cancel(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	vfmig_cancel_t cancel = 0;
	struct dirtier w = { .pages = 40, .cancel = &cancel, .cancel_at = 4 };
	struct mig m;

	(void)state;
	mig_init(&m, &c, 1000 * MS);
	m.src->fake.dirty_hook = dirty_hook;
	m.src->fake.dirty_opaque = &w;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, &cancel, m.st), -ECANCELED);
	assert_str_contains(m.e.err.msg, "cancel");
	assert_string_equal(m.st->status, "cancelled");
	assert_int_equal(dev_state(m.src), VFMIG_V1_STATE_RUNNING);
	/* Stopped between chunks: the one that raised the flag was the last read. */
	assert_int_equal(w.calls, 4);

	/* Cancel raised before anything happens: the device is never touched. */
	vfmig_err_clear(&m.e.err);
	m.src->fake.nr_history = 0;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, &cancel, m.st), -ECANCELED);
	assert_string_equal(m.e.err.msg, "migration cancelled during setup");
	assert_int_equal(m.src->fake.nr_history, 0);
	mig_fini(&m);
}

/* A chunk fails mid pre-copy: error names device and step, source runs again. */
static void test_chunk_failure(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct mig m;

	(void)state;
	mig_init(&m, &c, MS);
	m.src->fake.fail_chunk = EIO;
	m.src->fake.fail_chunk_skip = 3;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), -EIO);
	assert_string_equal(m.e.err.msg,
			    "save iterate of \"dev0\" instance 0: fake0: stage chunk: read data_offset: "
			    "region read of 8 bytes at 0x10: Input/output error");
	assert_int_equal(dev_state(m.src), VFMIG_V1_STATE_RUNNING);
	assert_int_equal(m.src->fake.chunks_staged, 3);
	mig_fini(&m);
}

/*
 * A source found stopped (its state saved before, maybe running elsewhere)
 * goes back to stopped when a save of it fails, never to RUNNING.
 */
static void test_chunk_failure_stopped_source(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct mig m;

	(void)state;
	mig_init(&m, &c, MS);
	fake_force_state(&m.src->fake, 0);
	m.src->fake.fail_chunk = EIO;
	m.src->fake.fail_chunk_skip = 1;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), -EIO);
	assert_int_equal(dev_state(m.src), 0);
	assert_int_equal(last_state(m.src), 0);
	mig_fini(&m);
}

/* Stop-and-copy refused and device in error: both causes are reported. */
static void test_transition_failure_to_error(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct mig m;

	(void)state;
	mig_init(&m, &c, MS);
	m.e.o.offline = true;
	m.src->fake.fail_transition = EBUSY;
	m.src->fake.fail_to_error = true;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), -EBUSY);
	assert_str_contains(m.e.err.msg, "save setup of \"dev0\" instance 0: fake0: stop device: "
			    "transition running -> stop failed");
	assert_str_contains(m.e.err.msg, "device is now in the error state (0x6) and needs a reset");
	assert_str_contains(m.e.err.msg, "cleanup of \"dev0\" instance 0: fake0: return source to running: "
			    "transition error -> running failed");
	assert_true(VFMIG_V1_STATE_IS_ERROR(m.src->fake.state));
	mig_fini(&m);
}

/* Offline: stop first, no pre-copy rounds. */
static void test_offline(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_SPARSE, FAKE_POLICY_ROTATE);
	struct mig m;

	(void)state;
	mig_init(&m, &c, MS);
	m.e.o.offline = true;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, m.st), 0);
	assert_int_equal(m.src->fake.nr_history, 4);
	assert_int_equal(m.src->fake.history[0], 0);
	assert_int_equal(m.src->fake.history[1], 2);
	assert_int_equal(m.src->fake.history[2], 2);
	assert_int_equal(m.src->fake.history[3], 0);
	assert_int_equal(m.st->iterations, 0);
	assert_int_equal(m.st->nr_pending, 0);
	assert_true(m.st->offline);
	/* Offline downtime covers setup too: the device stops there. */
	assert_true(m.st->downtime_ms > m.st->setup_time_ms);
	assert_true(m.st->downtime_ms <= m.st->total_time_ms);
	assert_int_equal(load_one(m.dst, "dev0", m.fd, &m.e.err), 0);
	assert_int_equal(fake_checksum(&m.dst->fake), fake_checksum(&m.src->fake));
	mig_fini(&m);
}

/* Parse "failed at offset N" out of a load error. */
static uint64_t failed_offset(const char *msg)
{
	const char *p = strstr(msg, "failed at offset ");

	assert_non_null(p);
	return strtoull(p + strlen("failed at offset "), NULL, 10);
}

/* Corrupt data: the destination refuses it, the error says where, reset recovers. */
static void test_failing_resume(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct mig m;
	uint64_t at, size;
	int fd2 = tu_memfd();

	(void)state;
	mig_init(&m, &c, MS);
	m.src->fake.corrupt_chunk = true;
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), 0);
	size = (uint64_t)lseek(m.fd, 0, SEEK_END);
	assert_int_equal(load_one(m.dst, "dev0", m.fd, &m.e.err), -EINVAL);
	assert_str_contains(m.e.err.msg, "load of PART section 1 (\"dev0\" instance 0) at stream offset 47, failed at offset ");
	assert_str_contains(m.e.err.msg, "fake0: load chunk: write data_size: region write of 8 bytes at 0x18: Invalid argument");
	at = failed_offset(m.e.err.msg);
	/* First chunk: header 8 + START 26 + footer... + DATA tag/size + 8 KiB + 32. */
	assert_int_equal(at, 47 + 5 + 16 + 8 * 1024 + 32);
	assert_true(at < size);
	assert_string_equal(m.dst->fake.resume_msg, "record checksum mismatch (record 0)");
	assert_int_equal(dev_state(m.dst), VFMIG_V1_STATE_RESUMING);
	assert_false(m.dst->fake.resume_done);

	/* Reset the destination and load a good stream. */
	fake_reset(&m.dst->fake);
	assert_int_equal(dev_state(m.dst), VFMIG_V1_STATE_RUNNING);
	vfmig_err_clear(&m.e.err);
	fake_reset(&m.src->fake);
	assert_int_equal(save_one(m.src, "dev0", fd2, &m.e, NULL, NULL), 0);
	load_expecting(m.dst, fd2, &m.e, fake_checksum(&m.src->fake));
	close(fd2);
	mig_fini(&m);
}

/* A PART payload with a tag other than DATA or END_OF_STATE: refused, naming tag and offset. */
static void test_part_with_wrong_tag(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct mig m;
	size_t len;
	uint8_t *buf;
	uint64_t tag = 0;
	int i, fd2;

	(void)state;
	mig_init(&m, &c, MS);
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), 0);
	buf = tu_slurp(m.fd, &len);
	/* PART section 1 at 47, its header 5 bytes: the first DATA tag (big endian) at 52. */
	for (i = 0; i < 8; i++)
		tag = tag << 8 | buf[52 + i];
	assert_true(tag == VFMIG_TAG_DATA);
	for (i = 0; i < 8; i++)
		buf[52 + i] = (uint8_t)(VFMIG_TAG_SETUP >> (56 - 8 * i));
	fd2 = tu_memfd_with(buf, len);
	assert_int_equal(load_one(m.dst, "dev0", fd2, &m.e.err), -EPROTO);
	assert_str_contains(m.e.err.msg, "fake0: stream offset 52: SETUP tag in a PART section");
	close(fd2);
	free(buf);
	mig_fini(&m);
}

/* A truncated stream, unknown and missing devices, a newer section version. */
static void test_load_stream_errors(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED);
	struct side *dst2 = side_new(&c, 5);
	struct vfmig_savevm *sv;
	struct mig m;
	size_t len;
	uint8_t *buf;
	int fd2;

	(void)state;
	mig_init(&m, &c, MS);
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), 0);
	buf = tu_slurp(m.fd, &len);

	fd2 = tu_memfd_with(buf, len / 2);
	assert_int_equal(load_one(m.dst, "dev0", fd2, &m.e.err), -EPIPE);
	assert_str_contains(m.e.err.msg, "stream truncated inside device data");
	close(fd2);
	fake_reset(&m.dst->fake);

	vfmig_err_clear(&m.e.err);
	assert_int_equal(load_one(m.dst, "other", m.fd, &m.e.err), -ENOENT);
	assert_str_contains(m.e.err.msg, "load of START section 1 (\"dev0\" instance 0) at stream offset 8");
	assert_str_contains(m.e.err.msg, "no device registered for \"dev0\" instance 0");

	vfmig_err_clear(&m.e.err);
	sv = vfmig_savevm_new();
	assert_int_equal(vfmig_v1dev_register(sv, m.dst->dev, "dev0", 0, &m.e.err), 0);
	assert_int_equal(vfmig_v1dev_register(sv, dst2->dev, "dev1", 0, &m.e.err), 0);
	assert_int_equal(lseek(m.fd, 0, SEEK_SET), 0);
	assert_int_equal(vfmig_savevm_load(sv, m.fd, NULL, &m.e.err), -ENODATA);
	assert_string_equal(m.e.err.msg, "stream has no state for \"dev1\" instance 0");
	vfmig_savevm_free(sv);

	/*
	 * Section version 3 where the device loads 1 (protocol v1) and 2 (v2)
	 * (version field of START at 22..25).
	 */
	vfmig_err_clear(&m.e.err);
	buf[25] = 3;
	fd2 = tu_memfd_with(buf, len);
	assert_int_equal(load_one(m.dst, "dev0", fd2, &m.e.err), -EPROTONOSUPPORT);
	assert_str_contains(m.e.err.msg, "section version 3 not supported (device supports 1..2)");
	close(fd2);
	free(buf);
	side_free(dst2);
	mig_fini(&m);
}

/*
 * A live device's stream without its FULL section (the config) is refused as
 * incomplete once the stream ends, although every byte of memory arrived.
 */
static void test_stream_without_full(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED);
	/* FULL "dev0": type, id, names 13, CONFIG tag + size, END_OF_STATE, footer. */
	const size_t full_len = 1 + 4 + 13 + 16 + 8 + 5;
	struct mig m;
	char want[256];
	size_t len;
	uint8_t *buf;
	int fd2;

	(void)state;
	mig_init(&m, &c, MS);
	assert_int_equal(save_one(m.src, "dev0", m.fd, &m.e, NULL, NULL), 0);
	buf = tu_slurp(m.fd, &len);
	/* ... END section, FULL section, EOF: cut FULL, keep EOF. */
	assert_int_equal(buf[len - 1], VFMIG_SECTION_EOF);
	assert_int_equal(buf[len - 1 - full_len], VFMIG_SECTION_FULL);
	buf[len - 1 - full_len] = VFMIG_SECTION_EOF;
	fd2 = tu_memfd_with(buf, len - full_len);
	assert_int_equal(load_one(m.dst, "dev0", fd2, &m.e.err), -ENODATA);
	snprintf(want, sizeof(want), "load of fake0 (\"dev0\" instance 0) at end of stream (offset %zu): "
		 "stream incomplete: no FULL section (device config) after its END",
		 len - full_len);
	assert_string_equal(m.e.err.msg, want);
	/* The memory itself was whole: the refusal is the engine's, not the device's. */
	assert_true(m.dst->fake.resume_done);
	assert_int_equal(dev_state(m.dst), VFMIG_V1_STATE_RESUMING);
	close(fd2);

	/* The whole stream still loads into the same (reset) device. */
	fake_reset(&m.dst->fake);
	vfmig_err_clear(&m.e.err);
	load_expecting(m.dst, m.fd, &m.e, fake_checksum(&m.src->fake));

	/* Only START and FULL, no END: the device state never came. */
	fake_reset(&m.dst->fake);
	vfmig_err_clear(&m.e.err);
	{
		/* START "dev0" is 8..46: header, START, then the FULL section and EOF. */
		size_t n = 0;
		uint8_t *b2 = malloc(len);

		buf[len - 1 - full_len] = VFMIG_SECTION_FULL;
		memcpy(b2, buf, 47);
		n = 47;
		memcpy(b2 + n, buf + len - 1 - full_len, full_len + 1);
		n += full_len + 1;
		fd2 = tu_memfd_with(b2, n);
		assert_int_equal(load_one(m.dst, "dev0", fd2, &m.e.err), -EPROTO);
		assert_str_contains(m.e.err.msg, "stream offset 47: FULL section 1 (\"dev0\") before the END of its live state");
		close(fd2);

		/* Only FULL: the config without the state is refused too. */
		fake_reset(&m.dst->fake);
		vfmig_err_clear(&m.e.err);
		n = 8;
		memcpy(b2 + n, buf + len - 1 - full_len, full_len + 1);
		n += full_len + 1;
		fd2 = tu_memfd_with(b2, n);
		assert_int_equal(load_one(m.dst, "dev0", fd2, &m.e.err), -ENODATA);
		snprintf(want, sizeof(want), "load of fake0 (\"dev0\" instance 0) at end of stream (offset %zu): "
			 "stream incomplete: no START/END sections (device state)", n);
		assert_string_equal(m.e.err.msg, want);
		close(fd2);
		free(b2);
	}
	free(buf);
	mig_fini(&m);
}

/* max_bandwidth throttles pre-copy and the measured bandwidth follows it. */
static void test_rate_limited_save(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED);
	struct mig m;

	(void)state;
	c.mem_size = 1024 * 1024;
	mig_init(&m, &c, 0);		/* time passes only while throttled */
	m.e.o.max_bandwidth = 1000000;
	if (save_one(m.src, "dev0", m.fd, &m.e, NULL, m.st))
		fail_msg("save: %s", m.e.err.msg);
	assert_true(m.st->iterations >= 5);
	assert_true(m.e.clk.slept >= 500 * MS);
	assert_true(m.st->bandwidth > 900000 && m.st->bandwidth < 1100000);
	/* Switched over once the rest fitted in 300 ms at ~1 MB/s. */
	assert_true(m.st->pending[m.st->nr_pending - 1] <= m.st->threshold);
	assert_true(m.st->threshold < 330000);
	load_expecting(m.dst, m.fd, &m.e, fake_checksum(&m.src->fake));
	mig_fini(&m);
}

struct cfgblob {
	char saved[32];
	char loaded[32];
	size_t loaded_len;
};

static int cfg_save(void *opaque, void *buf, size_t max, size_t *len, struct vfmig_err *err)
{
	struct cfgblob *b = opaque;

	(void)err;
	*len = strlen(b->saved);
	assert_true(*len <= max);
	memcpy(buf, b->saved, *len);
	return 0;
}

static int cfg_load(void *opaque, const void *buf, size_t len, struct vfmig_err *err)
{
	struct cfgblob *b = opaque;

	(void)err;
	memcpy(b->loaded, buf, len);
	b->loaded_len = len;
	return 0;
}

/* Non-iterable config travels in the FULL section. */
static void test_config_blob(void **state)
{
	struct fake_cfg c = cfg_for(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct fake_dev *sf = malloc(sizeof(*sf)), *df = malloc(sizeof(*df));
	struct cfgblob sb, db;
	struct vfmig_v1dev_config_ops sops = { cfg_save, cfg_load, &sb };
	struct vfmig_v1dev_config_ops dops = { cfg_save, cfg_load, &db };
	struct vfmig_v1dev_opts so = { .config = &sops }, dop = { .config = &dops };
	struct vfmig_v1dev *s, *d;
	struct vfmig_savevm *sv = vfmig_savevm_new(), *dv = vfmig_savevm_new();
	struct engine e;
	int fd = tu_memfd();

	(void)state;
	memset(&sb, 0, sizeof(sb));
	memset(&db, 0, sizeof(db));
	strcpy(sb.saved, "pci-config!");
	engine_init(&e, MS);
	assert_int_equal(fake_init(sf, &c), 0);
	assert_int_equal(fake_init(df, &c), 0);
	s = vfmig_v1dev_new(&sf->region, &so, &e.err);
	d = vfmig_v1dev_new(&df->region, &dop, &e.err);
	assert_int_equal(vfmig_v1dev_register(sv, s, "dev0", 3, &e.err), 0);
	assert_int_equal(vfmig_v1dev_register(dv, d, "dev0", 3, &e.err), 0);
	assert_int_equal(vfmig_savevm_save(sv, fd, &e.o, &e.clk.clock, NULL, NULL, &e.err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(vfmig_savevm_load(dv, fd, NULL, &e.err), 0);
	assert_int_equal(db.loaded_len, strlen("pci-config!"));
	assert_memory_equal(db.loaded, "pci-config!", db.loaded_len);
	assert_int_equal(vfmig_v1dev_counters(d)->data_bytes, vfmig_v1dev_counters(s)->data_bytes);
	vfmig_v1dev_free(s);
	vfmig_v1dev_free(d);
	fake_fini(sf);
	fake_fini(df);
	free(sf);
	free(df);
	vfmig_savevm_free(sv);
	vfmig_savevm_free(dv);
	close(fd);
}

static void test_register_errors(void **state)
{
	struct vfmig_savevm *sv = vfmig_savevm_new();
	struct vfmig_savevm_handlers half = { .setup = NULL };
	struct vfmig_err err;
	int dummy;

	(void)state;
	half.setup = vfmig_v1dev_handlers.setup;
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_savevm_register(sv, "", 0, 1, &vfmig_v1dev_handlers, &dummy, &err), -EINVAL);
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_savevm_register(sv, "a", 0, 0, &vfmig_v1dev_handlers, &dummy, &err), -EINVAL);
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_savevm_register(sv, "a", 0, 1, &half, &dummy, &err), -EINVAL);
	assert_str_contains(err.msg, "live handlers need setup, pending, iterate and complete");
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_savevm_register(sv, "a", 0, 1, &vfmig_v1dev_handlers, &dummy, &err), 0);
	assert_int_equal(vfmig_savevm_register(sv, "a", 0, 1, &vfmig_v1dev_handlers, &dummy, &err), -EEXIST);
	assert_string_equal(err.msg, "register: \"a\" instance 0 already registered");
	vfmig_savevm_free(sv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "test_trapped_fixed", test_layout_round_trip, NULL, NULL, &trapped_fixed },
		{ "test_mapped_fixed", test_layout_round_trip, NULL, NULL, &mapped_fixed },
		{ "test_unmapped_area_fixed", test_layout_round_trip, NULL, NULL, &unmapped_area_fixed },
		{ "test_sparse_rotate", test_layout_round_trip, NULL, NULL, &sparse_rotate },
		{ "test_sparse_gap", test_layout_round_trip, NULL, NULL, &sparse_gap },
		{ "test_sparse_straddle", test_layout_round_trip, NULL, NULL, &sparse_straddle },
		cmocka_unit_test(test_mixed_layouts),
		cmocka_unit_test(test_small_destination_region),
		cmocka_unit_test(test_several_devices),
		cmocka_unit_test(test_save_load_over_channel),
		cmocka_unit_test(test_dirty_then_converge),
		cmocka_unit_test(test_non_convergence),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_chunk_failure),
		cmocka_unit_test(test_chunk_failure_stopped_source),
		cmocka_unit_test(test_transition_failure_to_error),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_failing_resume),
		cmocka_unit_test(test_part_with_wrong_tag),
		cmocka_unit_test(test_load_stream_errors),
		cmocka_unit_test(test_stream_without_full),
		cmocka_unit_test(test_rate_limited_save),
		cmocka_unit_test(test_config_blob),
		cmocka_unit_test(test_register_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
