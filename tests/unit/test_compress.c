// SPDX-License-Identifier: GPL-2.0
/*
 * Stream compression: ZDATA round trips (zstd, lz4) on compressible and
 * random data, raw fallback for incompressible blocks, and every refusal:
 * corrupt or truncated coded bytes, sizes over the limits, codecs the header
 * does not announce, unknown feature bits.  Last, a whole save/resume of a
 * fake device through the engine with each codec.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream */
#endif
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>

#include "compress.h"
#include "lazy.h"
#include "fake_device.h"
#include "savevm.h"
#include "stream.h"
#include "v1dev.h"
#include "testutil.h"

/*
 * The test stream, byte offsets: 0 header (version 2, 16 bytes) | 16 START
 * id 1 "dev0" | 34 the first DATA or ZDATA item (ZDATA: 42 raw size, 50
 * coded size, 58 codec, 59 coded bytes) ... EOS, footer, EOF.
 */
#define ITEM_AT		34
#define CODED_AT	59

static uint8_t *random_bytes(size_t n, uint32_t seed)
{
	uint8_t *p = malloc(n);
	uint32_t x = seed | 1;
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)(x >> 7);
	}
	return p;
}

/* Text-like and repetitive: compresses several times over. */
static uint8_t *pattern_bytes(size_t n)
{
	static const char words[] = "vfmig device state page 0123 ";
	uint8_t *p = malloc(n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)words[(i + i / 4096) % (sizeof(words) - 1)];
	return p;
}

/* Header, START with one DATA chunk of data[n] written in pieces, EOF. */
static int write_stream(unsigned int codec, int level, const uint8_t *data, size_t n,
			size_t piece)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	int fd = tu_memfd();
	size_t done;

	assert_non_null(w);
	vfmig_err_clear(&err);
	vfmig_writer_init(w, fd);
	assert_int_equal(vfmig_writer_set_compress(w, codec, level, &err), 0);
	assert_int_equal(vfmig_stream_put_header(w, &err), 0);
	assert_int_equal(vfmig_stream_put_section(w, VFMIG_SECTION_START, 1, "dev0", 0, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_blob(w, VFMIG_TAG_DATA, n, &err), 0);
	for (done = 0; done < n; done += piece)
		assert_int_equal(vfmig_writer_put(w, data + done, n - done < piece ? n - done : piece,
						  &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err), 0);
	assert_int_equal(vfmig_stream_put_footer(w, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_section(w, VFMIG_SECTION_END, 1, NULL, 0, 0, &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err), 0);
	assert_int_equal(vfmig_stream_put_footer(w, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_eof(w, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	assert_int_equal(w->raw_data, n);
	vfmig_writer_fini(w);
	free(w);
	return fd;
}

/* Read fd back with the reader API in pieces of rpiece; must equal data. */
static void read_back(int fd, unsigned int codec, const uint8_t *data, size_t n, size_t rpiece)
{
	struct vfmig_reader *r = malloc(sizeof(*r));
	uint8_t *got = malloc(n);
	struct vfmig_section sec;
	struct vfmig_err err;
	uint64_t tag, size, done;

	assert_non_null(r);
	assert_non_null(got);
	vfmig_err_clear(&err);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	vfmig_reader_init(r, fd);
	assert_int_equal(vfmig_stream_get_header(r, &err), 0);
	assert_int_equal(r->params.version, VFMIG_STREAM_VERSION_EXT);
	assert_int_equal(r->params.features, VFMIG_STREAM_F_CODEC(codec));
	assert_int_equal(vfmig_stream_get_section(r, &sec, &err), 1);
	/*
	 * The engine's writer sends one chunk as coded blocks of at most
	 * ZBLOCK and raw runs of whole blocks.
	 */
	for (done = 0; done < n; ) {
		uint64_t i, zraw, zcoded;

		assert_int_equal(vfmig_stream_get_tag(r, &tag, &err), 0);
		assert_true(tag == VFMIG_TAG_DATA);
		assert_int_equal(vfmig_stream_get_size(r, VFMIG_STREAM_MAX_DATA, "size", &size,
						       &err), 0);
		assert_true(size > 0 && size <= n - done);
		if (vfmig_stream_last_coded(r, &zraw, &zcoded))
			assert_true(size <= VFMIG_STREAM_ZBLOCK);
		else
			assert_true(size == n - done || size % VFMIG_STREAM_ZBLOCK == 0);
		for (i = 0; i < size; i += rpiece) {
			size_t k = size - i < rpiece ? (size_t)(size - i) : rpiece;

			if (vfmig_reader_get(r, got + done + i, k, "data", &err))
				fail_msg("read: %s", err.msg);
		}
		done += size;
	}
	assert_int_equal(done, n);
	assert_memory_equal(got, data, n);
	assert_int_equal(vfmig_stream_get_tag(r, &tag, &err), 0);
	assert_true(tag == VFMIG_TAG_END_OF_STATE);
	vfmig_reader_fini(r);
	free(r);
	free(got);
}

static int inspect_fd(int fd, struct vfmig_inspect_totals *t, char **out, struct vfmig_err *err)
{
	size_t olen;
	FILE *f;
	int ret;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	f = open_memstream(out, &olen);
	assert_non_null(f);
	vfmig_err_clear(err);
	ret = vfmig_stream_inspect(fd, f, t, err);
	fclose(f);
	return ret;
}

static uint64_t be64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static void put_be64_at(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* Compressible data: every block goes as ZDATA, much smaller, intact. */
static void compressible_round_trip(unsigned int codec)
{
	size_t n = 3 * VFMIG_STREAM_ZBLOCK + 12345;
	uint8_t *data = pattern_bytes(n), *buf;
	struct vfmig_inspect_totals t;
	struct vfmig_err err;
	char *out = NULL;
	size_t len;
	int fd = write_stream(codec, 0, data, n, 100000);

	read_back(fd, codec, data, n, n);		/* whole blocks: decoded in place */
	read_back(fd, codec, data, n, 4097);		/* odd pieces: through the buffer */
	assert_int_equal(inspect_fd(fd, &t, &out, &err), 0);
	assert_int_equal(t.chunks, 4);
	assert_int_equal(t.zchunks, 4);
	assert_int_equal(t.zraw_bytes, n);
	assert_int_equal(t.data_bytes, n);
	assert_true(t.zcoded_bytes * 4 < n);
	assert_str_contains(out, vfmig_codec_name(codec));
	assert_str_contains(out, "(4 compressed: ");
	buf = tu_slurp(fd, &len);
	assert_int_equal(be64_at(buf + ITEM_AT), VFMIG_TAG_ZDATA);
	assert_int_equal(be64_at(buf + ITEM_AT + 8), VFMIG_STREAM_ZBLOCK);
	assert_int_equal(buf[CODED_AT - 1], codec);
	free(buf);
	free(out);
	free(data);
	close(fd);
}

static void test_zstd_compressible(void **state)
{
	(void)state;
	compressible_round_trip(VFMIG_CODEC_ZSTD);
}

static void test_lz4_compressible(void **state)
{
	(void)state;
	compressible_round_trip(VFMIG_CODEC_LZ4);
}

/*
 * Random data: every block goes as plain DATA, unchanged in size; the
 * untried bytes after a raw block join its item, so @items items, the
 * first of @first bytes.
 */
static void random_round_trip(unsigned int codec, size_t n, size_t items, size_t first)
{
	uint8_t *data = random_bytes(n, 42), *buf;
	struct vfmig_inspect_totals t;
	struct vfmig_err err;
	char *out = NULL;
	size_t len;
	int fd = write_stream(codec, 0, data, n, 70000);

	read_back(fd, codec, data, n, n);
	assert_int_equal(inspect_fd(fd, &t, &out, &err), 0);
	assert_int_equal(t.zchunks, 0);
	assert_int_equal(t.chunks, items);
	assert_int_equal(t.data_bytes, n);
	/* Raw: exactly the bytes plus a 16-byte DATA header per item. */
	assert_int_equal(t.bytes, ITEM_AT + n + 16 * items + 8 + 5 + 5 + 8 + 5 + 1);
	buf = tu_slurp(fd, &len);
	assert_int_equal(be64_at(buf + ITEM_AT), VFMIG_TAG_DATA);
	assert_int_equal(be64_at(buf + ITEM_AT + 8), first);
	free(buf);
	free(out);
	free(data);
	close(fd);
}

static void test_random_goes_raw(void **state)
{
	size_t n = 2 * VFMIG_STREAM_ZBLOCK + 999, two = 2 * VFMIG_STREAM_ZBLOCK;

	(void)state;
	/* Sampled: block 1 raw, block 2 untried with it, the 999 bytes tried whole. */
	random_round_trip(VFMIG_CODEC_ZSTD, n, 2, two);
	random_round_trip(VFMIG_CODEC_LZ4, n, 2, two);
	random_round_trip(VFMIG_CODEC_ZSTD, 30000, 1, 30000);	/* below the sample */
	random_round_trip(VFMIG_CODEC_LZ4, 30000, 1, 30000);
}

/* Byte counts tell random bytes from structured ones without a codec. */
static void test_looks_random(void **state)
{
	size_t n = VFMIG_STREAM_ZBLOCK, i;
	uint8_t *rnd = random_bytes(n, 77), *pat = pattern_bytes(n);

	(void)state;
	assert_true(vfmig_codec_looks_random(rnd, n));
	assert_true(vfmig_codec_looks_random(rnd, 4096));
	assert_true(vfmig_codec_looks_random(rnd + 1, VFMIG_CODEC_LOOK_MIN));
	assert_false(vfmig_codec_looks_random(rnd, VFMIG_CODEC_LOOK_MIN - 1));
	assert_false(vfmig_codec_looks_random(pat, n));
	assert_false(vfmig_codec_looks_random(pat, VFMIG_CODEC_LOOK_MIN));
	/* Random bytes with every eighth one zero: zstd still shrinks them. */
	for (i = 0; i < 4096; i += 8)
		rnd[i] = 0;
	assert_false(vfmig_codec_looks_random(rnd, 4096));
	memset(rnd, 0, 4096);
	assert_false(vfmig_codec_looks_random(rnd, 4096));
	/* Too even to be random: a ramp 0, 1, ... 255 scores 0. */
	for (i = 0; i < 4096; i++)
		rnd[i] = (uint8_t)i;
	assert_false(vfmig_codec_looks_random(rnd, 4096));
	free(rnd);
	free(pat);
}

/* How many codec trials a writer runs on data[n]. */
static uint64_t trials_for(unsigned int codec, const uint8_t *data, size_t n)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	int fd = tu_memfd();
	uint64_t trials;

	assert_non_null(w);
	vfmig_err_clear(&err);
	vfmig_writer_init(w, fd);
	assert_int_equal(vfmig_writer_set_compress(w, codec, 0, &err), 0);
	assert_int_equal(vfmig_stream_put_header(w, &err), 0);
	assert_int_equal(vfmig_stream_put_blob(w, VFMIG_TAG_DATA, n, &err), 0);
	assert_int_equal(vfmig_writer_put(w, data, n, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	trials = w->trials;
	vfmig_writer_fini(w);
	free(w);
	close(fd);
	return trials;
}

/* Random state runs no codec: samples look random, tiny blocks go raw. */
static void test_random_untried(void **state)
{
	size_t n = 3 * VFMIG_STREAM_ZBLOCK + 999;
	uint8_t *rnd = random_bytes(n, 5), *pat = pattern_bytes(n);

	(void)state;
	assert_int_equal(trials_for(VFMIG_CODEC_ZSTD, rnd, n), 0);
	assert_int_equal(trials_for(VFMIG_CODEC_LZ4, rnd, 30000), 0);
	/* A short block tried whole: looked at first, unless too short to tell. */
	assert_int_equal(trials_for(VFMIG_CODEC_ZSTD, rnd, 2048), 0);
	assert_int_equal(trials_for(VFMIG_CODEC_ZSTD, rnd, VFMIG_CODEC_LOOK_MIN), 0);
	/* Under that, too short to gain by: raw untried, whatever the bytes. */
	assert_int_equal(trials_for(VFMIG_CODEC_ZSTD, rnd, VFMIG_CODEC_LOOK_MIN - 1), 0);
	assert_int_equal(trials_for(VFMIG_CODEC_ZSTD, pat, VFMIG_CODEC_LOOK_MIN - 1), 0);
	assert_int_equal(trials_for(VFMIG_CODEC_LZ4, pat, VFMIG_CODEC_LOOK_MIN), 1);
	/* 3 blocks sampled then coded whole, the 999 bytes tried whole. */
	assert_int_equal(trials_for(VFMIG_CODEC_ZSTD, pat, n), 7);
	free(rnd);
	free(pat);
}

/* Random state backs trials off; compressible state after it is found again. */
static void test_backoff_recovers(void **state)
{
	size_t nr = 4 * VFMIG_STREAM_ZBLOCK, n = 16 * VFMIG_STREAM_ZBLOCK;
	uint8_t *data = pattern_bytes(n), *rnd = random_bytes(nr, 9);
	struct vfmig_inspect_totals t;
	struct vfmig_err err;
	char *out = NULL;
	int fd;

	(void)state;
	memcpy(data, rnd, nr);
	fd = write_stream(VFMIG_CODEC_ZSTD, 1, data, n, 300000);
	read_back(fd, VFMIG_CODEC_ZSTD, data, n, n);
	assert_int_equal(inspect_fd(fd, &t, &out, &err), 0);
	/*
	 * Raw: block 0 with block 1 untried, then block 2 with 3 and 4 untried
	 * (the back-off doubled: one pattern block goes raw); the 11 pattern
	 * blocks after it are tried (4 KiB, inside the raw run) and coded.
	 */
	assert_int_equal(t.chunks, 13);
	assert_int_equal(t.zchunks, 11);
	assert_true(t.zcoded_bytes * 20 < t.zraw_bytes);
	free(out);
	free(rnd);
	free(data);
	close(fd);
}

/* A stream of one compressible 100000-byte chunk, as bytes. */
static uint8_t *zstream(unsigned int codec, size_t *len)
{
	uint8_t *data = pattern_bytes(100000), *buf;
	int fd = write_stream(codec, 0, data, 100000, 100000);

	buf = tu_slurp(fd, len);
	close(fd);
	free(data);
	assert_int_equal(be64_at(buf + ITEM_AT), VFMIG_TAG_ZDATA);
	return buf;
}

static void expect_refused(const uint8_t *buf, size_t len, int code, const char *msg)
{
	struct vfmig_inspect_totals t;
	struct vfmig_err err;
	char *out = NULL;
	int fd = tu_memfd_with(buf, len);
	int ret = inspect_fd(fd, &t, &out, &err);

	free(out);
	close(fd);
	assert_int_equal(ret, code);
	assert_int_equal(err.code, code);
	assert_str_contains(err.msg, msg);
	assert_null(strchr(err.msg, '\n'));
}

/* The reader API with the whole chunk at once (decoded in the caller's buffer). */
static void expect_read_refused(const uint8_t *buf, size_t len, int code, const char *msg)
{
	struct vfmig_reader *r = malloc(sizeof(*r));
	struct vfmig_section sec;
	struct vfmig_err err;
	uint64_t tag, size;
	uint8_t *dst = malloc(100000);
	int fd = tu_memfd_with(buf, len);

	vfmig_err_clear(&err);
	vfmig_reader_init(r, fd);
	assert_int_equal(vfmig_stream_get_header(r, &err), 0);
	assert_int_equal(vfmig_stream_get_section(r, &sec, &err), 1);
	assert_int_equal(vfmig_stream_get_tag(r, &tag, &err), 0);
	assert_int_equal(vfmig_stream_get_size(r, VFMIG_STREAM_MAX_DATA, "size", &size, &err), 0);
	assert_int_equal(size, 100000);
	assert_int_equal(vfmig_reader_get(r, dst, 100000, "data", &err), code);
	assert_str_contains(err.msg, msg);
	vfmig_reader_fini(r);
	free(r);
	free(dst);
	close(fd);
}

static void corrupt_refused(unsigned int codec)
{
	size_t len;
	uint8_t *buf = zstream(codec, &len);
	uint64_t coded = be64_at(buf + ITEM_AT + 16);
	char msg[160];

	buf[CODED_AT + coded / 2] ^= 0x55;
	snprintf(msg, sizeof(msg),
		 "stream offset %u: corrupt %s data in a compressed chunk (%" PRIu64
		 " bytes coded, 100000 raw): ", CODED_AT, vfmig_codec_name(codec), coded);
	expect_refused(buf, len, -EBADMSG, msg);
	expect_read_refused(buf, len, -EBADMSG, msg);
	buf[CODED_AT + coded / 2] ^= 0x55;
	/* The last byte (the checksum's) too. */
	buf[CODED_AT + coded - 1] ^= 0x01;
	expect_refused(buf, len, -EBADMSG, msg);
	free(buf);
}

static void test_corrupt_zstd(void **state)
{
	(void)state;
	corrupt_refused(VFMIG_CODEC_ZSTD);
}

static void test_corrupt_lz4(void **state)
{
	(void)state;
	corrupt_refused(VFMIG_CODEC_LZ4);
}

static void test_sizes_refused(void **state)
{
	size_t len;
	uint8_t *buf = zstream(VFMIG_CODEC_ZSTD, &len);
	uint64_t coded = be64_at(buf + ITEM_AT + 16);

	(void)state;
	put_be64_at(buf + ITEM_AT + 8, VFMIG_STREAM_MAX_ZDATA + 1ull);
	expect_refused(buf, len, -EFBIG,
		       "stream offset 34: compressed chunk raw size 16777217 outside 1..16777216");
	put_be64_at(buf + ITEM_AT + 8, 0);
	expect_refused(buf, len, -EFBIG, "stream offset 34: compressed chunk raw size 0 outside");
	put_be64_at(buf + ITEM_AT + 8, 100000);
	put_be64_at(buf + ITEM_AT + 16, 1ull << 40);
	expect_refused(buf, len, -EPROTO,
		       "stream offset 34: compressed chunk coded size 1099511627776 outside 1..");
	/* A raw size smaller than what the coded bytes hold. */
	put_be64_at(buf + ITEM_AT + 16, coded);
	put_be64_at(buf + ITEM_AT + 8, 99999);
	expect_refused(buf, len, -EBADMSG, "stream offset 59: corrupt zstd data");
	put_be64_at(buf + ITEM_AT + 8, 100001);
	expect_refused(buf, len, -EBADMSG, "stream offset 59: corrupt zstd data");
	free(buf);
}

static void test_truncated(void **state)
{
	size_t len, cut;
	uint8_t *buf = zstream(VFMIG_CODEC_LZ4, &len);
	uint64_t coded = be64_at(buf + ITEM_AT + 16);

	(void)state;
	cut = CODED_AT + (size_t)coded / 2;
	expect_refused(buf, cut, -EPIPE, "stream truncated inside compressed chunk");
	expect_refused(buf, ITEM_AT + 12, -EPIPE,
		       "stream truncated inside compressed chunk raw size");
	expect_refused(buf, CODED_AT - 1, -EPIPE, "stream truncated inside compressed chunk codec");
	/* A shorter coded size: the frame ends early, the rest reads as a tag. */
	put_be64_at(buf + ITEM_AT + 16, coded - 4);
	expect_refused(buf, len, -EBADMSG, "stream offset 59: corrupt lz4 data");
	free(buf);
}

static void test_codec_not_announced(void **state)
{
	size_t len;
	uint8_t *buf = zstream(VFMIG_CODEC_ZSTD, &len);

	(void)state;
	buf[CODED_AT - 1] = VFMIG_CODEC_LZ4;	/* the header announces zstd only */
	expect_refused(buf, len, -EPROTO,
		       "stream offset 34: compressed chunk with codec 2, which the stream header "
		       "does not announce");
	buf[CODED_AT - 1] = 9;
	expect_refused(buf, len, -EPROTO, "stream offset 34: compressed chunk with codec 9");
	buf[CODED_AT - 1] = VFMIG_CODEC_ZSTD;
	buf[11] = 0;	/* no codec announced: ZDATA is not a tag of this stream */
	expect_refused(buf, len, -EPROTO, "stream offset 34: unknown payload tag 0xffffffffef10f001");
	buf[11] = 0x04;	/* a feature bit no build defines */
	expect_refused(buf, len, -EPROTONOSUPPORT,
		       "stream offset 8: stream needs features 0x00000004");
	free(buf);
}

static void test_writer_refusals(void **state)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_channel *ch = NULL;
	struct vfmig_endpoint ep = { .fd = -1 };
	struct vfmig_err err;

	(void)state;
	vfmig_err_clear(&err);
	vfmig_writer_init(w, -1);
	assert_int_equal(vfmig_writer_set_compress(w, VFMIG_CODEC_ZSTD, 20, &err), -EINVAL);
	assert_str_contains(err.msg, "compression zstd: level 20 out of range");
	assert_int_equal(vfmig_writer_set_compress(w, VFMIG_CODEC_LZ4, 65, &err), -EINVAL);
	assert_int_equal(vfmig_writer_set_compress(w, 7, 0, &err), -EOPNOTSUPP);
	assert_int_equal(vfmig_writer_set_compress(w, VFMIG_CODEC_NONE, 0, &err), 0);
	assert_null(w->z);
	assert_int_equal(w->params.features, 0);
	/* A channel moves data in place: never compressed. */
	assert_int_equal(vfmig_channel_new(&ch), 0);
	ep.chan = ch;
	vfmig_writer_init_endpoint(w, &ep);
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_writer_set_compress(w, VFMIG_CODEC_LZ4, 0, &err), -EINVAL);
	assert_str_contains(err.msg, "in-process channel");
	vfmig_channel_free(ch);
	free(w);
}

/* The engine end to end: a fake device saved with a codec and resumed. */
static void engine_round_trip(unsigned int codec, bool compressible)
{
	struct fake_dev *src = calloc(1, sizeof(*src)), *dst = calloc(1, sizeof(*dst));
	struct vfmig_v1dev_opts o = { .bounce_size = 64 * 1024 };
	struct vfmig_v1dev *sd, *dd;
	struct vfmig_savevm *sv;
	struct vfmig_conv_opts co;
	struct vfmig_stats *st = malloc(sizeof(*st));
	struct tu_clock clk;
	struct vfmig_err err;
	struct fake_cfg c;
	uint64_t sum;
	int fd = tu_memfd();

	fake_cfg_default(&c);
	c.mem_size = 2u << 20;
	c.page_size = 4096;
	c.chunk_max = (1u << 20) + 4096;
	c.region_size = 4096 + (1u << 20) + 8192;
	c.seed = 5;
	assert_int_equal(fake_init(src, &c), 0);
	c.seed = 6;
	assert_int_equal(fake_init(dst, &c), 0);
	if (compressible) {
		uint8_t *p = pattern_bytes(c.mem_size);

		memcpy(src->mem, p, c.mem_size);
		free(p);
	}
	sum = fake_checksum(src);
	vfmig_err_clear(&err);
	sd = vfmig_v1dev_new(&src->region, &o, &err);
	dd = vfmig_v1dev_new(&dst->region, &o, &err);
	assert_non_null(sd);
	assert_non_null(dd);

	tu_clock_init(&clk, 1000000);
	vfmig_conv_opts_init(&co);
	co.offline = true;
	co.compress = codec;
	sv = vfmig_savevm_new();
	assert_int_equal(vfmig_v1dev_register(sv, sd, "dev0", 0, &err), 0);
	if (vfmig_savevm_save(sv, fd, &co, &clk.clock, NULL, st, &err))
		fail_msg("save: %s", err.msg);
	vfmig_savevm_free(sv);
	if (compressible)
		assert_true(st->transferred * 4 < c.mem_size);
	else
		assert_true(st->transferred > c.mem_size &&
			    st->transferred < c.mem_size + c.mem_size / 100);

	sv = vfmig_savevm_new();
	assert_int_equal(vfmig_v1dev_register(sv, dd, "dev0", 0, &err), 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	if (vfmig_savevm_load(sv, fd, NULL, &err))
		fail_msg("load: %s", err.msg);
	vfmig_savevm_free(sv);
	assert_true(dst->resume_done);
	assert_int_equal(fake_checksum(dst), sum);

	vfmig_v1dev_free(sd);
	vfmig_v1dev_free(dd);
	fake_fini(src);
	fake_fini(dst);
	free(src);
	free(dst);
	free(st);
	close(fd);
}

static void test_engine_zstd(void **state)
{
	(void)state;
	engine_round_trip(VFMIG_CODEC_ZSTD, true);
	engine_round_trip(VFMIG_CODEC_ZSTD, false);
}

static void test_engine_lz4(void **state)
{
	(void)state;
	engine_round_trip(VFMIG_CODEC_LZ4, true);
	engine_round_trip(VFMIG_CODEC_LZ4, false);
}

/*
 * Run first: random state saved and loaded with either codec runs no codec
 * at either end, so neither opens its library (a dlopen costs each end
 * 12-18 ms under TCG, a tenth of a 128 MiB transfer over loopback).
 */
static void test_random_opens_no_library(void **state)
{
	uint8_t *pat;
	void *lz4;

	(void)state;
	engine_round_trip(VFMIG_CODEC_ZSTD, false);
	engine_round_trip(VFMIG_CODEC_LZ4, false);
	random_round_trip(VFMIG_CODEC_LZ4, VFMIG_CODEC_LOOK_MIN - 1, 1,
			  VFMIG_CODEC_LOOK_MIN - 1);
	assert_null(dlopen("libzstd.so.1", RTLD_NOW | RTLD_NOLOAD));
	assert_null(dlopen("liblz4.so.1", RTLD_NOW | RTLD_NOLOAD));
	/* A compressible block opens the writer's library, and only that. */
	pat = pattern_bytes(4096);
	assert_true(trials_for(VFMIG_CODEC_LZ4, pat, 4096) > 0);
	free(pat);
	assert_null(dlopen("libzstd.so.1", RTLD_NOW | RTLD_NOLOAD));
	lz4 = dlopen("liblz4.so.1", RTLD_NOW | RTLD_NOLOAD);
	assert_non_null(lz4);
	dlclose(lz4);
}

/*
 * A codec's library is opened only when first asked for (a migration that
 * compresses nothing loads neither); one that cannot be opened, or lacks a
 * symbol, gives the reason and no table.
 */
struct two_fns {
	void *(*malloc)(size_t);
	void *(*no_such_function)(void);
};

static void test_lazy_open(void **state)
{
	static const struct vfmig_lazy_sym ok_syms[] = {
		VFMIG_LAZY_SYM(struct two_fns, malloc),
	}, bad_syms[] = {
		VFMIG_LAZY_SYM(struct two_fns, malloc),
		VFMIG_LAZY_SYM(struct two_fns, no_such_function),
	};
	struct two_fns a = { 0 }, b = { 0 }, c = { 0 };
	struct vfmig_lazy missing = VFMIG_LAZY_INIT("libvfmig-absent.so.9", ok_syms, &a);
	struct vfmig_lazy lacking = VFMIG_LAZY_INIT("libc.so.6", bad_syms, &b);
	struct vfmig_lazy good = VFMIG_LAZY_INIT("libc.so.6", ok_syms, &c);

	(void)state;
	assert_null(vfmig_lazy_get(&missing));
	assert_non_null(strstr(missing.error, "libvfmig-absent.so.9"));
	assert_null(vfmig_lazy_get(&lacking));
	assert_string_equal(lacking.error, "libc.so.6: no symbol no_such_function");
	assert_ptr_equal(vfmig_lazy_get(&good), &c);
	assert_non_null(c.malloc);
	assert_null(vfmig_codec_unavailable(VFMIG_CODEC_ZSTD));
	assert_null(vfmig_codec_unavailable(VFMIG_CODEC_LZ4));
	assert_string_equal(vfmig_codec_unavailable(VFMIG_CODEC_MAX + 1), "not in this build");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_opens_no_library),
		cmocka_unit_test(test_lazy_open),
		cmocka_unit_test(test_zstd_compressible),
		cmocka_unit_test(test_lz4_compressible),
		cmocka_unit_test(test_random_goes_raw),
		cmocka_unit_test(test_backoff_recovers),
		cmocka_unit_test(test_looks_random),
		cmocka_unit_test(test_random_untried),
		cmocka_unit_test(test_corrupt_zstd),
		cmocka_unit_test(test_corrupt_lz4),
		cmocka_unit_test(test_sizes_refused),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_codec_not_announced),
		cmocka_unit_test(test_writer_refusals),
		cmocka_unit_test(test_engine_zstd),
		cmocka_unit_test(test_engine_lz4),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
