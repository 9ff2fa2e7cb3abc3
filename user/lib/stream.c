// SPDX-License-Identifier: GPL-2.0
/* vfmig stream: buffered writer, checking reader, inspector. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "stream.h"

/*
 * Writer side of compression: DATA chunks are cut into blocks of at most
 * VFMIG_STREAM_ZBLOCK bytes, each sent as ZDATA when it shrinks, else as a
 * plain DATA item.  Random state must cost next to nothing, so a block is
 * first tried on a thirty-second of it (2 KiB to VFMIG_STREAM_ZSAMPLE; 4 KiB
 * inside a run of raw blocks); one that does not shrink is sent raw at once,
 * and each raw block in a row doubles how many bytes after it go raw
 * untried (1 MiB up to ZBACKOFF).  Trials must be few and small: under TCG
 * they cost far more against a copy than natively (benchmark-history.md).
 * A sample whose bytes look uniformly random (vfmig_codec_looks_random)
 * counts as not shrinking without a trial.
 * Those untried bytes join the raw block's DATA item (whole blocks of them,
 * up to the chunk's end), so random state travels in items as big as
 * without compression: fewer headers, and the reader's direct reads into
 * device memory stay as long.  Blocks under ZBLOCK_MIN, too short to tell
 * random from not, go raw untried: ZDATA's longer header and a codec frame
 * (9 + 13-27 bytes) take most of what coding so few could save, and random
 * state then runs no codec at all, so neither end opens the codec's
 * library (compress.h).
 */
#define ZBACKOFF	(8u << 20)
#define ZBACKOFF_MIN	VFMIG_STREAM_ZBLOCK
#define ZSAMPLE_MIN	2048u
/* Inside a run of raw blocks a 4 KiB trial suffices to see it continue. */
#define ZSAMPLE_STREAK	4096u
#define ZBLOCK_MIN	VFMIG_CODEC_LOOK_MIN
/* ZDATA's header (tag, raw size, coded size, codec: 25 bytes) over DATA's (16). */
#define ZDATA_EXTRA	9u
struct vfmig_zwriter {
	struct vfmig_codec_ctx codec;
	uint64_t chunk_left;	/* bytes of the DATA chunk not in a block yet */
	size_t blk;		/* this block's size (0: between blocks) */
	size_t fill;		/* bytes of it in raw[] */
	size_t pass;		/* bytes of it still to pass through raw */
	size_t sample;		/* bytes of it tried first (blk: the whole block) */
	bool sampled;		/* the sample shrank */
	uint64_t skip;		/* bytes still to send raw without a trial */
	uint64_t backoff;	/* bytes skipped after the last raw block */
	uint8_t *raw, *coded;	/* ZBLOCK bytes, bound(ZBLOCK) bytes (at the first trial) */
	size_t coded_cap;
};

/* Reader side: one ZDATA item, read whole, handed out as its DATA bytes. */
struct vfmig_zreader {
	struct vfmig_codec_ctx codec;
	uint64_t at;		/* stream offset of the ZDATA tag */
	uint64_t coded_at;	/* and of its coded bytes */
	uint64_t raw, coded;	/* its sizes */
	uint64_t left;		/* raw bytes not handed out */
	bool announced;		/* get_tag gave DATA, get_size not yet called */
	bool decoded;		/* out[] holds the raw bytes */
	bool last_coded;	/* the last DATA get_tag gave was a ZDATA */
	uint8_t *in, *out;
	size_t in_cap, out_cap;
};

/* ---- writer ---- */

void vfmig_writer_init(struct vfmig_writer *w, int fd)
{
	struct stat st;

	w->fd = fd;
	w->chan = NULL;
	w->cancel = NULL;
	w->len = 0;
	w->offset = 0;
	w->error = 0;
	w->params = (struct vfmig_stream_params){ .lanes = 1 };
	w->z = NULL;
	w->raw_data = w->coded_data = w->trials = 0;
	/* Sockets get MSG_NOSIGNAL: a vanished peer is an error, not SIGPIPE. */
	w->is_socket = fd >= 0 && !fstat(fd, &st) && S_ISSOCK(st.st_mode);
}

void vfmig_writer_init_endpoint(struct vfmig_writer *w, const struct vfmig_endpoint *ep)
{
	vfmig_writer_init(w, ep->chan ? -1 : ep->fd);
	w->chan = ep->chan;
}

/* Whole buffer to fd: retries short writes, EINTR, and waits on EAGAIN. */
static int write_all(const struct vfmig_writer *w, const uint8_t *p, size_t n)
{
	int fd = w->fd;

	if (w->chan)
		return vfmig_channel_write(w->chan, p, n, w->cancel);
	while (n) {
		ssize_t ret = w->is_socket ? send(fd, p, n, MSG_NOSIGNAL) : write(fd, p, n);

		if (ret < 0) {
			/* A signal (SIGINT) that asked to cancel ends a blocked write. */
			if (errno == EINTR && vfmig_cancel_requested(w->cancel))
				return -ECANCELED;
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return -errno;
				continue;
			}
			return -errno;
		}
		if (ret == 0)
			return -EIO;
		p += ret;
		n -= (size_t)ret;
		/*
		 * A signal during a large blocking write to a pipe ends it short
		 * instead of with EINTR; the next write would block with no signal
		 * left to end it.
		 */
		if (n && vfmig_cancel_requested(w->cancel))
			return -ECANCELED;
	}
	return 0;
}

static int writer_fail(struct vfmig_writer *w, int ret, struct vfmig_err *err)
{
	w->error = ret;
	return vfmig_err_set(err, ret, "stream write failed near offset %" PRIu64 ": %s",
			     w->offset, strerror(-ret));
}

int vfmig_writer_flush(struct vfmig_writer *w, struct vfmig_err *err)
{
	int ret;

	if (w->error)
		return vfmig_err_set(err, w->error, "stream already failed: %s", strerror(-w->error));
	ret = write_all(w, w->buf, w->len);
	if (ret)
		return writer_fail(w, ret, err);
	w->len = 0;
	return 0;
}

static int put_raw(struct vfmig_writer *w, const void *p, size_t n, struct vfmig_err *err)
{
	int ret;

	if (w->error)
		return vfmig_err_set(err, w->error, "stream already failed: %s", strerror(-w->error));
	if (w->len + n > sizeof(w->buf)) {
		ret = vfmig_writer_flush(w, err);
		if (ret)
			return ret;
	}
	if (n >= sizeof(w->buf)) {
		/* Big pieces (e.g. straight from a mapping) bypass the buffer. */
		ret = write_all(w, p, n);
		if (ret)
			return writer_fail(w, ret, err);
	} else {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
	w->offset += n;
	return 0;
}

int vfmig_writer_raw_fd(const struct vfmig_writer *w)
{
	return w->chan || w->z || w->error ? -1 : w->fd;
}

void vfmig_writer_moved(struct vfmig_writer *w, uint64_t n)
{
	w->offset += n;
}

static int put_raw_be64(struct vfmig_writer *w, uint64_t v, struct vfmig_err *err)
{
	v = htobe64(v);
	return put_raw(w, &v, 8, err);
}

/*
 * A block went raw: skip trials for the next 1 MiB, 2 MiB ... ZBACKOFF.
 * Small blocks (a record header, a last short piece) tell nothing.
 */
static void zbackoff(struct vfmig_zwriter *z, bool raw)
{
	if (z->blk < ZSAMPLE_MIN)
		return;
	if (!raw) {
		z->backoff = 0;
		return;
	}
	z->backoff = z->backoff ? z->backoff * 2 : ZBACKOFF_MIN;
	if (z->backoff > ZBACKOFF)
		z->backoff = ZBACKOFF;
	z->skip = z->backoff;
}

/*
 * The untried bytes due after a raw block, in whole blocks (or the rest of
 * the chunk), taken from the chunk for one DATA item.
 */
static uint64_t zskip_take(struct vfmig_zwriter *z)
{
	uint64_t n = (z->skip + VFMIG_STREAM_ZBLOCK - 1) / VFMIG_STREAM_ZBLOCK *
		     VFMIG_STREAM_ZBLOCK;

	if (n > z->chunk_left)
		n = z->chunk_left;
	z->chunk_left -= n;
	z->skip -= z->skip < n ? z->skip : n;
	return n;
}

/* The codec's library and its output buffer, opened for the first trial. */
static int zcoder_open(struct vfmig_zwriter *z)
{
	if (vfmig_codec_unavailable(z->codec.codec))
		return -EOPNOTSUPP;
	z->coded_cap = vfmig_codec_bound(z->codec.codec, VFMIG_STREAM_ZBLOCK);
	z->coded = malloc(z->coded_cap);
	return z->coded ? 0 : -ENOMEM;
}

/*
 * Code the first n bytes of z->raw into z->coded; with @look, bytes that
 * look random are -ENOSPC (does not shrink) without running the codec.
 * Any error but -ENOSPC fails the stream (ztry_failed).
 */
static int ztry(struct vfmig_writer *w, size_t n, bool look, size_t *coded)
{
	struct vfmig_zwriter *z = w->z;
	int ret;

	if (look && vfmig_codec_looks_random(z->raw, n))
		return -ENOSPC;
	if (!z->coded) {
		ret = zcoder_open(z);
		if (ret)
			return ret;
	}
	w->trials++;
	return vfmig_codec_encode(&z->codec, z->raw, n, z->coded, z->coded_cap, coded);
}

static int ztry_failed(const struct vfmig_writer *w, int ret, struct vfmig_err *err)
{
	unsigned int codec = w->z->codec.codec;
	const char *why = ret == -ENOMEM ? "out of memory" : vfmig_codec_unavailable(codec);

	return vfmig_err_set(err, ret, "stream offset %" PRIu64 ": compression %s: %s",
			     w->offset, vfmig_codec_name(codec), why ? why : strerror(-ret));
}

/* Emit the full block in z->raw: ZDATA if it shrinks, else DATA. */
static int zblock_emit(struct vfmig_writer *w, struct vfmig_err *err)
{
	struct vfmig_zwriter *z = w->z;
	size_t coded = 0;
	uint8_t codec = (uint8_t)z->codec.codec;
	int ret;

	/* A sample that shrank said enough; a block tried whole may look random. */
	ret = ztry(w, z->blk, z->sample >= z->blk, &coded);
	if (ret && ret != -ENOSPC)
		return ztry_failed(w, ret, err);
	/* ZDATA only where it makes the stream shorter. */
	zbackoff(z, ret || coded + ZDATA_EXTRA >= z->blk);
	if (!ret && coded + ZDATA_EXTRA < z->blk) {
		ret = put_raw_be64(w, VFMIG_TAG_ZDATA, err);
		if (!ret)
			ret = put_raw_be64(w, z->blk, err);
		if (!ret)
			ret = put_raw_be64(w, coded, err);
		if (!ret)
			ret = put_raw(w, &codec, 1, err);
		if (!ret)
			ret = put_raw(w, z->coded, coded, err);
		w->coded_data += coded;
	} else {
		ret = put_raw_be64(w, VFMIG_TAG_DATA, err);
		if (!ret)
			ret = put_raw_be64(w, z->blk, err);
		if (!ret)
			ret = put_raw(w, z->raw, z->blk, err);
		w->coded_data += z->blk;
	}
	z->blk = z->fill = 0;
	return ret;
}

/*
 * The sample of a block is in: if it does not shrink by a sixteenth, send
 * the block as plain DATA, the rest of it passing straight through.
 */
static int zblock_sample(struct vfmig_writer *w, struct vfmig_err *err)
{
	struct vfmig_zwriter *z = w->z;
	size_t coded = 0;
	uint64_t extra;
	int ret;

	ret = ztry(w, z->fill, true, &coded);
	if (ret && ret != -ENOSPC)
		return ztry_failed(w, ret, err);
	if (!ret && coded <= z->fill - z->fill / 16) {
		z->sampled = true;
		return 0;
	}
	zbackoff(z, true);
	extra = zskip_take(z);
	ret = put_raw_be64(w, VFMIG_TAG_DATA, err);
	if (!ret)
		ret = put_raw_be64(w, z->blk + extra, err);
	if (!ret)
		ret = put_raw(w, z->raw, z->fill, err);
	w->coded_data += z->blk + extra;
	z->pass = z->blk - z->fill + extra;
	z->blk = z->fill = 0;
	return ret;
}

/* A DATA item of n bytes taken from the chunk, to pass through untried. */
static int zpass_start(struct vfmig_writer *w, uint64_t n, struct vfmig_err *err)
{
	int ret = put_raw_be64(w, VFMIG_TAG_DATA, err);

	if (!ret)
		ret = put_raw_be64(w, n, err);
	w->coded_data += n;
	w->z->pass = n;
	return ret;
}

/* The next block of the chunk: sized, and either tried or sent raw untried. */
static int zblock_start(struct vfmig_writer *w, struct vfmig_err *err)
{
	struct vfmig_zwriter *z = w->z;
	size_t blk = z->chunk_left < VFMIG_STREAM_ZBLOCK ? (size_t)z->chunk_left :
			VFMIG_STREAM_ZBLOCK;

	if (blk < ZBLOCK_MIN) {
		z->chunk_left -= blk;
		return zpass_start(w, blk, err);
	}
	if (z->skip && blk >= ZSAMPLE_MIN)
		return zpass_start(w, zskip_take(z), err);
	z->chunk_left -= blk;
	z->blk = blk;
	z->sample = blk / 32;
	if (z->sample < ZSAMPLE_MIN)
		z->sample = ZSAMPLE_MIN;
	if (z->sample > VFMIG_STREAM_ZSAMPLE)
		z->sample = VFMIG_STREAM_ZSAMPLE;
	if (z->backoff && z->sample > ZSAMPLE_STREAK)
		z->sample = ZSAMPLE_STREAK;
	/* A small block is tried whole. */
	z->sampled = z->sample >= blk;
	return 0;
}

/* n bytes of the DATA chunk being coded (at most what is left of it). */
static int zput(struct vfmig_writer *w, const uint8_t *p, size_t n, struct vfmig_err *err)
{
	struct vfmig_zwriter *z = w->z;
	size_t take;
	int ret;

	while (n) {
		if (z->pass) {
			take = n < z->pass ? n : z->pass;
			ret = put_raw(w, p, take, err);
			if (ret)
				return ret;
			z->pass -= take;
		} else {
			if (!z->blk) {
				ret = zblock_start(w, err);
				if (ret)
					return ret;
				continue;
			}
			take = z->blk - z->fill;
			if (!z->sampled && z->fill < z->sample)
				take = z->sample - z->fill;
			if (take > n)
				take = n;
			memcpy(z->raw + z->fill, p, take);
			z->fill += take;
			if (z->fill == z->blk)
				ret = zblock_emit(w, err);
			else if (!z->sampled && z->fill == z->sample)
				ret = zblock_sample(w, err);
			else
				ret = 0;
			if (ret)
				return ret;
		}
		w->raw_data += take;
		p += take;
		n -= take;
	}
	return 0;
}

static bool zpending(const struct vfmig_writer *w)
{
	return w->z && (w->z->chunk_left || w->z->blk || w->z->pass);
}

int vfmig_writer_put(struct vfmig_writer *w, const void *p, size_t n, struct vfmig_err *err)
{
	const uint8_t *b = p;
	uint64_t left;
	size_t take;
	int ret;

	if (!zpending(w))
		return put_raw(w, p, n, err);
	if (w->error)
		return vfmig_err_set(err, w->error, "stream already failed: %s", strerror(-w->error));
	left = w->z->chunk_left + (w->z->blk - w->z->fill) + w->z->pass;
	take = n < left ? n : (size_t)left;
	ret = zput(w, b, take, err);
	if (ret) {
		w->error = ret;
		return ret;
	}
	return take < n ? put_raw(w, b + take, n - take, err) : 0;
}

int vfmig_writer_set_compress(struct vfmig_writer *w, unsigned int codec, int level,
			      struct vfmig_err *err)
{
	struct vfmig_zwriter *z;

	if (codec == VFMIG_CODEC_NONE)
		return 0;
	if (w->chan)
		return vfmig_err_set(err, -EINVAL,
				     "compression: an in-process channel moves data uncompressed");
	/* Its library is opened at the first trial (compress.h). */
	if (!vfmig_codec_built(codec))
		return vfmig_err_set(err, -EOPNOTSUPP, "compression %s: not in this build",
				     vfmig_codec_name(codec));
	if (vfmig_codec_check_level(codec, level))
		return vfmig_err_set(err, -EINVAL, "compression %s: level %d out of range",
				     vfmig_codec_name(codec), level);
	z = calloc(1, sizeof(*z));
	if (z)
		z->raw = malloc(VFMIG_STREAM_ZBLOCK);
	if (!z || !z->raw) {
		free(z);
		return vfmig_err_set(err, -ENOMEM, "compression: out of memory");
	}
	vfmig_codec_ctx_init(&z->codec, codec, level);
	vfmig_writer_fini(w);
	w->z = z;
	w->params.features |= VFMIG_STREAM_F_CODEC(codec);
	return 0;
}

void vfmig_writer_fini(struct vfmig_writer *w)
{
	if (!w->z)
		return;
	vfmig_codec_ctx_fini(&w->z->codec);
	free(w->z->raw);
	free(w->z->coded);
	free(w->z);
	w->z = NULL;
}

int vfmig_writer_put_u8(struct vfmig_writer *w, uint8_t v, struct vfmig_err *err)
{
	return vfmig_writer_put(w, &v, 1, err);
}

int vfmig_writer_put_be32(struct vfmig_writer *w, uint32_t v, struct vfmig_err *err)
{
	v = htobe32(v);
	return vfmig_writer_put(w, &v, 4, err);
}

int vfmig_writer_put_be64(struct vfmig_writer *w, uint64_t v, struct vfmig_err *err)
{
	v = htobe64(v);
	return vfmig_writer_put(w, &v, 8, err);
}

int vfmig_writer_sink(void *opaque, const void *buf, size_t len, struct vfmig_err *err)
{
	return vfmig_writer_put(opaque, buf, len, err);
}

bool vfmig_writer_can_fill(const struct vfmig_writer *w)
{
	return w->chan != NULL && !w->z;
}

int vfmig_writer_put_fill(struct vfmig_writer *w, size_t n, vfmig_channel_fill_fn fill,
			  void *fill_ctx, struct vfmig_err *err)
{
	int ret;

	if (!w->chan)
		return vfmig_err_set(err, -EINVAL, "stream writer: filling in place needs a channel");
	/* What is buffered goes first, to keep the order. */
	ret = vfmig_writer_flush(w, err);
	if (ret)
		return ret;
	ret = vfmig_channel_write_fill(w->chan, n, fill, fill_ctx, w->cancel, err);
	if (ret) {
		w->error = ret;
		return ret;
	}
	w->offset += n;
	return 0;
}

int vfmig_writer_sink_fill(void *opaque, size_t len, vfmig_channel_fill_fn fill,
			   void *fill_ctx, struct vfmig_err *err)
{
	return vfmig_writer_put_fill(opaque, len, fill, fill_ctx, err);
}

int vfmig_stream_put_header(struct vfmig_writer *w, struct vfmig_err *err)
{
	struct vfmig_stream_params *p = &w->params;
	bool ext = p->features || p->lanes > 1;
	int ret;

	p->version = ext ? VFMIG_STREAM_VERSION_EXT : VFMIG_STREAM_VERSION;
	ret = vfmig_writer_put_be32(w, VFMIG_STREAM_MAGIC, err);
	if (!ret)
		ret = vfmig_writer_put_be32(w, p->version, err);
	if (ret || !ext)
		return ret;
	ret = vfmig_writer_put_be32(w, p->features, err);
	if (!ret)
		ret = vfmig_writer_put(w, (uint16_t[]){ htobe16(p->lanes) }, 2, err);
	if (!ret)
		ret = vfmig_writer_put(w, (uint16_t[]){ htobe16(p->lane) }, 2, err);
	return ret;
}

int vfmig_stream_put_section(struct vfmig_writer *w, uint8_t type, uint32_t id,
			     const char *idstr, uint32_t instance, uint32_t version,
			     struct vfmig_err *err)
{
	size_t len;
	int ret;

	ret = vfmig_writer_put_u8(w, type, err);
	if (!ret)
		ret = vfmig_writer_put_be32(w, id, err);
	if (ret || (type != VFMIG_SECTION_START && type != VFMIG_SECTION_FULL))
		return ret;
	len = strlen(idstr);
	if (!len || len > VFMIG_IDSTR_MAX)
		return vfmig_err_set(err, -EINVAL, "idstr \"%s\" must be 1..%u bytes",
				     idstr, VFMIG_IDSTR_MAX);
	ret = vfmig_writer_put_u8(w, (uint8_t)len, err);
	if (!ret)
		ret = vfmig_writer_put(w, idstr, len, err);
	if (!ret)
		ret = vfmig_writer_put_be32(w, instance, err);
	if (!ret)
		ret = vfmig_writer_put_be32(w, version, err);
	return ret;
}

int vfmig_stream_put_footer(struct vfmig_writer *w, uint32_t id, struct vfmig_err *err)
{
	int ret = vfmig_writer_put_u8(w, VFMIG_SECTION_FOOTER, err);

	return ret ? ret : vfmig_writer_put_be32(w, id, err);
}

int vfmig_stream_put_eof(struct vfmig_writer *w, struct vfmig_err *err)
{
	return vfmig_writer_put_u8(w, VFMIG_SECTION_EOF, err);
}

int vfmig_stream_put_tag(struct vfmig_writer *w, uint64_t tag, struct vfmig_err *err)
{
	return vfmig_writer_put_be64(w, tag, err);
}

int vfmig_stream_put_blob(struct vfmig_writer *w, uint64_t tag, uint64_t size,
			  struct vfmig_err *err)
{
	int ret;

	if (zpending(w))
		return vfmig_err_set(err, -EINVAL,
				     "stream offset %" PRIu64 ": %s item inside an unfinished DATA chunk",
				     w->offset, vfmig_tag_name(tag));
	if (w->z && tag == VFMIG_TAG_DATA && size) {
		/* Framed block by block as the bytes come (zput). */
		w->z->chunk_left = size;
		return 0;
	}
	ret = vfmig_writer_put_be64(w, tag, err);
	return ret ? ret : vfmig_writer_put_be64(w, size, err);
}

/* ---- reader ---- */

void vfmig_reader_init(struct vfmig_reader *r, int fd)
{
	memset(r, 0, offsetof(struct vfmig_reader, buf));
	r->fd = fd;
}

void vfmig_reader_init_endpoint(struct vfmig_reader *r, const struct vfmig_endpoint *ep)
{
	vfmig_reader_init(r, ep->chan ? -1 : ep->fd);
	r->chan = ep->chan;
}

void vfmig_reader_fini(struct vfmig_reader *r)
{
	if (!r->z)
		return;
	vfmig_codec_ctx_fini(&r->z->codec);
	free(r->z->in);
	free(r->z->out);
	free(r->z);
	r->z = NULL;
}

VFMIG_PRINTF(4, 5)
static int bad(struct vfmig_err *err, int code, uint64_t at, const char *fmt, ...)
{
	char msg[VFMIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vfmig_err_set(err, code, "stream offset %" PRIu64 ": %s", at, msg);
}

/*
 * One read(2) of up to len bytes into buf; 0 and *got = 0 at end of input.
 * Retries EINTR (unless cancelled) and waits on EAGAIN.
 */
static int read_some(struct vfmig_reader *r, void *buf, size_t len, size_t *got,
		     struct vfmig_err *err)
{
	if (r->chan) {
		ssize_t ret = vfmig_channel_read(r->chan, buf, len, r->cancel);

		if (ret == -ECANCELED)
			return bad(err, -ECANCELED, r->offset, "read cancelled");
		if (ret < 0)
			return bad(err, (int)ret, r->offset, "channel: %s", strerror((int)-ret));
		*got = (size_t)ret;
		return 0;
	}
	for (;;) {
		ssize_t ret = read(r->fd, buf, len);

		if (ret < 0) {
			if (errno == EINTR && vfmig_cancel_requested(r->cancel))
				return bad(err, -ECANCELED, r->offset, "read cancelled");
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = r->fd, .events = POLLIN };

				if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
					return bad(err, -errno, r->offset, "poll: %s", strerror(errno));
				continue;
			}
			return bad(err, -errno, r->offset, "read: %s", strerror(errno));
		}
		*got = (size_t)ret;
		return 0;
	}
}

/* Refill the buffer; 0 with r->eof set at end of input. */
static int fill(struct vfmig_reader *r, struct vfmig_err *err)
{
	size_t got = 0;
	int ret = read_some(r, r->buf, sizeof(r->buf), &got, err);

	if (ret)
		return ret;
	r->pos = 0;
	r->len = got;
	r->eof = got == 0;
	return 0;
}

/* Consume n bytes, copying them to out unless it is NULL. */
static int reader_take(struct vfmig_reader *r, uint8_t *out, uint64_t n, const char *what,
		       struct vfmig_err *err)
{
	uint64_t want = n;
	int ret;

	while (n) {
		size_t take = 0;

		if (r->pos == r->len && out && n >= sizeof(r->buf)) {
			/*
			 * Buffer empty and a big piece wanted (device data, e.g.
			 * straight into a mapping): read into it directly, saving
			 * a copy and most of the read calls.
			 */
			ret = read_some(r, out, n > (1u << 30) ? (size_t)1 << 30 : (size_t)n, &take, err);
			if (ret)
				return ret;
			if (!take)
				return vfmig_reader_truncated(r, what, want - n, want, err);
			out += take;
			r->offset += take;
			n -= take;
			continue;
		}
		if (r->pos == r->len) {
			ret = fill(r, err);
			if (ret)
				return ret;
			if (r->eof)
				return vfmig_reader_truncated(r, what, want - n, want, err);
		}
		take = r->len - r->pos;
		if (take > n)
			take = (size_t)n;
		if (out) {
			memcpy(out, r->buf + r->pos, take);
			out += take;
		}
		r->pos += take;
		r->offset += take;
		n -= take;
	}
	return 0;
}

/* Grow *buf to at least n bytes. */
static int reserve(uint8_t **buf, size_t *cap, size_t n)
{
	uint8_t *p;

	if (*cap >= n)
		return 0;
	p = realloc(*buf, n);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* Decode the current ZDATA item into dst (raw bytes). */
static int zdecode(struct vfmig_reader *r, uint8_t *dst, struct vfmig_err *err)
{
	struct vfmig_zreader *z = r->z;
	const char *why;
	int ret;

	ret = vfmig_codec_decode(&z->codec, z->in, (size_t)z->coded, dst, (size_t)z->raw, &why);
	if (ret == -ENOMEM)
		return bad(err, ret, z->at, "%s: out of memory", vfmig_codec_name(z->codec.codec));
	if (ret)
		return bad(err, -EBADMSG, z->coded_at,
			   "corrupt %s data in a compressed chunk (%" PRIu64 " bytes coded, %"
			   PRIu64 " raw): %s", vfmig_codec_name(z->codec.codec), z->coded,
			   z->raw, why);
	return 0;
}

/* n decoded bytes of the current ZDATA item, to out (or dropped). */
static int ztake(struct vfmig_reader *r, uint8_t *out, uint64_t n, const char *what,
		 struct vfmig_err *err)
{
	struct vfmig_zreader *z = r->z;
	int ret;

	if (n > z->left)
		return bad(err, -EPROTO, z->at,
			   "%s of %" PRIu64 " bytes runs past a compressed chunk of %" PRIu64
			   " bytes (%" PRIu64 " left)", what, n, z->raw, z->left);
	if (!z->decoded && out && n == z->raw) {
		/* The whole chunk at once: straight into the caller's buffer. */
		ret = zdecode(r, out, err);
		if (!ret)
			z->left = 0;
		return ret;
	}
	if (!z->decoded) {
		if (reserve(&z->out, &z->out_cap, (size_t)z->raw))
			return bad(err, -ENOMEM, z->at, "compressed chunk: out of memory");
		ret = zdecode(r, z->out, err);
		if (ret)
			return ret;
		z->decoded = true;
	}
	if (out)
		memcpy(out, z->out + (z->raw - z->left), (size_t)n);
	z->left -= n;
	return 0;
}

static bool zactive(const struct vfmig_reader *r)
{
	return r->z && r->z->left && !r->z->announced;
}

int vfmig_reader_get(struct vfmig_reader *r, void *p, size_t n, const char *what,
		     struct vfmig_err *err)
{
	if (zactive(r))
		return ztake(r, p, n, what, err);
	return reader_take(r, p, n, what, err);
}

int vfmig_reader_skip(struct vfmig_reader *r, uint64_t n, const char *what,
		      struct vfmig_err *err)
{
	if (zactive(r))
		return ztake(r, NULL, n, what, err);
	return reader_take(r, NULL, n, what, err);
}

int vfmig_reader_raw_fd(const struct vfmig_reader *r)
{
	return r->chan || zactive(r) ? -1 : r->fd;
}

size_t vfmig_reader_buffered(const struct vfmig_reader *r)
{
	return r->len - r->pos;
}

void vfmig_reader_moved(struct vfmig_reader *r, uint64_t n)
{
	r->offset += n;
}

int vfmig_reader_truncated(struct vfmig_reader *r, const char *what, uint64_t done,
			   uint64_t want, struct vfmig_err *err)
{
	r->eof = true;
	return bad(err, -EPIPE, r->offset,
		   "stream truncated inside %s (%" PRIu64 " of %" PRIu64 " bytes from offset %"
		   PRIu64 ")", what, done, want, r->offset - done);
}

int vfmig_reader_source(void *opaque, void *buf, size_t len, struct vfmig_err *err)
{
	return vfmig_reader_get(opaque, buf, len, "device data", err);
}

int vfmig_reader_get_u8(struct vfmig_reader *r, uint8_t *v, const char *what, struct vfmig_err *err)
{
	return vfmig_reader_get(r, v, 1, what, err);
}

int vfmig_reader_get_be32(struct vfmig_reader *r, uint32_t *v, const char *what, struct vfmig_err *err)
{
	uint32_t raw;
	int ret = vfmig_reader_get(r, &raw, 4, what, err);

	*v = ret ? 0 : be32toh(raw);
	return ret;
}

int vfmig_reader_get_be64(struct vfmig_reader *r, uint64_t *v, const char *what, struct vfmig_err *err)
{
	uint64_t raw;
	int ret = vfmig_reader_get(r, &raw, 8, what, err);

	*v = ret ? 0 : be64toh(raw);
	return ret;
}

/* The version 2 fields after the version. */
static int get_header_ext(struct vfmig_reader *r, struct vfmig_stream_params *p,
			  struct vfmig_err *err)
{
	uint16_t lanes, lane;
	int ret;

	unsigned int codec;

	ret = vfmig_reader_get_be32(r, &p->features, "stream features", err);
	if (ret)
		return ret;
	if (p->features & ~VFMIG_STREAM_F_KNOWN)
		return bad(err, -EPROTONOSUPPORT, 8,
			   "stream needs features 0x%08x this build does not have",
			   p->features & ~VFMIG_STREAM_F_KNOWN);
	/* A codec's library is opened at the first ZDATA item (compress.h). */
	for (codec = 1; codec <= VFMIG_CODEC_MAX; codec++)
		if (p->features & VFMIG_STREAM_F_CODEC(codec) && !vfmig_codec_built(codec))
			return bad(err, -EPROTONOSUPPORT, 8,
				   "stream is compressed with %s: not in this build",
				   vfmig_codec_name(codec));
	ret = vfmig_reader_get(r, &lanes, 2, "stream lanes", err);
	if (!ret)
		ret = vfmig_reader_get(r, &lane, 2, "stream lane", err);
	if (ret)
		return ret;
	p->lanes = be16toh(lanes);
	p->lane = be16toh(lane);
	if (!p->lanes || p->lanes > VFMIG_STREAM_MAX_LANES)
		return bad(err, -EPROTO, 12, "stream split over %u lanes (1..%u)", p->lanes,
			   VFMIG_STREAM_MAX_LANES);
	if (p->lane >= p->lanes)
		return bad(err, -EPROTO, 14, "stream lane %u of %u", p->lane, p->lanes);
	return 0;
}

int vfmig_stream_get_header(struct vfmig_reader *r, struct vfmig_err *err)
{
	uint32_t magic, version;
	int ret;

	ret = vfmig_reader_get_be32(r, &magic, "stream magic", err);
	if (ret)
		return ret;
	if (magic != VFMIG_STREAM_MAGIC)
		return bad(err, -EPROTO, 0, "bad magic 0x%08x, expected 0x%08x (\"VFMG\")",
			   magic, VFMIG_STREAM_MAGIC);
	ret = vfmig_reader_get_be32(r, &version, "stream version", err);
	if (ret)
		return ret;
	if (version != VFMIG_STREAM_VERSION && version != VFMIG_STREAM_VERSION_EXT)
		return bad(err, -EPROTONOSUPPORT, 4,
			   "unsupported stream version %u (this build reads versions %u and %u)",
			   version, VFMIG_STREAM_VERSION, VFMIG_STREAM_VERSION_EXT);
	r->params = (struct vfmig_stream_params){ .version = version, .lanes = 1 };
	return version == VFMIG_STREAM_VERSION ? 0 : get_header_ext(r, &r->params, err);
}

const char *vfmig_section_type_name(uint8_t type)
{
	switch (type) {
	case VFMIG_SECTION_EOF:		return "EOF";
	case VFMIG_SECTION_START:	return "START";
	case VFMIG_SECTION_PART:	return "PART";
	case VFMIG_SECTION_END:		return "END";
	case VFMIG_SECTION_FULL:	return "FULL";
	case VFMIG_SECTION_FOOTER:	return "FOOTER";
	}
	return "unknown";
}

const char *vfmig_tag_name(uint64_t tag)
{
	switch (tag) {
	case VFMIG_TAG_END_OF_STATE:	return "END_OF_STATE";
	case VFMIG_TAG_CONFIG:		return "CONFIG";
	case VFMIG_TAG_SETUP:		return "SETUP";
	case VFMIG_TAG_DATA:		return "DATA";
	case VFMIG_TAG_ZDATA:		return "ZDATA";
	}
	return "unknown";
}

static struct vfmig_stream_id *find_id(struct vfmig_reader *r, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < r->nr_ids; i++)
		if (r->ids[i].id == id)
			return &r->ids[i];
	return NULL;
}

static struct vfmig_stream_id *find_dev(struct vfmig_reader *r, const char *idstr,
					uint32_t instance)
{
	unsigned int i;

	for (i = 0; i < r->nr_ids; i++)
		if (r->ids[i].instance == instance && !strcmp(r->ids[i].idstr, idstr))
			return &r->ids[i];
	return NULL;
}

/* idstr, instance, version of a START or FULL section. */
static int get_section_names(struct vfmig_reader *r, struct vfmig_section *sec,
			     struct vfmig_err *err)
{
	uint8_t len;
	uint64_t at;
	unsigned int i;
	int ret;

	ret = vfmig_reader_get_u8(r, &len, "idstr length", err);
	if (ret)
		return ret;
	at = r->offset;
	if (!len)
		return bad(err, -EPROTO, at - 1, "%s section %u has an empty idstr",
			   vfmig_section_type_name(sec->type), sec->id);
	ret = vfmig_reader_get(r, sec->idstr, len, "idstr", err);
	if (ret)
		return ret;
	sec->idstr[len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)sec->idstr[i] < 0x20 || (unsigned char)sec->idstr[i] > 0x7e)
			return bad(err, -EPROTO, at + i,
				   "idstr of section %u has non-printable byte 0x%02x",
				   sec->id, (unsigned char)sec->idstr[i]);
	ret = vfmig_reader_get_be32(r, &sec->instance, "instance id", err);
	if (!ret)
		ret = vfmig_reader_get_be32(r, &sec->version, "version id", err);
	return ret;
}

static int check_open_at_eof(struct vfmig_reader *r, uint64_t at, struct vfmig_err *err)
{
	unsigned int i;

	for (i = 0; i < r->nr_ids; i++)
		if (r->ids[i].state == VFMIG_ID_OPEN)
			return bad(err, -EPROTO, at,
				   "EOF while section %u (\"%s\" instance %u) has no END section",
				   r->ids[i].id, r->ids[i].idstr, r->ids[i].instance);
	return 0;
}

static int track_named(struct vfmig_reader *r, struct vfmig_section *sec,
		       struct vfmig_err *err)
{
	struct vfmig_stream_id *e = find_id(r, sec->id);
	struct vfmig_stream_id *d = find_dev(r, sec->idstr, sec->instance);
	const char *type = vfmig_section_type_name(sec->type);

	if (e && (e->instance != sec->instance || strcmp(e->idstr, sec->idstr)))
		return bad(err, -EPROTO, sec->offset,
			   "%s section %u names \"%s\" instance %u but section %u is \"%s\" instance %u",
			   type, sec->id, sec->idstr, sec->instance, e->id, e->idstr, e->instance);
	if (!e && d)
		return bad(err, -EPROTO, sec->offset,
			   "%s section %u for \"%s\" instance %u, which already uses section %u",
			   type, sec->id, sec->idstr, sec->instance, d->id);
	if (sec->type == VFMIG_SECTION_START) {
		if (e)
			return bad(err, -EPROTO, sec->offset, "duplicate START for section %u (\"%s\")",
				   sec->id, sec->idstr);
	} else if (e) {
		if (e->state == VFMIG_ID_OPEN)
			return bad(err, -EPROTO, sec->offset,
				   "FULL section %u (\"%s\") before the END of its live state",
				   sec->id, sec->idstr);
		if (e->full_seen)
			return bad(err, -EPROTO, sec->offset, "duplicate FULL for section %u (\"%s\")",
				   sec->id, sec->idstr);
		e->full_seen = true;
		return 0;
	}
	if (r->nr_ids == VFMIG_STREAM_MAX_SECTIONS)
		return bad(err, -E2BIG, sec->offset, "more than %u sections in one stream",
			   VFMIG_STREAM_MAX_SECTIONS);
	e = &r->ids[r->nr_ids++];
	e->id = sec->id;
	e->instance = sec->instance;
	e->full_seen = sec->type == VFMIG_SECTION_FULL;
	e->state = e->full_seen ? VFMIG_ID_FULL_ONLY : VFMIG_ID_OPEN;
	memcpy(e->idstr, sec->idstr, sizeof(e->idstr));
	return 0;
}

int vfmig_stream_get_section(struct vfmig_reader *r, struct vfmig_section *sec,
			     struct vfmig_err *err)
{
	struct vfmig_stream_id *e;
	int ret;

	memset(sec, 0, sizeof(*sec));
	sec->offset = r->offset;
	ret = vfmig_reader_get_u8(r, &sec->type, "section type", err);
	if (ret)
		return ret;
	switch (sec->type) {
	case VFMIG_SECTION_EOF:
		ret = check_open_at_eof(r, sec->offset, err);
		return ret ? ret : 0;
	case VFMIG_SECTION_START:
	case VFMIG_SECTION_FULL:
	case VFMIG_SECTION_PART:
	case VFMIG_SECTION_END:
		break;
	default:
		return bad(err, -EPROTO, sec->offset, "unknown section type 0x%02x", sec->type);
	}
	ret = vfmig_reader_get_be32(r, &sec->id, "section id", err);
	if (ret)
		return ret;
	if (sec->type == VFMIG_SECTION_START || sec->type == VFMIG_SECTION_FULL) {
		ret = get_section_names(r, sec, err);
		if (!ret)
			ret = track_named(r, sec, err);
		return ret ? ret : 1;
	}
	e = find_id(r, sec->id);
	if (!e)
		return bad(err, -EPROTO, sec->offset, "%s section for unknown section id %u",
			   vfmig_section_type_name(sec->type), sec->id);
	if (e->state != VFMIG_ID_OPEN)
		return bad(err, -EPROTO, sec->offset, "%s section for section %u (\"%s\") %s",
			   vfmig_section_type_name(sec->type), sec->id, e->idstr,
			   e->state == VFMIG_ID_ENDED ? "after its END" : "which has no live state");
	if (sec->type == VFMIG_SECTION_END)
		e->state = VFMIG_ID_ENDED;
	sec->instance = e->instance;
	memcpy(sec->idstr, e->idstr, sizeof(sec->idstr));
	return 1;
}

int vfmig_stream_get_footer(struct vfmig_reader *r, const struct vfmig_section *sec,
			    struct vfmig_err *err)
{
	uint64_t at = r->offset;
	uint32_t id;
	uint8_t mark;
	int ret;

	ret = vfmig_reader_get_u8(r, &mark, "section footer", err);
	if (ret)
		return ret;
	if (mark != VFMIG_SECTION_FOOTER)
		return bad(err, -EPROTO, at,
			   "missing footer for %s section %u (\"%s\"): found 0x%02x instead of 0x%02x",
			   vfmig_section_type_name(sec->type), sec->id, sec->idstr, mark,
			   VFMIG_SECTION_FOOTER);
	ret = vfmig_reader_get_be32(r, &id, "footer section id", err);
	if (ret)
		return ret;
	if (id != sec->id)
		return bad(err, -EPROTO, at, "mismatched section id %u in footer of section %u (\"%s\")",
			   id, sec->id, sec->idstr);
	return 0;
}

int vfmig_stream_get_end(struct vfmig_reader *r, struct vfmig_err *err)
{
	int ret;

	if (r->pos == r->len) {
		ret = fill(r, err);
		if (ret)
			return ret;
	}
	if (r->pos != r->len)
		return bad(err, -EPROTO, r->offset, "trailing data after the EOF marker");
	return 0;
}

/* The rest of a ZDATA item, read whole and checked before decoding. */
static int get_zdata(struct vfmig_reader *r, uint64_t at, struct vfmig_err *err)
{
	struct vfmig_zreader *z = r->z;
	uint64_t raw, coded, bound;
	const char *why;
	uint8_t codec;
	int ret;

	ret = vfmig_reader_get_be64(r, &raw, "compressed chunk raw size", err);
	if (!ret)
		ret = vfmig_reader_get_be64(r, &coded, "compressed chunk coded size", err);
	if (!ret)
		ret = vfmig_reader_get_u8(r, &codec, "compressed chunk codec", err);
	if (ret)
		return ret;
	if (!codec || codec > VFMIG_CODEC_MAX ||
	    !(r->params.features & VFMIG_STREAM_F_CODEC(codec)))
		return bad(err, -EPROTO, at,
			   "compressed chunk with codec %u, which the stream header does not announce",
			   codec);
	if (!raw || raw > VFMIG_STREAM_MAX_ZDATA)
		return bad(err, -EFBIG, at,
			   "compressed chunk raw size %" PRIu64 " outside 1..%u", raw,
			   VFMIG_STREAM_MAX_ZDATA);
	why = vfmig_codec_unavailable(codec);
	if (why)
		return bad(err, -EPROTONOSUPPORT, at, "stream is compressed with %s: %s",
			   vfmig_codec_name(codec), why);
	bound = vfmig_codec_bound(codec, (size_t)raw);
	if (!coded || coded > bound)
		return bad(err, -EPROTO, at,
			   "compressed chunk coded size %" PRIu64 " outside 1..%" PRIu64
			   " (the %s bound of %" PRIu64 " raw bytes)", coded, bound,
			   vfmig_codec_name(codec), raw);
	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z)
			return bad(err, -ENOMEM, at, "compressed chunk: out of memory");
		r->z = z;
	}
	if (z->codec.codec != codec) {
		vfmig_codec_ctx_fini(&z->codec);
		vfmig_codec_ctx_init(&z->codec, codec, 0);
	}
	if (reserve(&z->in, &z->in_cap, (size_t)coded))
		return bad(err, -ENOMEM, at, "compressed chunk: out of memory");
	z->coded_at = r->offset;
	ret = reader_take(r, z->in, coded, "compressed chunk", err);
	if (ret)
		return ret;
	z->at = at;
	z->raw = z->left = raw;
	z->coded = coded;
	z->announced = true;
	z->decoded = false;
	return 0;
}

bool vfmig_stream_last_coded(const struct vfmig_reader *r, uint64_t *raw, uint64_t *coded)
{
	if (!r->z || !r->z->last_coded)
		return false;
	*raw = r->z->raw;
	*coded = r->z->coded;
	return true;
}

int vfmig_stream_get_tag(struct vfmig_reader *r, uint64_t *tag, struct vfmig_err *err)
{
	uint64_t at = r->offset;
	int ret;

	if (r->z && r->z->left)
		return bad(err, -EPROTO, r->z->at,
			   "payload tag inside a compressed chunk (%" PRIu64 " of its %" PRIu64
			   " bytes not read)", r->z->left, r->z->raw);
	if (r->z)
		r->z->last_coded = false;
	ret = vfmig_reader_get_be64(r, tag, "payload tag", err);
	if (ret)
		return ret;
	switch (*tag) {
	case VFMIG_TAG_END_OF_STATE:
	case VFMIG_TAG_CONFIG:
	case VFMIG_TAG_SETUP:
	case VFMIG_TAG_DATA:
		return 0;
	case VFMIG_TAG_ZDATA:
		if (!(r->params.features & VFMIG_STREAM_F_CODECS))
			break;
		ret = get_zdata(r, at, err);
		if (ret)
			return ret;
		r->z->last_coded = true;
		*tag = VFMIG_TAG_DATA;
		return 0;
	}
	return bad(err, -EPROTO, at, "unknown payload tag 0x%016" PRIx64, *tag);
}

int vfmig_stream_get_size(struct vfmig_reader *r, uint64_t max, const char *what,
			  uint64_t *size, struct vfmig_err *err)
{
	uint64_t at = r->offset;
	int ret;

	if (r->z && r->z->announced) {
		/* The DATA chunk a ZDATA item decodes to. */
		r->z->announced = false;
		*size = r->z->raw;
		at = r->z->at;
	} else {
		ret = vfmig_reader_get_be64(r, size, what, err);
		if (ret)
			return ret;
	}
	if (*size > max)
		return bad(err, -EFBIG, at, "%s %" PRIu64 " exceeds the limit of %" PRIu64,
			   what, *size, max);
	return 0;
}

/* ---- inspect ---- */

struct payload_summary {
	bool setup;
	uint64_t chunks, data_bytes, config_blobs, config_bytes;
	uint64_t zchunks, zraw, zcoded;
};

static int walk_payload(struct vfmig_reader *r, struct payload_summary *s,
			struct vfmig_err *err)
{
	uint64_t tag, size, raw, coded;
	int ret;

	for (;;) {
		ret = vfmig_stream_get_tag(r, &tag, err);
		if (ret)
			return ret;
		switch (tag) {
		case VFMIG_TAG_END_OF_STATE:
			return 0;
		case VFMIG_TAG_SETUP:
			s->setup = true;
			continue;
		case VFMIG_TAG_DATA:
			if (vfmig_stream_last_coded(r, &raw, &coded)) {
				s->zchunks++;
				s->zraw += raw;
				s->zcoded += coded;
			}
			ret = vfmig_stream_get_size(r, VFMIG_STREAM_MAX_DATA, "data chunk size",
						    &size, err);
			/* Skipping a compressed chunk decodes it: corruption shows here. */
			if (!ret)
				ret = vfmig_reader_skip(r, size, "data chunk", err);
			s->chunks++;
			s->data_bytes += size;
			break;
		default:	/* CONFIG */
			ret = vfmig_stream_get_size(r, VFMIG_STREAM_MAX_CONFIG, "config size",
						    &size, err);
			if (!ret)
				ret = vfmig_reader_skip(r, size, "config blob", err);
			s->config_blobs++;
			s->config_bytes += size;
			break;
		}
		if (ret)
			return ret;
	}
}

int vfmig_stream_inspect(int fd, FILE *out, struct vfmig_inspect_totals *totals,
			 struct vfmig_err *err)
{
	struct vfmig_inspect_totals t = { 0 };
	struct vfmig_section sec;
	struct vfmig_reader *r;
	int ret;

	r = malloc(sizeof(*r));
	if (!r)
		return vfmig_err_set(err, -ENOMEM, "inspect: out of memory");
	vfmig_reader_init(r, fd);
	ret = vfmig_stream_get_header(r, err);
	if (ret)
		goto out;
	fprintf(out, "stream: magic 0x%08x (VFMG) version %u", VFMIG_STREAM_MAGIC,
		r->params.version);
	if (r->params.version == VFMIG_STREAM_VERSION_EXT) {
		unsigned int codec;

		fprintf(out, " features 0x%08x", r->params.features);
		for (codec = 1; codec <= VFMIG_CODEC_MAX; codec++)
			if (r->params.features & VFMIG_STREAM_F_CODEC(codec))
				fprintf(out, " (%s)", vfmig_codec_name(codec));
		fprintf(out, " lane %u of %u", r->params.lane, r->params.lanes);
	}
	fputc('\n', out);
	for (;;) {
		struct payload_summary s = { 0 };

		ret = vfmig_stream_get_section(r, &sec, err);
		if (ret < 0)
			goto out;
		if (ret == 0) {
			fprintf(out, "@%" PRIu64 ": EOF\n", sec.offset);
			break;
		}
		ret = walk_payload(r, &s, err);
		if (!ret)
			ret = vfmig_stream_get_footer(r, &sec, err);
		if (ret)
			goto out;
		t.sections++;
		t.chunks += s.chunks;
		t.data_bytes += s.data_bytes;
		t.config_bytes += s.config_bytes;
		t.zchunks += s.zchunks;
		t.zraw_bytes += s.zraw;
		t.zcoded_bytes += s.zcoded;
		fprintf(out, "@%" PRIu64 ": %-5s id %u \"%s\" instance %u", sec.offset,
			vfmig_section_type_name(sec.type), sec.id, sec.idstr, sec.instance);
		if (sec.type == VFMIG_SECTION_START || sec.type == VFMIG_SECTION_FULL)
			fprintf(out, " version %u", sec.version);
		/* A vfmig device's section version is the protocol that saved it. */
		if (sec.type == VFMIG_SECTION_START && !strcmp(sec.idstr, "vfmig") &&
		    (sec.version == 1 || sec.version == 2))
			fprintf(out, " (protocol v%u)", sec.version);
		fprintf(out, ":%s %" PRIu64 " chunks, %" PRIu64 " data bytes",
			s.setup ? " setup," : "", s.chunks, s.data_bytes);
		if (s.zchunks)
			fprintf(out, " (%" PRIu64 " compressed: %" PRIu64 " raw bytes as %" PRIu64
				")", s.zchunks, s.zraw, s.zcoded);
		if (s.config_blobs)
			fprintf(out, ", config %" PRIu64 " bytes", s.config_bytes);
		fprintf(out, "\n");
	}
	ret = vfmig_stream_get_end(r, err);
	if (ret)
		goto out;
	t.bytes = r->offset;
	fprintf(out, "total: %" PRIu64 " bytes, %u sections, %" PRIu64 " chunks, %" PRIu64
		" data bytes, %" PRIu64 " config bytes\n",
		t.bytes, t.sections, t.chunks, t.data_bytes, t.config_bytes);
	if (t.zchunks)
		fprintf(out, "compressed: %" PRIu64 " of %" PRIu64 " chunks, %" PRIu64
			" raw bytes as %" PRIu64 " coded (ratio %.2f)\n", t.zchunks, t.chunks,
			t.zraw_bytes, t.zcoded_bytes,
			t.zcoded_bytes ? (double)t.zraw_bytes / (double)t.zcoded_bytes : 0.0);
	if (totals)
		*totals = t;
out:
	vfmig_reader_fini(r);
	free(r);
	return ret < 0 ? ret : 0;
}
