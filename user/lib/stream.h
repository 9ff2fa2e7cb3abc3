/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vfmig migration stream: a versioned, section-based format modelled on
 * QEMU's savevm stream (see Documentation/stream-format.md).
 *
 *   stream   := be32 MAGIC, be32 VERSION, section*, u8 EOF
 *   section  := START|FULL: u8 type, be32 id, u8 len, idstr[len],
 *                           be32 instance, be32 version, payload, footer
 *             | PART|END:   u8 type, be32 id, payload, footer
 *   footer   := u8 0x7e, be32 id
 *   payload  := item* be64 END_OF_STATE
 *   item     := be64 SETUP | be64 DATA be64 size bytes | be64 CONFIG be64 size bytes
 *
 * The writer buffers on top of any fd (file, pipe, socket) or an in-process
 * channel.  The reader
 * checks everything and reports the first inconsistency with its offset.
 */
#ifndef VFMIG_STREAM_H
#define VFMIG_STREAM_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cancel.h"
#include "channel.h"
#include "errbuf.h"

#define VFMIG_STREAM_MAGIC		0x56464d47u	/* "VFMG" */
#define VFMIG_STREAM_VERSION		1u
/*
 * Version 2 adds, after the version: be32 features, be16 lanes, be16 lane.
 * A writer emits version 1 whenever it needs none of it (no feature bit,
 * one lane), so a plain stream stays readable by older builds.
 */
#define VFMIG_STREAM_VERSION_EXT	2u
/*
 * Feature bits: what the reader must understand to load the stream.  A
 * codec bit means DATA chunks may come as ZDATA items coded with it.
 */
#define VFMIG_STREAM_F_ZSTD		(1u << 0)
#define VFMIG_STREAM_F_LZ4		(1u << 1)
/* The codec bit of codec (compress.h's VFMIG_CODEC_*, 1..). */
#define VFMIG_STREAM_F_CODEC(codec)	(1u << ((codec) - 1))
#define VFMIG_STREAM_F_CODECS		(VFMIG_STREAM_F_ZSTD | VFMIG_STREAM_F_LZ4)
/* Every bit defined; a build reads those of the codecs it has and can open. */
#define VFMIG_STREAM_F_KNOWN		VFMIG_STREAM_F_CODECS
/* A stream may be split over this many lanes (channels, connections). */
#define VFMIG_STREAM_MAX_LANES		16u

#define VFMIG_SECTION_EOF		0x00
#define VFMIG_SECTION_START		0x01
#define VFMIG_SECTION_PART		0x02
#define VFMIG_SECTION_END		0x03
#define VFMIG_SECTION_FULL		0x04
#define VFMIG_SECTION_FOOTER		0x7e

/* Per-device payload tags, the same values as QEMU's VFIO v1 markers. */
#define VFMIG_TAG_END_OF_STATE		0xffffffffef100001ULL
#define VFMIG_TAG_CONFIG		0xffffffffef100002ULL
#define VFMIG_TAG_SETUP			0xffffffffef100003ULL
#define VFMIG_TAG_DATA			0xffffffffef100004ULL
/*
 * A compressed DATA chunk (vfmig's own; QEMU uses ...05 and up):
 * be64 ZDATA, be64 raw size, be64 coded size, u8 codec, coded bytes.  The
 * reader hands it to device handlers as the DATA chunk it decodes to.
 */
#define VFMIG_TAG_ZDATA			0xffffffffef10f001ULL

/* Explicit upper bounds checked before anything is sized from the stream. */
#define VFMIG_STREAM_MAX_DATA		(1ULL << 30)	/* one device data chunk */
/* One ZDATA's raw size: bounds the reader's decode buffer. */
#define VFMIG_STREAM_MAX_ZDATA		(16u << 20)
/* The writer codes DATA in blocks of this much, ... */
#define VFMIG_STREAM_ZBLOCK		(1u << 20)
/* ... and sends a block raw if its first this-many bytes do not shrink. */
#define VFMIG_STREAM_ZSAMPLE		(64u << 10)
#define VFMIG_STREAM_MAX_CONFIG		65536u		/* one config blob */
#define VFMIG_STREAM_MAX_SECTIONS	64u		/* distinct section ids */
#define VFMIG_IDSTR_MAX			255u

#define VFMIG_STREAM_BUF		65536u

/* What the header of a stream announces (version 2 fields). */
struct vfmig_stream_params {
	uint32_t version;	/* as read; the writer derives it */
	uint32_t features;	/* VFMIG_STREAM_F_* */
	uint16_t lanes;		/* 1..VFMIG_STREAM_MAX_LANES */
	uint16_t lane;		/* this stream's lane, 0..lanes-1 */
};

/* Where a stream goes to or comes from: a file descriptor, or a channel. */
struct vfmig_endpoint {
	int fd;				/* used when chan is NULL */
	struct vfmig_channel *chan;	/* an in-process channel (channel.h) */
};

struct vfmig_zwriter;	/* stream.c: the DATA block being coded */
struct vfmig_zreader;	/* stream.c: the ZDATA item being handed out */

struct vfmig_writer {
	int fd;
	struct vfmig_channel *chan;	/* instead of fd, if set */
	vfmig_cancel_t *cancel;	/* optional: an interrupted write gives up */
	size_t len;		/* bytes buffered */
	uint64_t offset;	/* bytes accepted so far (stream position) */
	int error;		/* sticky -errno */
	bool is_socket;
	struct vfmig_stream_params params;	/* what put_header writes */
	struct vfmig_zwriter *z;	/* set by vfmig_writer_set_compress */
	uint64_t raw_data, coded_data;	/* DATA bytes given, and as sent */
	uint64_t trials;		/* blocks or samples a codec ran on */
	uint8_t buf[VFMIG_STREAM_BUF];
};

void vfmig_writer_init(struct vfmig_writer *w, int fd);
void vfmig_writer_init_endpoint(struct vfmig_writer *w, const struct vfmig_endpoint *ep);
int vfmig_writer_put(struct vfmig_writer *w, const void *p, size_t n, struct vfmig_err *err);
int vfmig_writer_put_u8(struct vfmig_writer *w, uint8_t v, struct vfmig_err *err);
int vfmig_writer_put_be32(struct vfmig_writer *w, uint32_t v, struct vfmig_err *err);
int vfmig_writer_put_be64(struct vfmig_writer *w, uint64_t v, struct vfmig_err *err);
int vfmig_writer_flush(struct vfmig_writer *w, struct vfmig_err *err);
/*
 * Code DATA chunks with codec (compress.h; level 0: its default) from now
 * on, and announce it in the header.  Only for an fd: a channel moves
 * data in place, uncompressed.  vfmig_writer_fini frees what it allocates.
 */
int vfmig_writer_set_compress(struct vfmig_writer *w, unsigned int codec, int level,
			      struct vfmig_err *err);
void vfmig_writer_fini(struct vfmig_writer *w);
/* Adapter with the vfmig_sink_fn signature (opaque = writer). */
int vfmig_writer_sink(void *opaque, const void *buf, size_t len, struct vfmig_err *err);
/*
 * Over a channel only: n bytes that fill() writes straight into the reader's
 * buffer (see vfmig_channel_write_fill).  vfmig_writer_sink_fill is the
 * adapter with the vfmig_sink_fill_fn signature.
 */
bool vfmig_writer_can_fill(const struct vfmig_writer *w);
int vfmig_writer_put_fill(struct vfmig_writer *w, size_t n, vfmig_channel_fill_fn fill,
			  void *fill_ctx, struct vfmig_err *err);
int vfmig_writer_sink_fill(void *opaque, size_t len, vfmig_channel_fill_fn fill,
			   void *fill_ctx, struct vfmig_err *err);

/*
 * For splice(2) past the buffer: the fd DATA bytes may go to directly (a
 * plain fd, no compression, no error), else -1.  The caller flushes first
 * and accounts the bytes it moved with vfmig_writer_moved.
 */
int vfmig_writer_raw_fd(const struct vfmig_writer *w);
void vfmig_writer_moved(struct vfmig_writer *w, uint64_t n);

/* Writes w->params (version 1 when nothing in it needs version 2). */
int vfmig_stream_put_header(struct vfmig_writer *w, struct vfmig_err *err);
/* idstr/instance/version are only written for START and FULL. */
int vfmig_stream_put_section(struct vfmig_writer *w, uint8_t type, uint32_t id,
			     const char *idstr, uint32_t instance, uint32_t version,
			     struct vfmig_err *err);
int vfmig_stream_put_footer(struct vfmig_writer *w, uint32_t id, struct vfmig_err *err);
int vfmig_stream_put_eof(struct vfmig_writer *w, struct vfmig_err *err);
int vfmig_stream_put_tag(struct vfmig_writer *w, uint64_t tag, struct vfmig_err *err);
/* tag + be64 size; the caller then writes exactly size bytes. */
int vfmig_stream_put_blob(struct vfmig_writer *w, uint64_t tag, uint64_t size,
			  struct vfmig_err *err);

enum vfmig_id_state { VFMIG_ID_OPEN = 1, VFMIG_ID_ENDED, VFMIG_ID_FULL_ONLY };

struct vfmig_stream_id {
	uint32_t id;
	uint8_t state;		/* enum vfmig_id_state */
	bool full_seen;
	uint32_t instance;
	char idstr[VFMIG_IDSTR_MAX + 1];
};

struct vfmig_reader {
	int fd;
	struct vfmig_channel *chan;	/* instead of fd, if set */
	vfmig_cancel_t *cancel;	/* optional: an interrupted read gives up */
	size_t pos, len;	/* window of buf not consumed yet */
	uint64_t offset;	/* stream offset of buf[pos] */
	bool eof;
	struct vfmig_stream_params params;	/* what get_header read */
	struct vfmig_zreader *z;	/* made by the first ZDATA item */
	unsigned int nr_ids;
	struct vfmig_stream_id ids[VFMIG_STREAM_MAX_SECTIONS];
	uint8_t buf[VFMIG_STREAM_BUF];
};

struct vfmig_section {
	uint8_t type;
	uint32_t id;
	uint32_t instance;	/* START/FULL; for PART/END copied from START */
	uint32_t version;	/* START/FULL only */
	uint64_t offset;	/* stream offset of the type byte */
	char idstr[VFMIG_IDSTR_MAX + 1];
};

void vfmig_reader_init(struct vfmig_reader *r, int fd);
void vfmig_reader_init_endpoint(struct vfmig_reader *r, const struct vfmig_endpoint *ep);
void vfmig_reader_fini(struct vfmig_reader *r);
static inline uint64_t vfmig_reader_offset(const struct vfmig_reader *r) { return r->offset; }
/* Exactly n bytes; truncation is reported with what and the offset. */
int vfmig_reader_get(struct vfmig_reader *r, void *p, size_t n, const char *what,
		     struct vfmig_err *err);
int vfmig_reader_get_u8(struct vfmig_reader *r, uint8_t *v, const char *what, struct vfmig_err *err);
int vfmig_reader_get_be32(struct vfmig_reader *r, uint32_t *v, const char *what, struct vfmig_err *err);
int vfmig_reader_get_be64(struct vfmig_reader *r, uint64_t *v, const char *what, struct vfmig_err *err);
int vfmig_reader_skip(struct vfmig_reader *r, uint64_t n, const char *what, struct vfmig_err *err);
/*
 * For splice(2) past the buffer: the fd the current DATA bytes may come
 * from directly (a plain fd, not a compressed chunk), else -1; only once
 * vfmig_reader_buffered() is 0.  vfmig_reader_moved accounts what the
 * caller moved, vfmig_reader_truncated reports an end of input inside it.
 */
int vfmig_reader_raw_fd(const struct vfmig_reader *r);
size_t vfmig_reader_buffered(const struct vfmig_reader *r);
void vfmig_reader_moved(struct vfmig_reader *r, uint64_t n);
int vfmig_reader_truncated(struct vfmig_reader *r, const char *what, uint64_t done,
			   uint64_t want, struct vfmig_err *err);
/* Adapter with the vfmig_source_fn signature (opaque = reader). */
int vfmig_reader_source(void *opaque, void *buf, size_t len, struct vfmig_err *err);

/* Fills r->params; unknown feature bits and bad lane numbers are refused. */
int vfmig_stream_get_header(struct vfmig_reader *r, struct vfmig_err *err);
/* 1 and *sec filled for a section, 0 at the EOF marker, -errno on error. */
int vfmig_stream_get_section(struct vfmig_reader *r, struct vfmig_section *sec,
			     struct vfmig_err *err);
int vfmig_stream_get_footer(struct vfmig_reader *r, const struct vfmig_section *sec,
			    struct vfmig_err *err);
/* After EOF: nothing may follow. */
int vfmig_stream_get_end(struct vfmig_reader *r, struct vfmig_err *err);
/*
 * A known payload tag.  A ZDATA item is read whole and returned as DATA:
 * get_size then gives its raw size and get/skip its decoded bytes.
 */
int vfmig_stream_get_tag(struct vfmig_reader *r, uint64_t *tag, struct vfmig_err *err);
/* A be64 size, refused above max. */
int vfmig_stream_get_size(struct vfmig_reader *r, uint64_t max, const char *what,
			  uint64_t *size, struct vfmig_err *err);

const char *vfmig_section_type_name(uint8_t type);
const char *vfmig_tag_name(uint64_t tag);

/* After get_tag gave DATA: whether it came as ZDATA, and its sizes. */
bool vfmig_stream_last_coded(const struct vfmig_reader *r, uint64_t *raw, uint64_t *coded);

/* Totals gathered by vfmig_stream_inspect(). */
struct vfmig_inspect_totals {
	uint64_t bytes;		/* whole stream */
	unsigned int sections;
	uint64_t chunks;
	uint64_t data_bytes;	/* raw (decoded) */
	uint64_t zchunks;	/* of chunks, how many came compressed */
	uint64_t zraw_bytes, zcoded_bytes;	/* their raw and coded sizes */
	uint64_t config_bytes;
};

/* Walk a stream without a device and print its structure to out. */
int vfmig_stream_inspect(int fd, FILE *out, struct vfmig_inspect_totals *totals,
			 struct vfmig_err *err);

#endif /* VFMIG_STREAM_H */
