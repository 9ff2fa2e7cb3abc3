// SPDX-License-Identifier: GPL-2.0
/* Stream format: round trips, every kind of corruption, truncation, inspect. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream, F_SETPIPE_SZ */
#endif
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream.h"
#include "testutil.h"

/*
 * The sample stream, byte offsets:
 *   0 header | 8 START id 1 "dev0" | 26 SETUP | 34 EOS | 42 footer
 *  47 PART id 1 | 52 DATA | 60 size 5 | 68 "hello" | 73 EOS | 81 footer
 *  86 END id 1 | 91 DATA 3 "abc" | 110 DATA 0 | 126 EOS | 134 footer
 * 139 FULL id 1 "dev0" | 157 CONFIG 2 | 175 EOS | 183 footer | 188 EOF
 */
#define SAMPLE_LEN 189

static void write_sample(struct vfmig_writer *w, bool eof)
{
	struct vfmig_err err;

	vfmig_err_clear(&err);
	assert_int_equal(vfmig_stream_put_header(w, &err), 0);
	assert_int_equal(vfmig_stream_put_section(w, VFMIG_SECTION_START, 1, "dev0", 0, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_SETUP, &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err), 0);
	assert_int_equal(vfmig_stream_put_footer(w, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_section(w, VFMIG_SECTION_PART, 1, NULL, 0, 0, &err), 0);
	assert_int_equal(vfmig_stream_put_blob(w, VFMIG_TAG_DATA, 5, &err), 0);
	assert_int_equal(vfmig_writer_put(w, "hello", 5, &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err), 0);
	assert_int_equal(vfmig_stream_put_footer(w, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_section(w, VFMIG_SECTION_END, 1, NULL, 0, 0, &err), 0);
	assert_int_equal(vfmig_stream_put_blob(w, VFMIG_TAG_DATA, 3, &err), 0);
	assert_int_equal(vfmig_writer_put(w, "abc", 3, &err), 0);
	assert_int_equal(vfmig_stream_put_blob(w, VFMIG_TAG_DATA, 0, &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err), 0);
	assert_int_equal(vfmig_stream_put_footer(w, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_section(w, VFMIG_SECTION_FULL, 1, "dev0", 0, 1, &err), 0);
	assert_int_equal(vfmig_stream_put_blob(w, VFMIG_TAG_CONFIG, 2, &err), 0);
	assert_int_equal(vfmig_writer_put(w, "\x01\x02", 2, &err), 0);
	assert_int_equal(vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err), 0);
	assert_int_equal(vfmig_stream_put_footer(w, 1, &err), 0);
	if (eof)
		assert_int_equal(vfmig_stream_put_eof(w, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	assert_int_equal(err.code, 0);
}

static uint8_t *sample(size_t *len)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	int fd = tu_memfd();
	uint8_t *buf;

	vfmig_writer_init(w, fd);
	write_sample(w, true);
	assert_int_equal(w->offset, SAMPLE_LEN);
	free(w);
	buf = tu_slurp(fd, len);
	close(fd);
	assert_int_equal(*len, SAMPLE_LEN);
	return buf;
}

/* Run inspect over bytes; returns its result, output and error. */
static int inspect_bytes(const uint8_t *buf, size_t len, char **out, struct vfmig_err *err)
{
	struct vfmig_inspect_totals t;
	size_t olen;
	FILE *f;
	int fd = tu_memfd_with(buf, len), ret;

	f = open_memstream(out, &olen);
	assert_non_null(f);
	vfmig_err_clear(err);
	ret = vfmig_stream_inspect(fd, f, &t, err);
	fclose(f);
	close(fd);
	return ret;
}

static void expect_error(const uint8_t *buf, size_t len, int code, const char *msg)
{
	struct vfmig_err err;
	char *out = NULL;
	int ret = inspect_bytes(buf, len, &out, &err);

	free(out);
	assert_int_equal(ret, code);
	assert_int_equal(err.code, code);
	assert_str_contains(err.msg, msg);
}

static void test_round_trip_inspect(void **state)
{
	struct vfmig_err err;
	char *out = NULL;
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	assert_int_equal(inspect_bytes(buf, len, &out, &err), 0);
	assert_string_equal(out,
		"stream: magic 0x56464d47 (VFMG) version 1\n"
		"@8: START id 1 \"dev0\" instance 0 version 1: setup, 0 chunks, 0 data bytes\n"
		"@47: PART  id 1 \"dev0\" instance 0: 1 chunks, 5 data bytes\n"
		"@86: END   id 1 \"dev0\" instance 0: 2 chunks, 3 data bytes\n"
		"@139: FULL  id 1 \"dev0\" instance 0 version 1: 0 chunks, 0 data bytes, config 2 bytes\n"
		"@188: EOF\n"
		"total: 189 bytes, 4 sections, 3 chunks, 8 data bytes, 2 config bytes\n");
	free(out);
	free(buf);
}

/* Read the sample back field by field with the reader API. */
static void test_reader_fields(void **state)
{
	struct vfmig_reader *r = malloc(sizeof(*r));
	struct vfmig_section sec;
	struct vfmig_err err;
	uint64_t tag, size;
	char data[6] = { 0 };
	size_t len;
	uint8_t *buf = sample(&len);
	int fd = tu_memfd_with(buf, len);

	(void)state;
	vfmig_err_clear(&err);
	vfmig_reader_init(r, fd);
	assert_int_equal(vfmig_stream_get_header(r, &err), 0);
	assert_int_equal(vfmig_stream_get_section(r, &sec, &err), 1);
	assert_int_equal(sec.type, VFMIG_SECTION_START);
	assert_int_equal(sec.id, 1);
	assert_string_equal(sec.idstr, "dev0");
	assert_int_equal(sec.version, 1);
	assert_int_equal(sec.offset, 8);
	assert_int_equal(vfmig_stream_get_tag(r, &tag, &err), 0);
	assert_true(tag == VFMIG_TAG_SETUP);
	assert_int_equal(vfmig_stream_get_tag(r, &tag, &err), 0);
	assert_true(tag == VFMIG_TAG_END_OF_STATE);
	assert_int_equal(vfmig_stream_get_footer(r, &sec, &err), 0);
	assert_int_equal(vfmig_stream_get_section(r, &sec, &err), 1);
	assert_int_equal(sec.type, VFMIG_SECTION_PART);
	assert_string_equal(sec.idstr, "dev0");
	assert_int_equal(vfmig_stream_get_tag(r, &tag, &err), 0);
	assert_true(tag == VFMIG_TAG_DATA);
	assert_int_equal(vfmig_stream_get_size(r, 100, "size", &size, &err), 0);
	assert_int_equal(size, 5);
	assert_int_equal(vfmig_reader_get(r, data, 5, "data", &err), 0);
	assert_string_equal(data, "hello");
	assert_int_equal(vfmig_reader_offset(r), 73);
	assert_int_equal(err.code, 0);
	close(fd);
	free(buf);
	free(r);
}

/*
 * Big reads bypass the reader's buffer: a piece several buffers long, after
 * a few buffered bytes, comes out intact at the right offset, also through a
 * pipe that hands it over in small writes; cut short, it is a truncation
 * that says how much of the piece arrived.
 */
static void test_big_read_direct(void **state)
{
	struct vfmig_reader *r = malloc(sizeof(*r));
	const size_t big = 3 * sizeof(r->buf) + 123;
	uint8_t *buf = malloc(big + 3), *out = malloc(big);
	struct vfmig_err err;
	uint8_t head[3];
	int fd, p[2];

	(void)state;
	for (size_t i = 0; i < big + 3; i++)
		buf[i] = (uint8_t)(i * 7 + (i >> 9));
	/* From a file: the buffered head, then the piece read directly. */
	fd = tu_memfd_with(buf, big + 3);
	vfmig_err_clear(&err);
	vfmig_reader_init(r, fd);
	assert_int_equal(vfmig_reader_get(r, head, 3, "head", &err), 0);
	assert_int_equal(vfmig_reader_get(r, out, big, "piece", &err), 0);
	assert_memory_equal(head, buf, 3);
	assert_memory_equal(out, buf + 3, big);
	assert_int_equal(vfmig_reader_offset(r), big + 3);
	close(fd);

	/* Through a pipe in 1000-byte writes: many short direct reads. */
	assert_int_equal(pipe(p), 0);
	if (fork() == 0) {
		close(p[0]);
		int rc = 0;

		for (size_t off = 0; off < big + 3 && !rc; off += 1000)
			if (write(p[1], buf + off, big + 3 - off < 1000 ? big + 3 - off : 1000) < 0)
				rc = 1;
		free(buf);
		free(out);
		free(r);
		_exit(rc);
	}
	close(p[1]);
	memset(out, 0, big);
	vfmig_reader_init(r, p[0]);
	assert_int_equal(vfmig_reader_get(r, head, 3, "head", &err), 0);
	assert_int_equal(vfmig_reader_get(r, out, big, "piece", &err), 0);
	assert_memory_equal(out, buf + 3, big);
	assert_int_equal(vfmig_reader_offset(r), big + 3);
	close(p[0]);
	wait(NULL);

	/* Truncated inside the piece. */
	fd = tu_memfd_with(buf, big - 100);
	vfmig_reader_init(r, fd);
	assert_int_equal(vfmig_reader_get(r, head, 3, "head", &err), 0);
	assert_int_equal(vfmig_reader_get(r, out, big, "piece", &err), -EPIPE);
	assert_non_null(strstr(err.msg, "stream truncated inside piece"));
	close(fd);
	free(buf);
	free(out);
	free(r);
}

static void test_bad_magic(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[0] = 'Q';
	expect_error(buf, len, -EPROTO, "stream offset 0: bad magic 0x51464d47");
	free(buf);
}

static void test_bad_version(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[7] = 3;
	expect_error(buf, len, -EPROTONOSUPPORT, "stream offset 4: unsupported stream version 3");
	free(buf);
}

/* A header with lanes: version 2, its fields read back; bad values refused. */
static void test_header_ext(void **state)
{
	static const uint8_t v2[] = { 0x56, 0x46, 0x4d, 0x47, 0, 0, 0, 2,
				      0, 0, 0, 0, 0, 4, 0, 3, 0 };
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	uint8_t buf[sizeof(v2)];
	char *out = NULL;
	int fd = memfd_create("hdr", 0);

	(void)state;
	assert_true(fd >= 0);
	vfmig_writer_init(w, fd);
	w->params.lanes = 4;
	w->params.lane = 3;
	assert_int_equal(vfmig_stream_put_header(w, &err), 0);
	assert_int_equal(vfmig_stream_put_eof(w, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	assert_int_equal(pread(fd, buf, sizeof(buf), 0), sizeof(v2));
	assert_memory_equal(buf, v2, sizeof(v2));
	assert_int_equal(inspect_bytes(buf, sizeof(buf), &out, &err), 0);
	assert_str_contains(out, "version 2 features 0x00000000 lane 3 of 4\n");
	free(out);

	buf[8] = 0x80;	/* a feature this build does not know */
	expect_error(buf, sizeof(buf), -EPROTONOSUPPORT,
		     "stream offset 8: stream needs features 0x80000000");
	buf[8] = 0;
	buf[15] = 4;	/* lane 4 of 4 */
	expect_error(buf, sizeof(buf), -EPROTO, "stream offset 14: stream lane 4 of 4");
	buf[13] = 0;	/* 0 lanes */
	expect_error(buf, sizeof(buf), -EPROTO, "stream offset 12: stream split over 0 lanes");
	buf[13] = 17;
	expect_error(buf, sizeof(buf), -EPROTO, "stream offset 12: stream split over 17 lanes");
	expect_error(buf, 13, -EPIPE, "stream truncated inside stream lanes");
	close(fd);
	free(w);
}

static void test_unknown_section_type(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[47] = 0x09;
	expect_error(buf, len, -EPROTO, "stream offset 47: unknown section type 0x09");
	free(buf);
}

static void test_bad_footer(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[42] = 0x7f;
	expect_error(buf, len, -EPROTO,
		     "stream offset 42: missing footer for START section 1 (\"dev0\"): found 0x7f");
	free(buf);
}

static void test_footer_id_mismatch(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[85] = 2;
	expect_error(buf, len, -EPROTO,
		     "stream offset 81: mismatched section id 2 in footer of section 1 (\"dev0\")");
	free(buf);
}

static void test_part_unknown_id(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[51] = 5;
	expect_error(buf, len, -EPROTO, "stream offset 47: PART section for unknown section id 5");
	free(buf);
}

static void test_full_idstr_mismatch(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	assert_int_equal(buf[148], '0');
	buf[148] = '1';
	expect_error(buf, len, -EPROTO,
		     "stream offset 139: FULL section 1 names \"dev1\" instance 0 but section 1 is \"dev0\" instance 0");
	free(buf);
}

static void test_oversized_length(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[60] = 0x7f;
	expect_error(buf, len, -EFBIG,
		     "stream offset 60: data chunk size 9151314442816847877 exceeds the limit of 1073741824");
	free(buf);
}

static void test_unknown_tag(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[59] = 0x09;
	expect_error(buf, len, -EPROTO, "stream offset 52: unknown payload tag 0xffffffffef100009");
	free(buf);
}

static void test_empty_idstr(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[13] = 0;
	expect_error(buf, len, -EPROTO, "stream offset 13: START section 1 has an empty idstr");
	free(buf);
}

static void test_nonprintable_idstr(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);

	(void)state;
	buf[15] = '\n';
	expect_error(buf, len, -EPROTO, "stream offset 15: idstr of section 1 has non-printable byte 0x0a");
	free(buf);
}

static void test_trailing_garbage(void **state)
{
	size_t len;
	uint8_t *buf = sample(&len);
	uint8_t *longer = malloc(len + 1);

	(void)state;
	memcpy(longer, buf, len);
	longer[len] = 0;
	expect_error(longer, len + 1, -EPROTO, "stream offset 189: trailing data after the EOF marker");
	free(longer);
	free(buf);
}

static void test_truncated_everywhere(void **state)
{
	char msg[64];
	size_t len, n;
	uint8_t *buf = sample(&len);

	(void)state;
	for (n = 0; n < len; n++) {
		snprintf(msg, sizeof(msg), "stream offset %zu: stream truncated inside", n);
		expect_error(buf, n, -EPIPE, msg);
	}
	free(buf);
}

static void test_missing_end(void **state)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	size_t len;
	uint8_t *buf;
	int fd = tu_memfd();

	(void)state;
	vfmig_err_clear(&err);
	vfmig_writer_init(w, fd);
	vfmig_stream_put_header(w, &err);
	vfmig_stream_put_section(w, VFMIG_SECTION_START, 7, "devX", 3, 1, &err);
	vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err);
	vfmig_stream_put_footer(w, 7, &err);
	vfmig_stream_put_eof(w, &err);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	buf = tu_slurp(fd, &len);
	expect_error(buf, len, -EPROTO,
		     "EOF while section 7 (\"devX\" instance 3) has no END section");
	free(buf);
	free(w);
	close(fd);
}

static void test_duplicate_start_and_part_after_end(void **state)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	size_t len;
	uint8_t *buf;
	int fd = tu_memfd(), fd2 = tu_memfd();

	(void)state;
	vfmig_err_clear(&err);
	vfmig_writer_init(w, fd);
	vfmig_stream_put_header(w, &err);
	vfmig_stream_put_section(w, VFMIG_SECTION_START, 1, "a", 0, 1, &err);
	vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err);
	vfmig_stream_put_footer(w, 1, &err);
	vfmig_stream_put_section(w, VFMIG_SECTION_START, 1, "a", 0, 1, &err);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	buf = tu_slurp(fd, &len);
	expect_error(buf, len, -EPROTO, "stream offset 36: duplicate START for section 1 (\"a\")");
	free(buf);

	vfmig_writer_init(w, fd2);
	vfmig_stream_put_header(w, &err);
	vfmig_stream_put_section(w, VFMIG_SECTION_START, 1, "a", 0, 1, &err);
	vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err);
	vfmig_stream_put_footer(w, 1, &err);
	vfmig_stream_put_section(w, VFMIG_SECTION_END, 1, NULL, 0, 0, &err);
	vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err);
	vfmig_stream_put_footer(w, 1, &err);
	vfmig_stream_put_section(w, VFMIG_SECTION_PART, 1, NULL, 0, 0, &err);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	buf = tu_slurp(fd2, &len);
	expect_error(buf, len, -EPROTO, "stream offset 54: PART section for section 1 (\"a\") after its END");
	free(buf);
	free(w);
	close(fd);
	close(fd2);
}

/* The writer works on a pipe and large pieces bypass the buffer intact. */
static void test_pipe_and_large_write(void **state)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_reader *r = malloc(sizeof(*r));
	size_t big = 40000, i;
	uint8_t *src = malloc(big), *dst = malloc(big);
	struct vfmig_err err;
	uint32_t v;
	int p[2];

	(void)state;
	vfmig_err_clear(&err);
	for (i = 0; i < big; i++)
		src[i] = (uint8_t)(i * 7);
	assert_int_equal(pipe(p), 0);
	assert_true(fcntl(p[0], F_SETPIPE_SZ, 1 << 20) >= (1 << 16));
	vfmig_writer_init(w, p[1]);
	assert_int_equal(vfmig_writer_put_be32(w, 0x01020304, &err), 0);
	assert_int_equal(vfmig_writer_put(w, src, big, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), 0);
	close(p[1]);
	vfmig_reader_init(r, p[0]);
	assert_int_equal(vfmig_reader_get_be32(r, &v, "v", &err), 0);
	assert_int_equal(v, 0x01020304);
	assert_int_equal(vfmig_reader_get(r, dst, big, "big", &err), 0);
	assert_memory_equal(src, dst, big);
	assert_int_equal(vfmig_stream_get_end(r, &err), 0);
	close(p[0]);
	free(src);
	free(dst);
	free(w);
	free(r);
}

/* A failed write is reported once and stays sticky. */
static void test_writer_error_sticky(void **state)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;

	(void)state;
	vfmig_err_clear(&err);
	vfmig_writer_init(w, -1);
	assert_int_equal(vfmig_writer_put_u8(w, 1, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), -EBADF);
	assert_str_contains(err.msg, "stream write failed near offset 1: Bad file descriptor");
	vfmig_err_clear(&err);
	assert_int_equal(vfmig_writer_put_u8(w, 1, &err), -EBADF);
	assert_str_contains(err.msg, "stream already failed");
	free(w);
}

/* A socket whose peer has gone: EPIPE reported, no SIGPIPE. */
static void test_socket_peer_gone(void **state)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	int sv[2];

	(void)state;
	vfmig_err_clear(&err);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	close(sv[1]);
	vfmig_writer_init(w, sv[0]);
	assert_true(w->is_socket);
	assert_int_equal(vfmig_stream_put_header(w, &err), 0);
	assert_int_equal(vfmig_writer_flush(w, &err), -EPIPE);
	assert_str_contains(err.msg, "stream write failed near offset 8: Broken pipe");
	close(sv[0]);
	free(w);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(vfmig_section_type_name(VFMIG_SECTION_PART), "PART");
	assert_string_equal(vfmig_section_type_name(0x42), "unknown");
	assert_string_equal(vfmig_tag_name(VFMIG_TAG_SETUP), "SETUP");
	assert_string_equal(vfmig_tag_name(1), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_inspect),
		cmocka_unit_test(test_reader_fields),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_bad_version),
		cmocka_unit_test(test_header_ext),
		cmocka_unit_test(test_unknown_section_type),
		cmocka_unit_test(test_bad_footer),
		cmocka_unit_test(test_footer_id_mismatch),
		cmocka_unit_test(test_part_unknown_id),
		cmocka_unit_test(test_full_idstr_mismatch),
		cmocka_unit_test(test_oversized_length),
		cmocka_unit_test(test_unknown_tag),
		cmocka_unit_test(test_empty_idstr),
		cmocka_unit_test(test_nonprintable_idstr),
		cmocka_unit_test(test_trailing_garbage),
		cmocka_unit_test(test_truncated_everywhere),
		cmocka_unit_test(test_big_read_direct),
		cmocka_unit_test(test_missing_end),
		cmocka_unit_test(test_duplicate_start_and_part_after_end),
		cmocka_unit_test(test_pipe_and_large_write),
		cmocka_unit_test(test_writer_error_sticky),
		cmocka_unit_test(test_socket_peer_gone),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
