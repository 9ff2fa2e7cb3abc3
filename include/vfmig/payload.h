/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The vfmig device payload: the record stream a saving device hands out
 * through its migration data (and a resuming device validates), whatever
 * carries it: the v1 region's data section, a file, another engine.  It is
 * the device's own format, inside one "device state" section of the
 * engine's stream (user/lib/stream.h, Documentation/stream-format.md),
 * which has its own, different magic.
 *
 *	record := hdr payload[hdr.len]
 *	hdr    := le32 magic "VFRC", le16 kind, le16 flags (0), le32 seq,
 *		  le32 len, le64 offset, le32 crc32_le(~0) of the 24 bytes before
 *
 * Version 3 adds ZERO records (all-zero pages named, not sent); version 4
 * lets a PAGES record carry up to VFMIG_PAYLOAD_MAX_RUN_PAGES pages, which a
 * device with a direct data window sends as one chunk of its own memory;
 * version 5 adds SPARSE records (a span whose zero pages are named in a
 * bitmap and whose other pages follow it).  A resuming device still accepts
 * version 2, 3 and 4 streams.
 *
 * The rules (sequence numbers, page alignment, the END digest) are in
 * kernel/payload.c and Documentation/device.md.
 */
#ifndef VFMIG_PAYLOAD_H
#define VFMIG_PAYLOAD_H

#include <linux/types.h>

#define VFMIG_PAYLOAD_REC_MAGIC	0x43524656u		/* "VFRC" */
#define VFMIG_PAYLOAD_MAGIC	0x31545347494d4656ULL	/* "VFMIGST1", in HEADER */
#define VFMIG_PAYLOAD_VERSION	5
/* The first version with ZERO records; before it, PAGES of at most MAX_PAGES. */
#define VFMIG_PAYLOAD_VERSION_ZERO	3
/* The first with PAGES records of up to MAX_RUN_PAGES. */
#define VFMIG_PAYLOAD_VERSION_RUN	4
/* The first with SPARSE records. */
#define VFMIG_PAYLOAD_VERSION_SPARSE	5
/* The oldest version (no ZERO records), still accepted on resume. */
#define VFMIG_PAYLOAD_VERSION_PREV	2
/* A PAGES record carries 1 to this many whole pages (versions 2 and 3)... */
#define VFMIG_PAYLOAD_MAX_PAGES	16
/* ...and, since version 4, up to this many (4 MiB): one direct-window run. */
#define VFMIG_PAYLOAD_MAX_RUN_PAGES	1024
/* A ZERO record names 1 to this many whole pages (4 MiB). */
#define VFMIG_PAYLOAD_MAX_ZERO_PAGES	1024
/* A SPARSE record spans 2 to this many pages and carries 1 to MAX_PAGES. */
#define VFMIG_PAYLOAD_MAX_SPARSE_PAGES	1024

enum vfmig_rec_kind {
	VFMIG_REC_HEADER = 1,	/* seq 0: struct vfmig_rec_header */
	VFMIG_REC_PAGES = 2,	/* len bytes of device memory at hdr.offset */
	VFMIG_REC_END = 3,	/* struct vfmig_rec_end; verifies the state */
	VFMIG_REC_ZERO = 4,	/* struct vfmig_rec_zero: all-zero pages at hdr.offset */
	VFMIG_REC_SPARSE = 5,	/* struct vfmig_rec_sparse: some pages sent, the rest zero */
};

struct vfmig_rec_hdr {
	__le32 magic;
	__le16 kind;
	__le16 flags;
	__le32 seq;
	__le32 len;
	__le64 offset;
	__le32 crc;		/* of the fields above */
} __attribute__((packed));

struct vfmig_rec_header {
	__le64 magic;
	__le32 version;
	__le32 type_code;
	__le64 state_size;
} __attribute__((packed));

/*
 * The span is in the payload, not in hdr.len, so that every record is still
 * hdr plus hdr.len bytes for anything walking a stream.
 */
struct vfmig_rec_zero {
	__le64 bytes;		/* whole pages, 1..VFMIG_PAYLOAD_MAX_ZERO_PAGES */
} __attribute__((packed));

/*
 * A stretch of memory where a few pages are not zero (version 5): one record
 * instead of a PAGES and a ZERO record per such page.  After this comes
 * le64 map[DIV_ROUND_UP(pages, 64)]: bit i (of word i / 64, counted from its
 * least significant bit) set when page i of the span is sent, clear when it
 * is all zero; the bits past @pages are clear.  Then the @sent pages whose
 * bits are set, in order.  hdr.len = 8 + 8 * words + sent * PAGE_SIZE.
 */
struct vfmig_rec_sparse {
	__le32 pages;		/* the span, 2..VFMIG_PAYLOAD_MAX_SPARSE_PAGES */
	__le32 sent;		/* pages sent, 1..min(pages - 1, VFMIG_PAYLOAD_MAX_PAGES) */
} __attribute__((packed));

#define VFMIG_SPARSE_MAP_WORDS(pages)	(((pages) + 63) / 64)

struct vfmig_rec_end {
	__le64 generation;
	__le64 seed;
	__le64 scratch;
	__le64 checksum;	/* digest of the page hashes and registers */
} __attribute__((packed));

#define VFMIG_REC_HDR_LEN	sizeof(struct vfmig_rec_hdr)
#define VFMIG_REC_HDR_CRC_SPAN	24	/* bytes of the header the crc covers */

#endif /* VFMIG_PAYLOAD_H */
