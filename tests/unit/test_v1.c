// SPDX-License-Identifier: GPL-2.0
/* v1 client against the fake device and small stub regions. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream, F_SETPIPE_SZ */
#endif
#include <errno.h>

#include "fake_device.h"
#include "v1.h"
#include "testutil.h"

#define RSV 0x100u	/* a reserved device_state bit the fake reports */

static struct fake_dev *new_fake(enum fake_layout layout, enum fake_policy policy)
{
	struct fake_dev *d = malloc(sizeof(*d));
	struct fake_cfg c;

	fake_cfg_default(&c);
	c.reserved_bits = RSV;
	fake_cfg_layout(&c, layout);
	c.policy = policy;
	assert_int_equal(fake_init(d, &c), 0);
	return d;
}

static void free_fake(struct fake_dev *d)
{
	fake_fini(d);
	free(d);
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(vfmig_v1_state_name(0), "stop");
	assert_string_equal(vfmig_v1_state_name(1), "running");
	assert_string_equal(vfmig_v1_state_name(2), "stop-and-copy");
	assert_string_equal(vfmig_v1_state_name(3), "pre-copy");
	assert_string_equal(vfmig_v1_state_name(4), "resuming");
	assert_string_equal(vfmig_v1_state_name(6), "error");
	assert_string_equal(vfmig_v1_state_name(0x105), "invalid (resuming|running)");
}

/* set_state must keep reserved bits 3-31: the fake refuses writes that drop them. */
static void test_set_state_rmw_keeps_reserved(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct vfmig_err err;
	uint32_t res = 0, s;

	(void)state;
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_SAVING, &res, &err), 0);
	assert_int_equal(res, RSV | 3);
	assert_int_equal(d->state, RSV | 3);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~VFMIG_V1_STATE_RUNNING,
					    VFMIG_V1_STATE_SAVING, &res, &err), 0);
	assert_int_equal(res, RSV | 2);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~VFMIG_V1_STATE_SAVING, 0, &res, &err), 0);
	assert_int_equal(res, RSV | 0);
	/* Same-state writes are written and accepted. */
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u, 0, &res, &err), 0);
	assert_int_equal(d->nr_history, 4);
	assert_int_equal(d->history[3], 0);
	/* A blind write without the reserved bit is refused by the device. */
	assert_int_equal(vfmig_v1_put_state(&d->region, VFMIG_V1_STATE_RUNNING, &err), -EINVAL);
	assert_str_contains(err.msg, "write device_state: region write of 4 bytes at 0x0: Invalid argument");
	assert_int_equal(vfmig_v1_get_state(&d->region, &s, NULL), 0);
	assert_int_equal(s, RSV | 0);
	free_fake(d);
}

static void test_set_state_refused(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct vfmig_err err;
	uint32_t res = 0;

	(void)state;
	vfmig_err_clear(&err);
	fake_force_state(d, VFMIG_V1_STATE_SAVING);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~VFMIG_V1_STATE_MASK,
					    VFMIG_V1_STATE_RESUMING, &res, &err), -EINVAL);
	assert_str_contains(err.msg, "transition stop-and-copy -> resuming failed");
	assert_str_contains(err.msg, "device remains in stop-and-copy (0x102)");
	assert_int_equal(res, RSV | 2);
	assert_int_equal(d->state, RSV | 2);
	free_fake(d);
}

/* Invalid combinations are refused before anything is written. */
static void test_set_state_invalid_local(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct vfmig_err err;
	unsigned long writes = d->hdr_writes;

	(void)state;
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_RESUMING, NULL, &err), -EINVAL);
	assert_str_contains(err.msg, "refusing invalid device_state 0x105 (invalid (resuming|running)) from 0x101 (running)");
	assert_int_equal(d->hdr_writes, writes);
	free_fake(d);
}

static void test_set_state_error_state(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct vfmig_err err;
	uint32_t res = 0;

	(void)state;
	vfmig_err_clear(&err);
	d->fail_transition = EIO;
	d->fail_to_error = true;
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_SAVING, &res, &err), -EIO);
	assert_true(VFMIG_V1_STATE_IS_ERROR(res));
	assert_str_contains(err.msg, "transition running -> pre-copy failed");
	assert_str_contains(err.msg, "device is now in the error state (0x106) and needs a reset");
	/* Nothing but a reset leaves the error state. */
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~VFMIG_V1_STATE_MASK,
					    VFMIG_V1_STATE_RUNNING, &res, &err), -EINVAL);
	assert_true(VFMIG_V1_STATE_IS_ERROR(res));
	fake_reset(d);
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_SAVING, &res, &err), 0);
	assert_int_equal(res, RSV | 3);
	free_fake(d);
}

/*
 * All 8 x 8 transitions, written from the v1 rules and the transitions
 * QEMU 7.2 issues (qemu72-client.md 3.6), not from the fake's table.
 */
static void test_transition_matrix(void **state)
{
	/* expect[from][to] */
	static const bool expect[8][8] = {
		/*            0  1  2  3  4  5  6  7 */
		[0] = { 1, 1, 1, 0, 1, 0, 0, 0 },	/* stop: pre-copy needs RUNNING */
		[1] = { 1, 1, 1, 1, 1, 0, 0, 0 },	/* running */
		[2] = { 1, 1, 1, 0, 0, 0, 0, 0 },	/* stop-and-copy */
		[3] = { 1, 1, 1, 1, 0, 0, 0, 0 },	/* pre-copy */
		[4] = { 1, 1, 0, 0, 1, 0, 0, 0 },	/* resuming */
		[5] = { 0 }, [6] = { 0 }, [7] = { 0 },	/* invalid / error */
	};
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	uint32_t from, to, s;
	int ret;

	(void)state;
	for (from = 0; from < 8; from++) {
		for (to = 0; to < 8; to++) {
			fake_reset(d);
			fake_force_state(d, from);
			ret = vfmig_v1_put_state(&d->region, RSV | to, NULL);
			assert_int_equal(vfmig_v1_get_state(&d->region, &s, NULL), 0);
			if (expect[from][to]) {
				if (ret)
					fail_msg("%u -> %u refused", from, to);
				assert_int_equal(s, RSV | to);
			} else {
				if (ret != -EINVAL)
					fail_msg("%u -> %u gave %d", from, to, ret);
				assert_int_equal(s, RSV | from);
			}
			assert_int_equal(fake_transition_allowed(from, to), expect[from][to]);
		}
	}
	free_fake(d);
}

/* Header fields only at native width and alignment. */
static void test_native_width(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	uint64_t v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;

	(void)state;
	assert_int_equal(d->region.ops->read(d, &v64, 8, 0), -EINVAL);
	assert_int_equal(d->region.ops->read(d, &v16, 2, 0), -EINVAL);
	assert_int_equal(d->region.ops->read(d, &v32, 4, 8), -EINVAL);
	assert_int_equal(d->region.ops->read(d, &v64, 8, 9), -EINVAL);
	assert_int_equal(d->region.ops->read(d, &v64, 8, 28), -EINVAL);
	assert_int_equal(d->region.ops->write(d, &v64, 8, 16), -EINVAL);
	assert_int_equal(d->bad_width, 5);
	assert_int_equal(d->region.ops->read(d, &v32, 4, 4), 4);
	assert_int_equal(v32, 0);
	assert_int_equal(d->region.ops->write(d, &v32, 4, 4), 4);	/* reserved: ignored */
	free_fake(d);
}

/* Repeated reads have no side effects; data_size needs a data_offset first. */
static void test_register_sequence(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	uint64_t p1, p2, o1, o2, s1, s2;
	struct vfmig_err err;

	(void)state;
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_SAVING, NULL, &err), 0);
	assert_int_equal(vfmig_v1_get_data_size(&d->region, &s1, &err), -EINVAL);
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_v1_get_pending(&d->region, &p1, &err), 0);
	assert_int_equal(vfmig_v1_get_pending(&d->region, &p2, &err), 0);
	assert_int_equal(p1, 64 * 1024);
	assert_int_equal(p2, p1);
	assert_int_equal(vfmig_v1_get_data_offset(&d->region, &o1, &err), 0);
	assert_int_equal(vfmig_v1_get_data_offset(&d->region, &o2, &err), 0);
	assert_int_equal(vfmig_v1_get_data_size(&d->region, &s1, &err), 0);
	assert_int_equal(vfmig_v1_get_data_size(&d->region, &s2, &err), 0);
	assert_int_equal(o1, 4096);
	assert_int_equal(o2, o1);
	assert_int_equal(s1, 8 * 1024 + 32);
	assert_int_equal(s2, s1);
	assert_int_equal(d->chunks_staged, 1);
	/* The next pending read acks the chunk. */
	assert_int_equal(vfmig_v1_get_pending(&d->region, &p2, &err), 0);
	assert_int_equal(p2, 56 * 1024);
	free_fake(d);
}

struct membuf {
	uint8_t *p;
	size_t len, cap;
	unsigned int calls;
};

static int mem_sink(void *opaque, const void *buf, size_t len, struct vfmig_err *err)
{
	struct membuf *m = opaque;

	(void)err;
	assert_true(m->len + len <= m->cap);
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	m->calls++;
	return 0;
}

static void save_window(enum fake_layout layout, enum fake_policy policy,
			unsigned long want_reads, size_t want_min, unsigned int want_pieces)
{
	struct fake_dev *d = new_fake(layout, policy);
	struct membuf m = { .cap = 16384 };
	struct vfmig_v1_window win;
	struct vfmig_err err;
	uint8_t bounce[65536];

	vfmig_err_clear(&err);
	m.p = malloc(m.cap);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_SAVING, NULL, &err), 0);
	assert_int_equal(vfmig_v1_stage_chunk(&d->region, &win, &err), 0);
	assert_int_equal(vfmig_v1_save_chunk(&d->region, &win, mem_sink, NULL, &m, bounce,
					     sizeof(bounce), &err), 0);
	assert_int_equal(m.len, win.size);
	assert_memory_equal(m.p, d->back + win.offset, win.size);
	assert_int_equal(d->data_reads, want_reads);
	if (want_min)
		assert_int_equal(d->min_data_access, want_min);
	assert_int_equal(m.calls, want_pieces);
	free(m.p);
	free_fake(d);
}

/* Trapped windows move in one large read, never 8 bytes at a time. */
static void test_save_window_trapped(void **state)
{
	(void)state;
	save_window(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED, 1, 8 * 1024 + 32, 1);
	save_window(FAKE_LAYOUT_UNMAPPED, FAKE_POLICY_FIXED, 1, 8 * 1024 + 32, 1);
}

static void test_save_window_mapped(void **state)
{
	(void)state;
	save_window(FAKE_LAYOUT_MAPPED, FAKE_POLICY_FIXED, 0, 0, 1);
	save_window(FAKE_LAYOUT_SPARSE, FAKE_POLICY_ROTATE, 0, 0, 1);
}

/* area 0 (1 KiB, mapped) + gap (4 KiB, one read) + area 1 (mapped). */
static void test_save_window_straddle(void **state)
{
	(void)state;
	save_window(FAKE_LAYOUT_SPARSE, FAKE_POLICY_STRADDLE, 1, 4096, 3);
	save_window(FAKE_LAYOUT_SPARSE, FAKE_POLICY_GAP, 1, 4096, 2);
}

/* A short trapped read is an error, not silently retried. */
static void test_short_read(void **state)
{
	struct fake_dev *d = new_fake(FAKE_LAYOUT_TRAPPED, FAKE_POLICY_FIXED);
	struct membuf m = { .cap = 16384 };
	struct vfmig_v1_window win;
	struct vfmig_err err;
	uint8_t bounce[4096];

	(void)state;
	vfmig_err_clear(&err);
	m.p = malloc(m.cap);
	assert_int_equal(vfmig_v1_set_state(&d->region, ~0u,
					    VFMIG_V1_STATE_SAVING, NULL, &err), 0);
	assert_int_equal(vfmig_v1_stage_chunk(&d->region, &win, &err), 0);
	d->short_read = true;
	assert_int_equal(vfmig_v1_save_chunk(&d->region, &win, mem_sink, NULL, &m, bounce,
					     sizeof(bounce), &err), -EIO);
	assert_string_equal(err.msg, "short region read at 0x1000: 2048 of 4096 bytes");
	free(m.p);
	free_fake(d);
}

/* A stub region with scripted data_offset/data_size and a recorded data log. */
struct stub {
	struct vfmig_region region;
	uint64_t data_offset, data_size;
	uint64_t sizes[8];
	unsigned int nr_sizes, offset_reads;
	uint8_t log[32768];
	size_t log_len;
	uint8_t data[8192];
};

static ssize_t stub_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct stub *s = ctx;

	if (off == VFMIG_V1_OFF_DATA_OFFSET && len == 8) {
		s->offset_reads++;
		memcpy(buf, &s->data_offset, 8);
		return 8;
	}
	if (off == VFMIG_V1_OFF_DATA_SIZE && len == 8) {
		memcpy(buf, &s->data_size, 8);
		return 8;
	}
	return -EINVAL;
}

static ssize_t stub_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct stub *s = ctx;
	uint64_t v;

	if (off == VFMIG_V1_OFF_DATA_SIZE && len == 8) {
		memcpy(&v, buf, 8);
		assert_true(s->nr_sizes < 8);
		s->sizes[s->nr_sizes++] = v;
		memcpy(s->log + s->log_len, s->data + (s->data_offset - 4096), v);
		s->log_len += v;
		return 8;
	}
	if (off >= 4096 && off + len <= s->region.size) {
		memcpy(s->data + (off - 4096), buf, len);
		return (ssize_t)len;
	}
	return -EINVAL;
}

static const struct vfmig_region_ops stub_ops = { .read = stub_read, .write = stub_write };

static struct stub *new_stub(uint64_t size)
{
	struct stub *s = calloc(1, sizeof(*s));

	s->region.ops = &stub_ops;
	s->region.ctx = s;
	s->region.size = size;
	s->region.name = "stub";
	s->data_offset = 4096;
	return s;
}

struct membuf_src {
	const uint8_t *p;
	size_t pos;
};

static int mem_source(void *opaque, void *buf, size_t len, struct vfmig_err *err)
{
	struct membuf_src *m = opaque;

	(void)err;
	memcpy(buf, m->p + m->pos, len);
	m->pos += len;
	return 0;
}

/* data_offset + size beyond the region: split like QEMU's load_buffer. */
static void test_load_split(void **state)
{
	struct stub *s = new_stub(4096 + 4096);
	uint8_t src[10000], bounce[1024];
	struct membuf_src m = { .p = src };
	struct vfmig_err err;
	size_t i;

	(void)state;
	vfmig_err_clear(&err);
	for (i = 0; i < sizeof(src); i++)
		src[i] = (uint8_t)(i * 31 + 7);
	assert_int_equal(vfmig_v1_load_chunk(&s->region, sizeof(src), mem_source, &m, bounce,
					     sizeof(bounce), &err), 0);
	assert_int_equal(s->nr_sizes, 3);
	assert_int_equal(s->sizes[0], 4096);
	assert_int_equal(s->sizes[1], 4096);
	assert_int_equal(s->sizes[2], 10000 - 8192);
	assert_int_equal(s->offset_reads, 3);
	assert_int_equal(s->log_len, sizeof(src));
	assert_memory_equal(s->log, src, sizeof(src));
	/* Empty chunks never reach the device. */
	assert_int_equal(vfmig_v1_load_chunk(&s->region, 0, mem_source, &m, bounce,
					     sizeof(bounce), &err), 0);
	assert_int_equal(s->offset_reads, 3);
	free(s);
}

/* Windows the device reports are checked before any data access. */
static void test_stage_validation(void **state)
{
	struct stub *s = new_stub(4096 + 4096);
	struct vfmig_v1_window win;
	struct vfmig_err err;
	uint8_t bounce[64];

	(void)state;
	vfmig_err_clear(&err);
	s->data_offset = 8;
	s->data_size = 16;
	assert_int_equal(vfmig_v1_stage_chunk(&s->region, &win, &err), -EPROTO);
	assert_string_equal(err.msg, "device reported data_offset 0x8 inside the v1 header");
	vfmig_err_clear(&err);
	s->data_offset = 4096;
	s->data_size = 4097;
	assert_int_equal(vfmig_v1_stage_chunk(&s->region, &win, &err), -ERANGE);
	assert_string_equal(err.msg, "data window [0x1000, +0x1001) exceeds region size 0x2000");
	vfmig_err_clear(&err);
	s->data_size = UINT64_MAX;
	assert_int_equal(vfmig_v1_stage_chunk(&s->region, &win, &err), -ERANGE);
	vfmig_err_clear(&err);
	s->data_offset = 8192;
	assert_int_equal(vfmig_v1_load_chunk(&s->region, 1, mem_source, NULL, bounce,
					     sizeof(bounce), &err), -EPROTO);
	assert_str_contains(err.msg, "data_offset 0x2000 outside the data section");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_set_state_rmw_keeps_reserved),
		cmocka_unit_test(test_set_state_refused),
		cmocka_unit_test(test_set_state_invalid_local),
		cmocka_unit_test(test_set_state_error_state),
		cmocka_unit_test(test_transition_matrix),
		cmocka_unit_test(test_native_width),
		cmocka_unit_test(test_register_sequence),
		cmocka_unit_test(test_save_window_trapped),
		cmocka_unit_test(test_save_window_mapped),
		cmocka_unit_test(test_save_window_straddle),
		cmocka_unit_test(test_short_read),
		cmocka_unit_test(test_load_split),
		cmocka_unit_test(test_stage_validation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
