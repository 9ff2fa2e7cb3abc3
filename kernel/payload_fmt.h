/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device payload's record parser (payload_parse.c) and what it shares
 * with payload.c; the format itself is include/vfmig/payload.h.  Both build in the kernel and, for
 * the host fuzz target, in user space with tests/fuzz/payload_host.h in
 * place of the kernel headers.
 */
#ifndef VFMIG_PAYLOAD_FMT_H
#define VFMIG_PAYLOAD_FMT_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include "payload_host.h"
#endif

#include "vfmig/payload.h"

#define VFMIG_REC_MAX		(VFMIG_REC_HDR_LEN + VFMIG_PAYLOAD_MAX_PAGES * PAGE_SIZE)
/* A SPARSE record's count and longest map: what comes before its pages. */
#define VFMIG_SPARSE_HEAD_MAX	(sizeof(struct vfmig_rec_sparse) + \
				 8 * VFMIG_SPARSE_MAP_WORDS(VFMIG_PAYLOAD_MAX_SPARSE_PAGES))
/* The longest SPARSE record: its head and VFMIG_PAYLOAD_MAX_PAGES pages. */
#define VFMIG_REC_SPARSE_MAX	(VFMIG_REC_MAX + VFMIG_SPARSE_HEAD_MAX)
/*
 * The most the resume parser assembles in one record: a SPARSE head (longer
 * than a HEADER, ZERO or END payload); page payloads go straight to device
 * memory.
 */
#define VFMIG_REC_SMALL_MAX	(VFMIG_REC_HDR_LEN + VFMIG_SPARSE_HEAD_MAX)

/*
 * Bit @i of a SPARSE map as it lies in the record (le64 words, least
 * significant bit first): byte i / 8, bit i % 8, whatever the alignment.
 */
static inline bool vfmig_sparse_bit(const u8 *map, u32 i)
{
	return map[i / 8] >> (i % 8) & 1;
}

/* Registers that are part of the device state besides its memory. */
struct vfmig_regs {
	u64 generation;			/* bumped by every dirtying pass */
	u64 seed;			/* last seed written through sysfs */
	u32 scratch;			/* guest-writable BAR0 register */
};

/* Resume side: an incremental parser of that record stream. */
struct vfmig_resume {
	bool active;
	bool failed;			/* bad data seen: only reset helps */
	bool complete;			/* end record verified */
	bool applied;			/* memory or registers written */
	bool offset_read;		/* data_offset read for this chunk */
	u64 offset;			/* where the current chunk goes */
	u32 seq;			/* expected sequence number */
	bool header_seen;
	u32 version;			/* the HEADER's, once seen */
	/*
	 * The record being parsed: its header, and a small record's payload
	 * or a SPARSE record's count and map, assembled here
	 * (VFMIG_REC_SMALL_MAX bytes); page payloads (a PAGES record's, a
	 * SPARSE record's sent pages) land in device memory instead.
	 */
	u8 *rec;
	u32 rec_len, rec_pos;		/* rec_len 0: header still incomplete */
	__le64 *page_hash;		/* per page, as last applied */
	size_t page_hash_size;		/* bytes, as allocated */
	unsigned int window;
	/* In a SPARSE record: its head's length once its count is in... */
	u32 sparse_head;
	/* ...and the page of its span the next page bytes belong to. */
	u32 sparse_page;
};

/* What the resume parser may see and change of a device. */
struct vfmig_payload_target {
	u8 *mem;			/* device memory, mem_size bytes */
	u64 mem_size;			/* a multiple of PAGE_SIZE */
	u32 type_code;			/* the stream's HEADER must name it */
	struct vfmig_regs *regs;	/* set from the END record */
	/*
	 * Per page, set: known to be all zero (NULL: nothing known).  The
	 * parser keeps it true: a ZERO record skips the pages already zero
	 * and sets the rest, a PAGES record clears its pages, a SPARSE record
	 * does the one for its zero pages and the other for its sent ones.
	 */
	unsigned long *zero_map;
	/* Takes the page hashes off the parser's path; NULL: hashed here. */
	struct vfmig_hasher *hasher;
	/*
	 * Page bytes may be waiting on the hasher's queue (chunk_offload): zero
	 * pages are then cleared on the queue too, in order behind them.
	 */
	bool copies_queued;
};

/*
 * The page hasher (hasher.c): queue pages [first, first + n) to be hashed
 * by vfmig_payload_hash_span() on its worker; false when it takes none now
 * (the caller hashes them itself).  zero: queue a clear of @n bytes at
 * @dst the same way (false: the caller clears).  drain: wait until all
 * queued are.  The host build has no worker: payload_host.h says so.
 */
struct vfmig_hasher;
#ifdef __KERNEL__
bool vfmig_hasher_queue(struct vfmig_hasher *h, u64 first, u64 n, bool bytes_only);
bool vfmig_hasher_zero(struct vfmig_hasher *h, u8 *dst, u64 n);
void vfmig_hasher_drain(struct vfmig_hasher *h);
#endif

/* Seeds the hash of an all-zero page's index ("ZERO"). */
#define VFMIG_ZERO_HASH_SEED	0x5a45524fULL

/*
 * page_hash[first + i] := the hash of page i at @p: xxh64 of its bytes
 * seeded with its index, or, since version 3, for an all-zero page
 * splitmix64(index ^ VFMIG_ZERO_HASH_SEED), which costs nothing next to
 * hashing 4 KiB.  A function of the content either way, so
 * a zero page sent in a PAGES record hashes as one named by a ZERO record.
 */
void vfmig_payload_hash_pages(__le64 *page_hash, u64 first, u64 n, const u8 *p);
/* page_hash[first + i] := the hash of an all-zero page, for @n pages. */
void vfmig_payload_hash_zero(__le64 *page_hash, u64 first, u64 n);
/*
 * page_hash[first..first + n) := the hashes of those pages of @mem as they
 * are now: a page @zero_map knows to be zero as one (no need to look at
 * it), any other by vfmig_payload_hash_pages(); with @bytes_only, every
 * page by its bytes (payload version 2's rule).
 */
void vfmig_payload_hash_span(__le64 *page_hash, const u8 *mem, const unsigned long *zero_map,
			     u64 first, u64 n, bool bytes_only);
/* The END record's digest over @pages page hashes and the registers. */
u64 vfmig_payload_digest(const __le64 *page_hash, u64 pages, const struct vfmig_regs *regs);
/* Fill in the header of the record at @rec (payload in place); its length. */
u32 vfmig_payload_seal(u8 *rec, enum vfmig_rec_kind kind, u32 seq, u32 len, u64 offset);
/*
 * Parse resumed bytes into @r (rec (VFMIG_REC_SMALL_MAX bytes) and
 * page_hash allocated, the rest zero at the start of a session) and apply
 * them to @t.  0, or -EINVAL at the first inconsistency; the caller then
 * poisons the session.
 */
int vfmig_payload_parse(struct vfmig_resume *r, const struct vfmig_payload_target *t,
			const u8 *buf, u64 len);
/*
 * The parser's one loop, for any source: it asks @copy for the bytes due
 * next (at most @n) at @dst, which is device memory inside a PAGES payload
 * (so those bytes are copied once, from wherever @src is: a kernel buffer,
 * a user iov_iter) or the record being assembled.  @copy returns how many
 * it copied; fewer than asked ends the feed there.  *@done: the bytes taken.
 * 0 or -EINVAL, as vfmig_payload_parse().
 */
typedef u64 (*vfmig_payload_copy_fn)(u8 *dst, u64 n, void *src);
int vfmig_payload_feed_from(struct vfmig_resume *r, const struct vfmig_payload_target *t,
			    u64 len, vfmig_payload_copy_fn copy, void *src, u64 *done);

/*
 * Inside a PAGES payload: how many of its bytes are still due (0 when not
 * inside one, or the session is over) and where the next goes in device
 * memory (*@mem_off).  A direct data window lets user space write them there.
 */
u64 vfmig_payload_resume_run(const struct vfmig_resume *r, u64 *mem_off);
/*
 * User space wrote the next @len payload bytes into device memory itself:
 * account for them as if fed (the record's pages are hashed once whole).
 * -EINVAL unless all @len are inside the current PAGES payload.
 */
int vfmig_payload_feed_in_place(struct vfmig_resume *r, const struct vfmig_payload_target *t,
				u64 len);

#endif /* VFMIG_PAYLOAD_FMT_H */
