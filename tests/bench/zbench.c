// SPDX-License-Identifier: GPL-2.0
/*
 * zbench: what stream compression costs and gains on the host, without a
 * device.  SIZE MiB of random or compressible bytes go through the stream
 * writer as DATA chunks of CHUNK bytes into a file (tmpfs for the bench),
 * then back through the reader; per codec it prints write and read MB/s
 * (of raw bytes) by wall time and by the process's CPU time (which a busy
 * host distorts far less), and the ratio raw/stream.
 *
 *   zbench FILE SIZE_MIB CHUNK random|compressible none|zstd[:L]|lz4[:A]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compress.h"
#include "stream.h"

static double clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

/* CPU time (user + system, tmpfs copies included): what a busy host does not distort. */
static double cpu(void)
{
	return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void die(const char *what, const struct vfmig_err *err)
{
	fprintf(stderr, "zbench: %s: %s\n", what, err ? err->msg : strerror(errno));
	exit(1);
}

static void fill(uint8_t *p, size_t n, bool random)
{
	static const char words[] = "vfmig device state page 0123 ";
	uint64_t x = 0x9e3779b97f4a7c15ull;
	size_t i;

	for (i = 0; i < n; i++) {
		if (random) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p[i] = (uint8_t)(x >> 24);
		} else {
			/* Half zero pages, half text-like pages. */
			p[i] = (i / 4096) % 2 ? 0 : (uint8_t)words[i % (sizeof(words) - 1)];
		}
	}
}

int main(int argc, char **argv)
{
	struct vfmig_writer *w = malloc(sizeof(*w));
	struct vfmig_reader *r = malloc(sizeof(*r));
	unsigned int codec = VFMIG_CODEC_NONE;
	struct vfmig_err err;
	size_t size, chunk, off;
	uint8_t *src, *dst;
	uint64_t tag, n, stream;
	double t0, c0, tw, tr, cw, cr;
	int fd, level = 0;

	if (argc != 6 || !w || !r) {
		fprintf(stderr, "usage: zbench FILE SIZE_MIB CHUNK random|compressible none|zstd[:L]|lz4[:A]\n");
		return 2;
	}
	size = strtoull(argv[2], NULL, 0) << 20;
	chunk = strtoull(argv[3], NULL, 0);
	if (!strncmp(argv[5], "zstd", 4))
		codec = VFMIG_CODEC_ZSTD;
	else if (!strncmp(argv[5], "lz4", 3))
		codec = VFMIG_CODEC_LZ4;
	if (strchr(argv[5], ':'))
		level = atoi(strchr(argv[5], ':') + 1);
	src = malloc(size);
	dst = malloc(size);
	if (!src || !dst || !chunk)
		die("setup", NULL);
	fill(src, size, !strcmp(argv[4], "random"));
	memset(dst, 1, size);
	vfmig_err_clear(&err);

	fd = open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die(argv[1], NULL);
	vfmig_writer_init(w, fd);
	if (vfmig_writer_set_compress(w, codec, level, &err))
		die("compress", &err);
	t0 = now();
	c0 = cpu();
	for (off = 0; off < size; off += chunk) {
		size_t k = size - off < chunk ? size - off : chunk;

		if (vfmig_stream_put_blob(w, VFMIG_TAG_DATA, k, &err) ||
		    vfmig_writer_put(w, src + off, k, &err))
			die("write", &err);
	}
	if (vfmig_writer_flush(w, &err))
		die("flush", &err);
	tw = now() - t0;
	cw = cpu() - c0;
	stream = w->offset;
	vfmig_writer_fini(w);

	lseek(fd, 0, SEEK_SET);
	vfmig_reader_init(r, fd);
	r->params.features = VFMIG_STREAM_F_CODECS;	/* no header in this stream */
	t0 = now();
	c0 = cpu();
	for (off = 0; off < size; off += n) {
		if (vfmig_stream_get_tag(r, &tag, &err) ||
		    vfmig_stream_get_size(r, VFMIG_STREAM_MAX_DATA, "size", &n, &err) ||
		    vfmig_reader_get(r, dst + off, (size_t)n, "data", &err))
			die("read", &err);
	}
	tr = now() - t0;
	cr = cpu() - c0;
	vfmig_reader_fini(r);
	if (memcmp(src, dst, size))
		die("read back differs", NULL);
	printf("%-12s %-6s chunk %7zu: write %8.1f MB/s  read %8.1f MB/s  cpu: write %8.1f MB/s  read %8.1f MB/s  ratio %7.2f\n",
	       argv[4], argv[5], chunk, (double)size / tw / 1e6, (double)size / tr / 1e6,
	       (double)size / cw / 1e6, (double)size / cr / 1e6, (double)size / (double)stream);
	close(fd);
	unlink(argv[1]);
	free(src);
	free(dst);
	free(w);
	free(r);
	return 0;
}
