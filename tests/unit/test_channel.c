// SPDX-License-Identifier: GPL-2.0
/* The in-process channel `vfmig migrate` uses between its two ends. */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "channel.h"
#include "stream.h"
#include "testutil.h"

#define BIG	(3u << 20)

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 131 + (i >> 12));
}

struct writer_job {
	struct vfmig_channel *ch;
	const uint8_t *buf;
	size_t len;
	const size_t *pieces;		/* 0-terminated; the last one repeats */
	vfmig_cancel_t *cancel;
	int ret;
	bool close_after;
};

static void *writer_thread(void *arg)
{
	struct writer_job *j = arg;
	size_t pos = 0, k = 0;

	j->ret = 0;
	while (pos < j->len && !j->ret) {
		size_t n = j->pieces[k];

		if (j->pieces[k + 1])
			k++;
		if (n > j->len - pos)
			n = j->len - pos;
		j->ret = vfmig_channel_write(j->ch, j->buf + pos, n, j->cancel);
		pos += n;
	}
	if (j->close_after)
		vfmig_channel_close_write(j->ch);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Every byte arrives once and in order, whatever the piece sizes on each
 * side, with waits that watch before they sleep (the default) or not.
 */
static void transfer(bool spin)
{
	static const size_t wpieces[] = { 1, 7, 65536, (1u << 20) + 3, 4096, 0 };
	static const size_t rsizes[] = { 5000, 1u << 20, 1, 65536 };
	struct vfmig_channel *ch;
	uint8_t *src = malloc(BIG), *dst = malloc(BIG + 16);
	struct writer_job j = { .buf = src, .len = BIG, .pieces = wpieces, .close_after = true };
	size_t got = 0;
	pthread_t t;

	for (size_t i = 0; i < BIG; i++)
		src[i] = pattern(i);
	assert_int_equal(vfmig_channel_new(&ch), 0);
	vfmig_channel_set_spin(ch, spin);
	j.ch = ch;
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &j), 0);
	for (unsigned int k = 0;; k++) {
		ssize_t n = vfmig_channel_read(ch, dst + got, rsizes[k % 4], NULL);

		assert_true(n >= 0);
		if (!n)
			break;
		assert_true((size_t)n <= rsizes[k % 4]);
		got += (size_t)n;
		assert_true(got <= BIG);
	}
	pthread_join(t, NULL);
	assert_int_equal(j.ret, 0);
	assert_int_equal(got, BIG);
	assert_memory_equal(src, dst, BIG);
	/* End of input stays end of input. */
	assert_int_equal(vfmig_channel_read(ch, dst, 1, NULL), 0);
	vfmig_channel_free(ch);
	free(src);
	free(dst);
}

static void test_transfer(void **state)
{
	(void)state;
	transfer(true);
}

static void test_transfer_no_spin(void **state)
{
	(void)state;
	transfer(false);
}

/* A reader that stops: the writer's pending and later writes fail with EPIPE. */
static void test_reader_closes(void **state)
{
	static const size_t wpieces[] = { 1u << 20, 0 };
	struct vfmig_channel *ch;
	uint8_t *src = calloc(1, BIG), buf[100];
	struct writer_job j = { .buf = src, .len = BIG, .pieces = wpieces };
	pthread_t t;

	(void)state;
	assert_int_equal(vfmig_channel_new(&ch), 0);
	j.ch = ch;
	assert_int_equal(pthread_create(&t, NULL, writer_thread, &j), 0);
	assert_int_equal(vfmig_channel_read(ch, buf, sizeof(buf), NULL), (ssize_t)sizeof(buf));
	vfmig_channel_close_read(ch);
	pthread_join(t, NULL);
	assert_int_equal(j.ret, -EPIPE);
	assert_int_equal(vfmig_channel_write(ch, buf, 1, NULL), -EPIPE);
	vfmig_channel_free(ch);
	free(src);
}

static vfmig_cancel_t cancel_flag;

static void *cancel_later(void *arg)
{
	(void)arg;
	sleep_ms(120);
	cancel_flag = 1;
	return NULL;
}

/*
 * A cancel ends a wait on either side (no signal needed), and bytes whose
 * write was cancelled are withdrawn: the reader never sees them.
 */
static void test_cancel(void **state)
{
	struct vfmig_channel *ch;
	uint8_t buf[64] = { 1 };
	pthread_t t;

	(void)state;
	assert_int_equal(vfmig_channel_new(&ch), 0);
	cancel_flag = 0;
	assert_int_equal(pthread_create(&t, NULL, cancel_later, NULL), 0);
	assert_int_equal(vfmig_channel_write(ch, buf, sizeof(buf), &cancel_flag), -ECANCELED);
	pthread_join(t, NULL);
	vfmig_channel_close_write(ch);
	assert_int_equal(vfmig_channel_read(ch, buf, sizeof(buf), NULL), 0);
	vfmig_channel_free(ch);

	assert_int_equal(vfmig_channel_new(&ch), 0);
	cancel_flag = 0;
	assert_int_equal(pthread_create(&t, NULL, cancel_later, NULL), 0);
	assert_int_equal(vfmig_channel_read(ch, buf, sizeof(buf), &cancel_flag), -ECANCELED);
	pthread_join(t, NULL);
	vfmig_channel_free(ch);
}

/*
 * The stream writer and reader over a channel: what the writer buffers and
 * what it passes through unbuffered (pieces of 64 KiB and more) arrive the
 * same, and the reader's direct reads into big destinations work.
 */
static void *stream_writer_thread(void *arg)
{
	struct writer_job *j = arg;
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;

	vfmig_err_clear(&err);
	vfmig_writer_init_endpoint(w, &(struct vfmig_endpoint){ .chan = j->ch });
	j->ret = vfmig_stream_put_header(w, &err) ||
		 vfmig_writer_put_be64(w, 42, &err) ||
		 vfmig_writer_put(w, j->buf, j->len, &err) ||
		 vfmig_writer_put_u8(w, 7, &err) ||
		 vfmig_writer_flush(w, &err);
	vfmig_channel_close_write(j->ch);
	free(w);
	return NULL;
}

static void test_stream_over_channel(void **state)
{
	struct vfmig_channel *ch;
	uint8_t *src = malloc(BIG), *dst = malloc(BIG), b;
	struct vfmig_reader *r = malloc(sizeof(*r));
	struct writer_job j = { .buf = src, .len = BIG };
	struct vfmig_err err;
	uint64_t v;
	pthread_t t;

	(void)state;
	vfmig_err_clear(&err);
	for (size_t i = 0; i < BIG; i++)
		src[i] = pattern(i + 5);
	assert_int_equal(vfmig_channel_new(&ch), 0);
	j.ch = ch;
	assert_int_equal(pthread_create(&t, NULL, stream_writer_thread, &j), 0);
	vfmig_reader_init_endpoint(r, &(struct vfmig_endpoint){ .chan = ch });
	assert_int_equal(vfmig_stream_get_header(r, &err), 0);
	assert_int_equal(vfmig_reader_get_be64(r, &v, "number", &err), 0);
	assert_int_equal(v, 42);
	assert_int_equal(vfmig_reader_get(r, dst, BIG, "data", &err), 0);
	assert_memory_equal(src, dst, BIG);
	assert_int_equal(vfmig_reader_get_u8(r, &b, "tail", &err), 0);
	assert_int_equal(b, 7);
	/* Then the end of input, reported like a truncated file. */
	assert_int_equal(vfmig_reader_get_u8(r, &b, "more", &err), -EPIPE);
	assert_non_null(strstr(err.msg, "truncated"));
	pthread_join(t, NULL);
	assert_int_equal(j.ret, 0);
	vfmig_channel_free(ch);
	free(r);
	free(src);
	free(dst);
}

/* A filler that writes the pattern from where it is, and records each piece. */
struct filler {
	size_t pos;
	unsigned int calls, fail_at;	/* fail_at: 1-based call to fail, 0 never */
	void *dst[64];
	size_t len[64];
};

static int fill_pattern(void *ctx, void *dst, size_t len, struct vfmig_err *err)
{
	struct filler *f = ctx;

	if (++f->calls == f->fail_at)
		return vfmig_err_set(err, -EIO, "fill %u failed", f->calls);
	if (f->calls <= 64) {
		f->dst[f->calls - 1] = dst;
		f->len[f->calls - 1] = len;
	}
	for (size_t i = 0; i < len; i++)
		((uint8_t *)dst)[i] = pattern(f->pos + i);
	f->pos += len;
	return 0;
}

struct fill_job {
	struct vfmig_channel *ch;
	struct filler f;
	size_t n;
	vfmig_cancel_t *cancel;
	struct vfmig_err err;
	int ret;
};

static void *fill_thread(void *arg)
{
	struct fill_job *j = arg;

	vfmig_err_clear(&j->err);
	j->ret = vfmig_channel_write_fill(j->ch, j->n, fill_pattern, &j->f, j->cancel, &j->err);
	vfmig_channel_close_write(j->ch);
	return NULL;
}

/*
 * A fill goes straight into the reader's buffer: each piece the filler
 * writes is exactly one read's buffer and size, and the bytes arrive in
 * order; then end of input.
 */
static void test_fill_into_reader(void **state)
{
	static const size_t rsizes[] = { 5000, 1u << 20, 1, 65536 };
	struct fill_job j = { .n = BIG };
	uint8_t *dst = malloc(BIG);
	void *bufs[64];
	size_t got = 0;
	unsigned int k;
	pthread_t t;

	(void)state;
	assert_int_equal(vfmig_channel_new(&j.ch), 0);
	assert_int_equal(pthread_create(&t, NULL, fill_thread, &j), 0);
	for (k = 0;; k++) {
		size_t want = rsizes[k % 4] < BIG - got ? rsizes[k % 4] : BIG - got;
		ssize_t n;

		if (!want)
			want = 1;	/* one more read, to see the end of input */
		n = vfmig_channel_read(j.ch, dst + got, want, NULL);
		assert_true(n >= 0);
		if (!n)
			break;
		assert_int_equal(n, (ssize_t)want);
		if (k < 64)
			bufs[k] = dst + got;
		got += (size_t)n;
	}
	pthread_join(t, NULL);
	assert_int_equal(j.ret, 0);
	assert_int_equal(got, BIG);
	for (size_t i = 0; i < BIG; i++)
		if (dst[i] != pattern(i))
			fail_msg("byte %zu differs", i);
	assert_int_equal(j.f.calls, k);
	for (unsigned int i = 0; i < k && i < 64; i++)
		assert_ptr_equal(j.f.dst[i], bufs[i]);
	vfmig_channel_free(j.ch);
	free(dst);
}

/*
 * A failing fill hands nothing over: the reader gets the pieces before it
 * and then end of input; the writer gets the fill's error.  A reader that
 * closes makes a fill fail with EPIPE; a cancel ends a fill nobody reads.
 */
static void test_fill_errors(void **state)
{
	struct fill_job j = { .n = BIG, .f = { .fail_at = 2 } };
	uint8_t buf[4096];
	pthread_t t;

	(void)state;
	assert_int_equal(vfmig_channel_new(&j.ch), 0);
	assert_int_equal(pthread_create(&t, NULL, fill_thread, &j), 0);
	assert_int_equal(vfmig_channel_read(j.ch, buf, sizeof(buf), NULL), (ssize_t)sizeof(buf));
	assert_int_equal(buf[100], pattern(100));
	assert_int_equal(vfmig_channel_read(j.ch, buf, sizeof(buf), NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(j.ret, -EIO);
	assert_string_equal(j.err.msg, "fill 2 failed");
	vfmig_channel_free(j.ch);

	memset(&j, 0, sizeof(j));
	j.n = BIG;
	assert_int_equal(vfmig_channel_new(&j.ch), 0);
	assert_int_equal(pthread_create(&t, NULL, fill_thread, &j), 0);
	assert_int_equal(vfmig_channel_read(j.ch, buf, 10, NULL), 10);
	vfmig_channel_close_read(j.ch);
	pthread_join(t, NULL);
	assert_int_equal(j.ret, -EPIPE);
	vfmig_channel_free(j.ch);

	memset(&j, 0, sizeof(j));
	j.n = 10;
	j.cancel = &cancel_flag;
	cancel_flag = 0;
	assert_int_equal(vfmig_channel_new(&j.ch), 0);
	assert_int_equal(pthread_create(&t, NULL, cancel_later, NULL), 0);
	fill_thread(&j);
	pthread_join(t, NULL);
	assert_int_equal(j.ret, -ECANCELED);
	assert_int_equal(j.f.calls, 0);
	vfmig_channel_free(j.ch);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transfer),
		cmocka_unit_test(test_transfer_no_spin),
		cmocka_unit_test(test_reader_closes),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_stream_over_channel),
		cmocka_unit_test(test_fill_into_reader),
		cmocka_unit_test(test_fill_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
