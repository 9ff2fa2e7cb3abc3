// SPDX-License-Identifier: GPL-2.0
/*
 * Seed corpus generator for the host fuzz targets.
 *
 *   gen_corpus stream DIR   engine streams saved from the rig's fake devices
 *                           (rig.h) in several ways, each checked to load back
 *   gen_corpus extract STREAM OUT
 *                           the device payload inside an engine stream saved
 *                           from a real vfmig device (its DATA chunks, in
 *                           order), as a payload_fuzz input
 *
 * Device payloads: gen_payload.c.  The committed corpus (tests/fuzz/corpus/)
 * was made with these programs;
 * `make -C tests/fuzz corpus` rewrites it.  The output is deterministic.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create */
#endif
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "rig.h"
#include "compress.h"
#include "stream.h"

static const char *outdir;

static void die(const char *what, const struct vfmig_err *err)
{
	fprintf(stderr, "gen_corpus: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

/* A clock that advances 1 ms per reading: the same stream on every run. */
static uint64_t fake_now(void *o)
{
	uint64_t *t = o;

	return *t += 1000000;
}

static void fake_sleep(void *o, uint64_t ns)
{
	uint64_t *t = o;

	*t += ns;
}

/* Guest writes during pre-copy: a few pages per pending_bytes read, for a while. */
struct dirtier {
	unsigned int calls, limit, pages;
};

static void dirty_hook(struct fake_dev *d, void *opaque)
{
	struct dirtier *w = opaque;
	unsigned int i;

	if (++w->calls > w->limit)
		return;
	for (i = 0; i < w->pages; i++)
		fake_dirty(d, (w->calls * 5 + i * 3) % d->nr_pages, (uint8_t)(w->calls + i));
}

static void write_file(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die(path, NULL);
	printf("%-40s %7zu bytes\n", path, len);
}

static uint8_t *slurp(int fd, size_t *len)
{
	off_t size = lseek(fd, 0, SEEK_END);
	uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);

	if (size < 0 || !buf || pread(fd, buf, (size_t)size, 0) != size)
		die("read back", NULL);
	*len = (size_t)size;
	return buf;
}

struct stream_case {
	const char *name;
	unsigned int mask;		/* devices saved */
	bool offline;
	uint64_t downtime_ms;		/* 0: default */
	unsigned int dirty_limit;	/* pending reads that dirty pages */
	size_t chunk_max[RIG_NR_DEVS];	/* 0: rig default */
	uint32_t seed;
	unsigned int compress;		/* VFMIG_CODEC_*: ZDATA items, state made compressible */
};

/* Save the case from fresh rig devices; check it loads back whole. */
static void gen_stream(const struct stream_case *sc)
{
	struct fake_cfg cfg[RIG_NR_DEVS];
	struct vfmig_conv_opts o;
	struct dirtier w[RIG_NR_DEVS];
	struct vfmig_stats *st = calloc(1, sizeof(*st));
	struct vfmig_clock clk;
	struct vfmig_err err;
	struct rig src, dst;
	uint64_t t = 0, sum[RIG_NR_DEVS] = { 0 };
	unsigned int i;
	uint8_t *buf;
	size_t len;
	int fd = memfd_create("gen", 0);

	if (fd < 0 || !st)
		die("setup", NULL);
	vfmig_err_clear(&err);
	for (i = 0; i < RIG_NR_DEVS; i++) {
		rig_cfg(i, &cfg[i]);
		if (sc->chunk_max[i])
			cfg[i].chunk_max = sc->chunk_max[i];
	}
	if (rig_init(&src, sc->mask, cfg, sc->seed, &err))
		die("source rig", &err);
	for (i = 0; i < RIG_NR_DEVS; i++) {
		w[i] = (struct dirtier){ .limit = sc->dirty_limit, .pages = 2 };
		if (!(sc->mask & (1u << i)))
			continue;
		src.d[i].fake.dirty_hook = dirty_hook;
		src.d[i].fake.dirty_opaque = &w[i];
		/* Every other page zero: ZDATA items, and raw ones where dirtied. */
		if (sc->compress)
			for (size_t pg = 0; pg < src.d[i].fake.cfg.mem_size; pg += 2048)
				memset(src.d[i].fake.mem + pg, 0, 1024);
	}
	clk = (struct vfmig_clock){ fake_now, fake_sleep, &t };
	vfmig_conv_opts_init(&o);
	o.offline = sc->offline;
	o.compress = sc->compress;
	if (sc->downtime_ms)
		o.downtime_limit_ms = sc->downtime_ms;
	if (vfmig_savevm_save(src.sv, fd, &o, &clk, NULL, st, &err))
		die(sc->name, &err);
	for (i = 0; i < RIG_NR_DEVS; i++)
		if (sc->mask & (1u << i))
			sum[i] = fake_checksum(&src.d[i].fake);
	rig_fini(&src);

	/* The rig (both devices) loads it whole if both were saved. */
	if (rig_init(&dst, (1u << RIG_NR_DEVS) - 1, NULL, 1000, &err))
		die("destination rig", &err);
	if (lseek(fd, 0, SEEK_SET))
		die("lseek", NULL);
	if (vfmig_savevm_load(dst.sv, fd, NULL, &err)) {
		if (sc->mask == (1u << RIG_NR_DEVS) - 1)
			die(sc->name, &err);
	} else {
		for (i = 0; i < RIG_NR_DEVS; i++)
			if (!dst.d[i].fake.resume_done ||
			    fake_checksum(&dst.d[i].fake) != sum[i])
				die("loaded state differs", &err);
	}
	rig_fini(&dst);
	buf = slurp(fd, &len);
	write_file(sc->name, buf, len);
	free(buf);
	free(st);
	close(fd);
}

/* Structure only: sections with empty payloads for the rig's ids. */
static void gen_skeleton(void)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_err err;
	uint8_t *buf;
	size_t len;
	int fd = memfd_create("gen", 0), ret;
	uint32_t id;

	if (fd < 0 || !w)
		die("setup", NULL);
	vfmig_err_clear(&err);
	vfmig_writer_init(w, fd);
	ret = vfmig_stream_put_header(w, &err);
	for (id = 1; id <= RIG_NR_DEVS && !ret; id++) {
		const char *n = rig_ids[id - 1];

		ret = vfmig_stream_put_section(w, VFMIG_SECTION_START, id, n, 0, 1, &err) ||
		      vfmig_stream_put_tag(w, VFMIG_TAG_SETUP, &err) ||
		      vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err) ||
		      vfmig_stream_put_footer(w, id, &err) ||
		      vfmig_stream_put_section(w, VFMIG_SECTION_PART, id, NULL, 0, 0, &err) ||
		      vfmig_stream_put_blob(w, VFMIG_TAG_DATA, 0, &err) ||
		      vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err) ||
		      vfmig_stream_put_footer(w, id, &err) ||
		      vfmig_stream_put_section(w, VFMIG_SECTION_END, id, NULL, 0, 0, &err) ||
		      vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err) ||
		      vfmig_stream_put_footer(w, id, &err) ||
		      vfmig_stream_put_section(w, VFMIG_SECTION_FULL, id, n, 0, 1, &err) ||
		      vfmig_stream_put_blob(w, VFMIG_TAG_CONFIG, 0, &err) ||
		      vfmig_stream_put_tag(w, VFMIG_TAG_END_OF_STATE, &err) ||
		      vfmig_stream_put_footer(w, id, &err);
	}
	if (!ret)
		ret = vfmig_stream_put_eof(w, &err) || vfmig_writer_flush(w, &err);
	if (ret)
		die("skeleton", &err);
	buf = slurp(fd, &len);
	write_file("skeleton", buf, len);
	free(buf);
	free(w);
	close(fd);
}

static const struct stream_case stream_cases[] = {
	{ "both-online", 3, false, 0, 0, { 0 }, 1, 0 },
	{ "both-precopy-dirty", 3, false, 1, 6, { 0 }, 2, 0 },
	{ "both-offline", 3, true, 0, 0, { 0 }, 3, 0 },
	{ "both-small-chunks", 3, false, 0, 0, { 1024 + 32, 1024 + 32 }, 4, 0 },
	{ "both-precopy-small-chunks", 3, false, 1, 40, { 1024 + 32, 1024 + 32 }, 5, 0 },
	{ "only-a", 1, false, 0, 0, { 0 }, 6, 0 },
	{ "only-b-precopy", 2, false, 1, 12, { 0 }, 7, 0 },
	{ "only-b-offline", 2, true, 0, 0, { 0 }, 8, 0 },
	{ "only-a-precopy-small-chunks", 1, false, 1, 30, { 1024 + 32, 0 }, 9, 0 },
	{ "both-precopy-long", 3, false, 1, 80, { 2048 + 32, 1024 + 32 }, 10, 0 },
	{ "both-offline-zstd", 3, true, 0, 0, { 0 }, 11, VFMIG_CODEC_ZSTD },
	{ "both-precopy-dirty-lz4", 3, false, 1, 6, { 0 }, 12, VFMIG_CODEC_LZ4 },
	{ "only-a-small-chunks-zstd", 1, false, 0, 0, { 1024 + 32, 0 }, 13, VFMIG_CODEC_ZSTD },
};

struct payload_buf {
	uint8_t *p;
	size_t len, cap;
};

static uint8_t *payload_room(struct payload_buf *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			die("out of memory", NULL);
	}
	b->len += n;
	return b->p + b->len - n;
}

/* The DATA chunks of an engine stream's sections, concatenated. */
static void extract(const char *in, const char *out)
{
	struct vfmig_reader *r = malloc(sizeof(*r));
	struct payload_buf b = { 0 };
	struct vfmig_section sec;
	struct vfmig_err err;
	uint64_t tag, size, pages;
	int fd = open(in, O_RDONLY), ret;
	FILE *f;

	if (fd < 0 || !r)
		die(in, NULL);
	vfmig_err_clear(&err);
	vfmig_reader_init(r, fd);
	payload_room(&b, 2);
	b.p[1] = 0;
	ret = vfmig_stream_get_header(r, &err);
	while (!ret && (ret = vfmig_stream_get_section(r, &sec, &err)) == 1) {
		for (;;) {
			ret = vfmig_stream_get_tag(r, &tag, &err);
			if (ret || tag == VFMIG_TAG_END_OF_STATE)
				break;
			if (tag == VFMIG_TAG_SETUP)
				continue;
			ret = vfmig_stream_get_size(r, VFMIG_STREAM_MAX_DATA, "size", &size, &err);
			if (ret)
				break;
			if (tag == VFMIG_TAG_DATA)
				ret = vfmig_reader_get(r, payload_room(&b, size), size, "data", &err);
			else
				ret = vfmig_reader_skip(r, size, "config", &err);
			if (ret)
				break;
		}
		if (!ret)
			ret = vfmig_stream_get_footer(r, &sec, &err);
	}
	if (ret < 0)
		die(in, &err);
	/*
	 * The first record is the HEADER (kernel/payload_fmt.h): a 28-byte
	 * record header, then le64 magic, le32 version, le32 type, le64 size.
	 */
	if (b.len < 2 + 28 + 24)
		die("no payload in the stream", NULL);
	memcpy(&size, b.p + 2 + 28 + 16, sizeof(size));
	pages = le64toh(size) / 4096;
	if (pages < 1 || pages > 16)
		die("state size outside payload_fuzz's 1..16 pages", NULL);
	b.p[0] = (uint8_t)(pages - 1);
	f = fopen(out, "wb");
	if (!f || fwrite(b.p, 1, b.len, f) != b.len || fclose(f))
		die(out, NULL);
	printf("%-40s %7zu bytes\n", out, b.len);
	free(b.p);
	free(r);
	close(fd);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc == 4 && !strcmp(argv[1], "extract")) {
		extract(argv[2], argv[3]);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "stream")) {
		fprintf(stderr, "usage: gen_corpus stream DIR\n"
			"       gen_corpus extract STREAM OUT\n");
		return 2;
	}
	outdir = argv[2];
	for (i = 0; i < sizeof(stream_cases) / sizeof(stream_cases[0]); i++)
		gen_stream(&stream_cases[i]);
	gen_skeleton();
	return 0;
}
