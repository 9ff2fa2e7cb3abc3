// SPDX-License-Identifier: GPL-2.0
/*
 * Engine + v2 device handler against a fake v2 device whose data files are
 * memfds: the fake hands out a fixed payload (its first part in PRE_COPY,
 * the rest appended at STOP_COPY) and keeps what a resume wrote.  Also the
 * cross-protocol path: v1 fake -> v2 handler -> v1 fake.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <unistd.h>

#include "fake_device.h"
#include "savevm.h"
#include "v1dev.h"
#include "v2dev.h"
#include "testutil.h"

struct fake2 {
	uint32_t state;
	bool precopy;			/* offers PRE_COPY */
	const uint8_t *payload;		/* what a save hands out */
	size_t len, initial;		/* initial: available in PRE_COPY */
	int file;			/* the fake's end of the data file (shared offset) */
	const uint8_t *expect;		/* resume: RESUMING -> STOP checks it (NULL: any) */
	size_t expect_len;
	uint8_t *got;			/* resume: what arrived */
	size_t got_len;
	uint32_t fail_on;		/* arc to this state fails into ERROR (0 = none) */
	bool append;			/* resuming file O_APPEND: it refuses splice */
	unsigned int resets;
};

static int new_file(struct fake2 *f, const uint8_t *p, size_t n, int *data_fd)
{
	f->file = tu_memfd();
	if (n)
		assert_int_equal(write(f->file, p, n), (ssize_t)n);
	assert_int_equal(lseek(f->file, 0, SEEK_SET), 0);
	*data_fd = dup(f->file);
	assert_true(*data_fd >= 0);
	return 0;
}

static void drop_file(struct fake2 *f)
{
	if (f->file >= 0)
		close(f->file);
	f->file = -1;
}

/* RESUMING -> STOP: take what was written, check it if asked. */
static int end_resume(struct fake2 *f)
{
	free(f->got);
	f->got = tu_slurp(f->file, &f->got_len);
	if (f->expect && (f->got_len != f->expect_len || memcmp(f->got, f->expect, f->got_len)))
		return -EINVAL;
	drop_file(f);
	return 0;
}

static int f2_set_state(void *opaque, uint32_t to, int *data_fd, struct vfmig_err *err)
{
	struct fake2 *f = opaque;
	uint32_t from = f->state;
	int ret = 0, fd = -1;

	if (data_fd)
		*data_fd = -1;
	if (f->fail_on && to == f->fail_on) {
		f->fail_on = 0;
		drop_file(f);
		f->state = VFIO_DEVICE_STATE_ERROR;
		return vfmig_err_set(err, -EIO, "fake: arc to %s failed", vfmig_v2_state_name(to));
	}
	if (from == VFIO_DEVICE_STATE_ERROR)
		return vfmig_err_set(err, -EINVAL, "fake: in ERROR");
	if (from == to)
		return 0;
	switch (to) {
	case VFIO_DEVICE_STATE_PRE_COPY:
		if (!f->precopy || from != VFIO_DEVICE_STATE_RUNNING)
			ret = -EINVAL;
		else
			ret = new_file(f, f->payload, f->initial, &fd);
		break;
	case VFIO_DEVICE_STATE_STOP_COPY:
		if (from == VFIO_DEVICE_STATE_PRE_COPY)
			assert_int_equal(pwrite(f->file, f->payload + f->initial, f->len - f->initial,
						(off_t)f->initial), (ssize_t)(f->len - f->initial));
		else if (from == VFIO_DEVICE_STATE_RUNNING || from == VFIO_DEVICE_STATE_STOP)
			ret = new_file(f, f->payload, f->len, &fd);
		else
			ret = -EINVAL;
		break;
	case VFIO_DEVICE_STATE_RESUMING:
		ret = new_file(f, NULL, 0, &fd);
		if (f->append)
			assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
		break;
	case VFIO_DEVICE_STATE_STOP:
	case VFIO_DEVICE_STATE_RUNNING:
		if (from == VFIO_DEVICE_STATE_RESUMING)
			ret = end_resume(f);
		else
			drop_file(f);
		break;
	default:
		ret = -EINVAL;
	}
	if (ret)
		return vfmig_err_set(err, ret, "fake: %s -> %s refused", vfmig_v2_state_name(from),
				     vfmig_v2_state_name(to));
	f->state = to;
	if (data_fd)
		*data_fd = fd;
	else if (fd >= 0)
		close(fd);
	return 0;
}

static int f2_get_state(void *opaque, uint32_t *state, struct vfmig_err *err)
{
	(void)err;
	*state = ((struct fake2 *)opaque)->state;
	return 0;
}

static int f2_precopy_info(void *opaque, int data_fd, uint64_t *initial, uint64_t *dirty,
			   struct vfmig_err *err)
{
	struct fake2 *f = opaque;
	off_t at = lseek(data_fd, 0, SEEK_CUR);

	if (f->state != VFIO_DEVICE_STATE_PRE_COPY)
		return vfmig_err_set(err, -EINVAL, "fake: PRECOPY_INFO outside PRE_COPY");
	*initial = (uint64_t)at < f->initial ? f->initial - (uint64_t)at : 0;
	*dirty = 0;
	return 0;
}

static int f2_reset(void *opaque, struct vfmig_err *err)
{
	struct fake2 *f = opaque;

	(void)err;
	drop_file(f);
	f->resets++;
	f->state = VFIO_DEVICE_STATE_RUNNING;
	return 0;
}

static const struct vfmig_v2_ops f2_ops = {
	.get_state = f2_get_state,
	.set_state = f2_set_state,
	.precopy_info = f2_precopy_info,
	.reset = f2_reset,
};

struct side2 {
	struct fake2 f;
	struct vfmig_v2dev *dev;
};

static struct side2 *side2_new_bounce(const uint8_t *payload, size_t len, bool precopy,
				      size_t bounce)
{
	struct side2 *s = calloc(1, sizeof(*s));
	struct vfmig_v2dev_opts o = { .bounce_size = bounce };
	uint64_t flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P;
	struct vfmig_err err;

	assert_non_null(s);
	vfmig_err_clear(&err);
	s->f.state = VFIO_DEVICE_STATE_RUNNING;
	s->f.file = -1;
	s->f.payload = payload;
	s->f.len = len;
	s->f.initial = len / 3;
	s->f.precopy = precopy;
	if (precopy)
		flags |= VFIO_MIGRATION_PRE_COPY;
	s->dev = vfmig_v2dev_new(&f2_ops, &s->f, "fake2", flags, &o, &err);
	assert_non_null(s->dev);
	return s;
}

static struct side2 *side2_new(const uint8_t *payload, size_t len, bool precopy)
{
	return side2_new_bounce(payload, len, precopy, 4096);	/* many blobs per save */
}

static void side2_free(struct side2 *s)
{
	vfmig_v2dev_free(s->dev);
	drop_file(&s->f);
	free(s->f.got);
	free(s);
}

static uint8_t *pattern(size_t len, uint32_t seed)
{
	uint8_t *p = malloc(len);

	assert_non_null(p);
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
	return p;
}

struct run {
	struct vfmig_conv_opts o;
	struct tu_clock clk;
	struct vfmig_err err;
	struct vfmig_stats st;
	vfmig_cancel_t cancel;
	unsigned int cancel_after;	/* progress reports in pre-copy, 0 = never */
};

static void run_init(struct run *r)
{
	memset(r, 0, sizeof(*r));
	vfmig_err_clear(&r->err);
	tu_clock_init(&r->clk, 1000000);
	vfmig_conv_opts_init(&r->o);
}

static void on_progress(void *opaque, const struct vfmig_progress *p)
{
	struct run *r = opaque;

	if (r->cancel_after && !strcmp(p->phase, "pre-copy") && p->iteration >= r->cancel_after)
		r->cancel = 1;
}

static int save2(struct side2 *s, int fd, struct run *r)
{
	struct vfmig_savevm *sv = vfmig_savevm_new();
	int ret;

	vfmig_savevm_set_progress(sv, on_progress, r);
	assert_int_equal(vfmig_v2dev_register(sv, s->dev, "vfmig", 0, &r->err), 0);
	ret = vfmig_savevm_save(sv, fd, &r->o, &r->clk.clock, &r->cancel, &r->st, &r->err);
	vfmig_savevm_free(sv);
	return ret;
}

static int load2(struct side2 *s, int fd, struct vfmig_err *err)
{
	struct vfmig_savevm *sv = vfmig_savevm_new();
	int ret;

	assert_int_equal(vfmig_v2dev_register(sv, s->dev, "vfmig", 0, err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	ret = vfmig_savevm_load(sv, fd, NULL, err);
	if (!ret)
		ret = vfmig_v2dev_start(s->dev, err);
	vfmig_savevm_free(sv);
	return ret;
}

static char *inspect(int fd)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(vfmig_stream_inspect(fd, out, NULL, NULL), 0);
	fclose(out);
	return text;
}

static void round_trip(bool precopy, bool offline)
{
	size_t len = 100000;
	uint8_t *p = pattern(len, 3);
	struct side2 *src = side2_new(p, len, precopy), *dst = side2_new(NULL, 0, false);
	int fd = tu_memfd();
	struct run r;
	char *text;

	run_init(&r);
	r.o.offline = offline;
	if (save2(src, fd, &r))
		fail_msg("save: %s", r.err.msg);
	assert_int_equal(src->f.state, VFIO_DEVICE_STATE_STOP);
	assert_int_equal(src->f.file, -1);
	assert_string_equal(r.st.status, "completed");
	if (precopy && !offline)
		assert_true(r.st.iterations >= 1);
	else
		assert_int_equal(r.st.iterations, 0);
	assert_int_equal(vfmig_v2dev_counters(src->dev)->data_bytes, len);
	text = inspect(fd);
	assert_str_contains(text, "START id 1 \"vfmig\" instance 0 version 2 (protocol v2)");
	free(text);
	dst->f.expect = p;
	dst->f.expect_len = len;
	if (load2(dst, fd, &r.err))
		fail_msg("load: %s", r.err.msg);
	assert_int_equal(dst->f.state, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(dst->f.got_len, len);
	assert_int_equal(vfmig_v2dev_counters(dst->dev)->data_bytes, len);
	close(fd);
	side2_free(src);
	side2_free(dst);
	free(p);
}

static void test_stop_copy_only(void **state)
{
	(void)state;
	round_trip(false, false);
}

static void test_precopy(void **state)
{
	(void)state;
	round_trip(true, false);
}

static void test_offline(void **state)
{
	(void)state;
	round_trip(true, true);
}

/*
 * memfds splice: DATA goes file -> pipe -> stream and back without a user
 * buffer.  An O_APPEND stream or resuming file refuses splice (EINVAL):
 * the bytes already in the pipe go by read/write and the stream is the
 * same, byte for byte.
 */
static void test_splice_and_fallback(void **state)
{
	size_t len = 1u << 20, alen, blen;
	uint8_t *p = pattern(len, 5), *a, *b;
	struct side2 *src = side2_new_bounce(p, len, false, len / 4);
	struct side2 *dst = side2_new_bounce(NULL, 0, false, len / 4);
	struct side2 *src2 = side2_new_bounce(p, len, false, len / 4);
	struct side2 *dst2 = side2_new_bounce(NULL, 0, false, len / 4);
	int fd = tu_memfd(), fd2 = tu_memfd();
	struct run r;

	(void)state;
	run_init(&r);
	if (save2(src, fd, &r))
		fail_msg("save: %s", r.err.msg);
	assert_int_equal(vfmig_v2dev_spliced(src->dev), len);
	assert_int_equal(fcntl(fd2, F_SETFL, O_APPEND), 0);
	run_init(&r);
	if (save2(src2, fd2, &r))
		fail_msg("save to O_APPEND: %s", r.err.msg);
	assert_int_equal(vfmig_v2dev_spliced(src2->dev), 0);
	assert_int_equal(vfmig_v2dev_counters(src2->dev)->data_bytes, len);
	a = tu_slurp(fd, &alen);
	b = tu_slurp(fd2, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);

	dst->f.expect = dst2->f.expect = p;
	dst->f.expect_len = dst2->f.expect_len = len;
	if (load2(dst, fd, &r.err))
		fail_msg("load: %s", r.err.msg);
	assert_int_equal(dst->f.got_len, len);
	/* Of each of the 4 blobs, what the reader had buffered goes by write(2). */
	assert_true(vfmig_v2dev_spliced(dst->dev) >= len - 4 * VFMIG_STREAM_BUF);
	assert_int_equal(vfmig_v2dev_counters(dst->dev)->data_bytes, len);
	dst2->f.append = true;
	if (load2(dst2, fd2, &r.err))
		fail_msg("load into O_APPEND: %s", r.err.msg);
	assert_int_equal(dst2->f.got_len, len);
	assert_int_equal(vfmig_v2dev_spliced(dst2->dev), 0);
	assert_int_equal(vfmig_v2dev_counters(dst2->dev)->data_bytes, len);
	free(a);
	free(b);
	close(fd);
	close(fd2);
	side2_free(src);
	side2_free(dst);
	side2_free(src2);
	side2_free(dst2);
	free(p);
}

/* Drains a pipe into a memfd until EOF, slowly enough that the writer waits. */
struct drain {
	int rd, out;
};

static void *drain_pipe(void *arg)
{
	struct drain *d = arg;
	uint8_t buf[4096];
	ssize_t n;

	while ((n = read(d->rd, buf, sizeof(buf))) > 0) {
		if (write(d->out, buf, (size_t)n) != n)
			break;
		usleep(100);
	}
	return NULL;
}

/*
 * A caller's non-blocking pipe under the stream: splice meets EAGAIN and
 * waits for the reader; the stream is byte for byte the memfd's.
 */
static void test_splice_nonblocking_pipe(void **state)
{
	size_t len = 1u << 20, alen, blen;
	uint8_t *p = pattern(len, 6), *a, *b;
	struct side2 *src = side2_new_bounce(p, len, false, len / 4);
	struct side2 *src2 = side2_new_bounce(p, len, false, len / 4);
	struct drain d = { .out = tu_memfd() };
	int fd = tu_memfd(), fds[2];
	pthread_t t;
	struct run r;

	(void)state;
	run_init(&r);
	if (save2(src, fd, &r))
		fail_msg("save: %s", r.err.msg);
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	d.rd = fds[0];
	assert_int_equal(fcntl(d.rd, F_SETFL, 0), 0);	/* only the writer's end */
	assert_int_equal(pthread_create(&t, NULL, drain_pipe, &d), 0);
	run_init(&r);
	if (save2(src2, fds[1], &r))
		fail_msg("save to a non-blocking pipe: %s", r.err.msg);
	close(fds[1]);
	pthread_join(t, NULL);
	close(fds[0]);
	assert_int_equal(vfmig_v2dev_spliced(src2->dev), len);
	a = tu_slurp(fd, &alen);
	b = tu_slurp(d.out, &blen);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	close(fd);
	close(d.out);
	side2_free(src);
	side2_free(src2);
	free(p);
}

/* v1 fake -> stream -> v2 handler, which keeps the bytes; then back to v1. */
static void test_cross_protocol(void **state)
{
	struct vfmig_v1dev_opts o1 = { .bounce_size = 8192 };
	struct fake_dev a, d;
	struct fake_cfg c;
	struct vfmig_v1dev *va, *vd;
	struct side2 *b, *back;
	struct vfmig_savevm *sv;
	int s1 = tu_memfd(), s2 = tu_memfd();
	struct run r;
	char *text;

	(void)state;
	run_init(&r);
	fake_cfg_default(&c);
	c.seed = 5;
	assert_int_equal(fake_init(&a, &c), 0);
	c.seed = 77;
	assert_int_equal(fake_init(&d, &c), 0);
	va = vfmig_v1dev_new(&a.region, &o1, &r.err);
	vd = vfmig_v1dev_new(&d.region, &o1, &r.err);
	assert_non_null(va);
	assert_non_null(vd);
	assert_int_not_equal(fake_checksum(&a), fake_checksum(&d));

	sv = vfmig_savevm_new();
	assert_int_equal(vfmig_v1dev_register(sv, va, "vfmig", 0, &r.err), 0);
	assert_int_equal(vfmig_savevm_save(sv, s1, &r.o, &r.clk.clock, NULL, NULL, &r.err), 0);
	vfmig_savevm_free(sv);
	text = inspect(s1);
	assert_str_contains(text, "version 1 (protocol v1)");
	free(text);

	b = side2_new(NULL, 0, false);
	if (load2(b, s1, &r.err))
		fail_msg("v1 stream into v2: %s", r.err.msg);
	assert_true(b->f.got_len > 0);

	back = side2_new(b->f.got, b->f.got_len, true);
	if (save2(back, s2, &r))
		fail_msg("v2 save: %s", r.err.msg);
	sv = vfmig_savevm_new();
	assert_int_equal(vfmig_v1dev_register(sv, vd, "vfmig", 0, &r.err), 0);
	assert_int_equal(lseek(s2, 0, SEEK_SET), 0);
	if (vfmig_savevm_load(sv, s2, NULL, &r.err))
		fail_msg("v2 stream into v1: %s", r.err.msg);
	vfmig_savevm_free(sv);
	assert_int_equal(fake_checksum(&d), fake_checksum(&a));

	side2_free(back);
	side2_free(b);
	vfmig_v1dev_free(va);
	vfmig_v1dev_free(vd);
	fake_fini(&a);
	fake_fini(&d);
	close(s1);
	close(s2);
}

/* A v1-only loader refuses a section version it does not know. */
static void test_version_refused(void **state)
{
	size_t len = 5000;
	uint8_t *p = pattern(len, 9);
	struct side2 *src = side2_new(p, len, false), *dst = side2_new(NULL, 0, false);
	struct vfmig_savevm *sv;
	int fd = tu_memfd();
	struct run r;

	(void)state;
	run_init(&r);
	assert_int_equal(save2(src, fd, &r), 0);
	sv = vfmig_savevm_new();
	assert_int_equal(vfmig_savevm_register(sv, "vfmig", 0, 1, &vfmig_v2dev_handlers, dst->dev,
					       &r.err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(vfmig_savevm_load(sv, fd, NULL, &r.err), -EPROTONOSUPPORT);
	assert_str_contains(r.err.msg, "section version 2 not supported");
	vfmig_savevm_free(sv);
	close(fd);
	side2_free(src);
	side2_free(dst);
	free(p);
}

/* STOP_COPY fails into ERROR: the save fails and cleanup resets the device. */
static void test_source_error_reset(void **state)
{
	size_t len = 20000;
	uint8_t *p = pattern(len, 4);
	struct side2 *src = side2_new(p, len, true);
	int fd = tu_memfd();
	struct run r;

	(void)state;
	run_init(&r);
	src->f.fail_on = VFIO_DEVICE_STATE_STOP_COPY;
	assert_int_equal(save2(src, fd, &r), -EIO);
	assert_str_contains(r.err.msg, "fake2: enter stop-copy: fake: arc to STOP_COPY failed");
	assert_int_equal(src->f.state, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(src->f.resets, 1);
	close(fd);
	side2_free(src);
	free(p);
}

/*
 * A source found stopped (saved before) is saved by stop-and-copy alone:
 * the arc STOP -> PRE_COPY would run it (this fake refuses it).  A failed
 * save puts it back in STOP, even out of ERROR through a reset (which runs).
 */
static void test_stopped_source_stays_stopped(void **state)
{
	size_t len = 20000;
	uint8_t *p = pattern(len, 12);
	struct side2 *src = side2_new(p, len, true);
	int fd = tu_memfd();
	struct run r;

	(void)state;
	run_init(&r);
	src->f.state = VFIO_DEVICE_STATE_STOP;
	if (save2(src, fd, &r))
		fail_msg("save of a stopped source: %s", r.err.msg);
	assert_int_equal(r.st.iterations, 0);
	assert_int_equal(src->f.state, VFIO_DEVICE_STATE_STOP);
	assert_int_equal(vfmig_v2dev_counters(src->dev)->data_bytes, len);

	run_init(&r);
	src->f.fail_on = VFIO_DEVICE_STATE_STOP_COPY;
	assert_int_equal(save2(src, fd, &r), -EIO);
	assert_int_equal(src->f.resets, 1);
	assert_int_equal(src->f.state, VFIO_DEVICE_STATE_STOP);
	/* The explicit restart (vfmig_session_restart) runs it all the same. */
	assert_int_equal(vfmig_v2dev_restart(src->dev, &r.err), 0);
	assert_int_equal(src->f.state, VFIO_DEVICE_STATE_RUNNING);
	close(fd);
	side2_free(src);
	free(p);
}

/* Cancelled in pre-copy: -ECANCELED, back to RUNNING without a reset. */
static void test_cancel_in_precopy(void **state)
{
	size_t len = 1000000;
	uint8_t *p = pattern(len, 6);
	struct side2 *src = side2_new(p, len, true);
	int fd = tu_memfd();
	struct run r;

	(void)state;
	run_init(&r);
	r.o.max_bandwidth = 200000;	/* 20 KB per 100 ms window: many rounds */
	r.cancel_after = 2;
	assert_int_equal(save2(src, fd, &r), -ECANCELED);
	assert_string_equal(r.st.status, "cancelled");
	assert_int_equal(src->f.state, VFIO_DEVICE_STATE_RUNNING);
	assert_int_equal(src->f.resets, 0);
	assert_int_equal(src->f.file, -1);
	close(fd);
	side2_free(src);
	free(p);
}

/* The device refuses the state at RESUMING -> STOP: start fails, RESUMING stays. */
static void test_resume_refused(void **state)
{
	size_t len = 30000;
	uint8_t *p = pattern(len, 8), *other = pattern(len, 10);
	struct side2 *src = side2_new(p, len, false), *dst = side2_new(NULL, 0, false);
	int fd = tu_memfd();
	struct run r;

	(void)state;
	run_init(&r);
	assert_int_equal(save2(src, fd, &r), 0);
	dst->f.expect = other;
	dst->f.expect_len = len;
	assert_int_equal(load2(dst, fd, &r.err), -EINVAL);
	assert_str_contains(r.err.msg, "fake2: start device");
	assert_int_equal(dst->f.state, VFIO_DEVICE_STATE_RESUMING);
	assert_int_equal(vfmig_v2dev_restart(dst->dev, &r.err), 0);
	assert_int_equal(dst->f.state, VFIO_DEVICE_STATE_RUNNING);
	close(fd);
	side2_free(src);
	side2_free(dst);
	free(p);
	free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_copy_only),
		cmocka_unit_test(test_precopy),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_cross_protocol),
		cmocka_unit_test(test_splice_and_fallback),
		cmocka_unit_test(test_splice_nonblocking_pipe),
		cmocka_unit_test(test_version_refused),
		cmocka_unit_test(test_source_error_reset),
		cmocka_unit_test(test_stopped_source_stays_stopped),
		cmocka_unit_test(test_cancel_in_precopy),
		cmocka_unit_test(test_resume_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
