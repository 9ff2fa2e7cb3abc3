// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig payload records: sealing, hashing, and the resume side's parser
 * (format in include/vfmig/payload.h, rules in payload.c).  Nothing here
 * touches struct vfmig_dev, so the same file builds for the host fuzz
 * target (tests/fuzz/payload_fuzz.c).
 */
#ifdef __KERNEL__
#include <linux/bitops.h>
#include <linux/build_bug.h>
#include <linux/crc32.h>
#include <linux/errno.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/xxhash.h>
#endif

#include "payload_fmt.h"

#define HDR_LEN		VFMIG_REC_HDR_LEN
#define HDR_CRC_SPAN	VFMIG_REC_HDR_CRC_SPAN

/* The shared header spells the layout out; hold it to it. */
static_assert(sizeof(struct vfmig_rec_hdr) == 28, "record header size");
static_assert(offsetof(struct vfmig_rec_hdr, crc) == HDR_CRC_SPAN, "crc span");
static_assert(sizeof(struct vfmig_rec_header) == 24, "HEADER payload size");
static_assert(sizeof(struct vfmig_rec_end) == 32, "END payload size");
static_assert(sizeof(struct vfmig_rec_zero) == 8, "ZERO payload size");
static_assert(sizeof(struct vfmig_rec_sparse) == 8, "SPARSE count size");
static_assert(sizeof(struct vfmig_rec_end) <= VFMIG_SPARSE_HEAD_MAX &&
	      sizeof(struct vfmig_rec_end) >= sizeof(struct vfmig_rec_header) &&
	      sizeof(struct vfmig_rec_end) >= sizeof(struct vfmig_rec_zero),
	      "a SPARSE head is the most assembled");

/*
 * splitmix64 of the page index: a few multiplies, where even xxh64 of the
 * 8-byte index cost a tenth of a zero migration's time under TCG.
 */
void vfmig_payload_hash_zero(__le64 *page_hash, u64 first, u64 n)
{
	u64 i, x;

	for (i = first; i < first + n; i++) {
		x = (i ^ VFMIG_ZERO_HASH_SEED) + 0x9e3779b97f4a7c15ULL;
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
		x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
		page_hash[i] = cpu_to_le64(x ^ (x >> 31));
	}
}

/* Version 2's rule: every page hashed whole, zero or not. */
static void vfmig_hash_pages_v2(__le64 *page_hash, u64 first, u64 n, const u8 *p)
{
	u64 i;

	for (i = 0; i < n; i++)
		page_hash[first + i] = cpu_to_le64(xxh64(p + (i << PAGE_SHIFT), PAGE_SIZE,
							 first + i));
}

void vfmig_payload_hash_pages(__le64 *page_hash, u64 first, u64 n, const u8 *p)
{
	u64 i;

	for (i = 0; i < n; i++) {
		const u8 *pg = p + (i << PAGE_SHIFT);

		/* A random page answers at its first byte. */
		if (memchr_inv(pg, 0, PAGE_SIZE))
			vfmig_hash_pages_v2(page_hash, first + i, 1, pg);
		else
			vfmig_payload_hash_zero(page_hash, first + i, 1);
	}
}

void vfmig_payload_hash_span(__le64 *page_hash, const u8 *mem, const unsigned long *zero_map,
			     u64 first, u64 n, bool bytes_only)
{
	u64 p = first, end = first + n, next;

	if (bytes_only || !zero_map) {
		if (bytes_only)
			vfmig_hash_pages_v2(page_hash, first, n, mem + (first << PAGE_SHIFT));
		else
			vfmig_payload_hash_pages(page_hash, first, n, mem + (first << PAGE_SHIFT));
		return;
	}
	/*
	 * Runs of known-zero pages and of the rest, found a word of the map
	 * at a time: a bit at a time cost as much as the hashes of an
	 * all-zero state under TCG.
	 */
	while (p < end) {
		next = find_next_zero_bit(zero_map, end, p);
		vfmig_payload_hash_zero(page_hash, p, next - p);
		p = next;
		if (p >= end)
			break;
		next = find_next_bit(zero_map, end, p);
		vfmig_payload_hash_pages(page_hash, p, next - p, mem + (p << PAGE_SHIFT));
		p = next;
	}
}

u64 vfmig_payload_digest(const __le64 *page_hash, u64 pages, const struct vfmig_regs *regs)
{
	struct xxh64_state st;
	__le64 r[3];

	xxh64_reset(&st, 0);
	xxh64_update(&st, page_hash, pages * sizeof(__le64));
	r[0] = cpu_to_le64(regs->generation);
	r[1] = cpu_to_le64(regs->seed);
	r[2] = cpu_to_le64(regs->scratch);
	xxh64_update(&st, r, sizeof(r));
	return xxh64_digest(&st);
}

u32 vfmig_payload_seal(u8 *rec, enum vfmig_rec_kind kind, u32 seq, u32 len, u64 offset)
{
	struct vfmig_rec_hdr *h = (void *)rec;

	h->magic = cpu_to_le32(VFMIG_PAYLOAD_REC_MAGIC);
	h->kind = cpu_to_le16(kind);
	h->flags = 0;
	h->seq = cpu_to_le32(seq);
	h->len = cpu_to_le32(len);
	h->offset = cpu_to_le64(offset);
	h->crc = cpu_to_le32(crc32_le(~0, rec, HDR_CRC_SPAN));
	return HDR_LEN + len;
}

static void vfmig_zero_map_mark(const struct vfmig_payload_target *t, u64 first, u64 n,
				bool zero)
{
	if (!t->zero_map)
		return;
	if (zero)
		bitmap_set(t->zero_map, first, n);
	else
		bitmap_clear(t->zero_map, first, n);
}

/*
 * Clear @n pages from @p.  With chunk copies on the worker the clear goes
 * on its queue behind them: a copy queued earlier onto these pages lands
 * first, and the parser goes on without waiting for the queue to drain.
 */
static void vfmig_clear_pages(const struct vfmig_payload_target *t, u64 p, u64 n)
{
	u8 *dst = t->mem + (p << PAGE_SHIFT);

	if (!t->copies_queued || !vfmig_hasher_zero(t->hasher, dst, n << PAGE_SHIFT))
		memset(dst, 0, n << PAGE_SHIFT);
}

/*
 * Zero @n pages from @first, but not those known to be zero already (a
 * fresh destination's): writing them would cost as much as the copy a ZERO
 * record saves.  A page marked here may still be due its clear on the
 * worker; whatever reads it through the map (a hash) is queued again after.
 */
static void vfmig_zero_pages(const struct vfmig_payload_target *t, u64 first, u64 n)
{
	u64 p = first, end = first + n, next;

	if (!t->zero_map) {
		vfmig_clear_pages(t, first, n);
		return;
	}
	/* The map is searched a word at a time, runs of unknown pages cleared whole. */
	while ((p = find_next_zero_bit(t->zero_map, end, p)) < end) {
		next = find_next_bit(t->zero_map, end, p);
		vfmig_clear_pages(t, p, next - p);
		vfmig_zero_map_mark(t, p, next - p, true);
		p = next;
	}
}

/* The longest PAGES record the stream's version allows, in pages. */
static u32 vfmig_pages_max(const struct vfmig_resume *r)
{
	return r->version >= VFMIG_PAYLOAD_VERSION_RUN ? VFMIG_PAYLOAD_MAX_RUN_PAGES :
	       VFMIG_PAYLOAD_MAX_PAGES;
}

/* A record header arrived whole: is it what may come next? */
static int vfmig_check_hdr(const struct vfmig_resume *r, const struct vfmig_payload_target *t,
			   const struct vfmig_rec_hdr *h)
{
	u32 len = le32_to_cpu(h->len);
	u64 off = le64_to_cpu(h->offset);

	if (le32_to_cpu(h->magic) != VFMIG_PAYLOAD_REC_MAGIC || h->flags ||
	    crc32_le(~0, (const u8 *)h, HDR_CRC_SPAN) != le32_to_cpu(h->crc))
		return -EINVAL;
	if (le32_to_cpu(h->seq) != r->seq)
		return -EINVAL;		/* out of order, repeated or lost */
	switch (le16_to_cpu(h->kind)) {
	case VFMIG_REC_HEADER:
		return !r->header_seen && len == sizeof(struct vfmig_rec_header) &&
		       !off ? 0 : -EINVAL;
	case VFMIG_REC_PAGES:
		if (!r->header_seen || !len || len > vfmig_pages_max(r) * PAGE_SIZE ||
		    !PAGE_ALIGNED(len) || !PAGE_ALIGNED(off) || off >= t->mem_size ||
		    len > t->mem_size - off)
			return -EINVAL;
		return 0;
	case VFMIG_REC_END:
		return r->header_seen && len == sizeof(struct vfmig_rec_end) &&
		       !off ? 0 : -EINVAL;
	case VFMIG_REC_ZERO:
		/* The span is in the payload; vfmig_apply() bounds it. */
		if (!r->header_seen || r->version < VFMIG_PAYLOAD_VERSION_ZERO ||
		    len != sizeof(struct vfmig_rec_zero) ||
		    !PAGE_ALIGNED(off) || off >= t->mem_size)
			return -EINVAL;
		return 0;
	case VFMIG_REC_SPARSE:
		/* Roughly sized here; vfmig_sparse_count() checks len exactly. */
		if (!r->header_seen || r->version < VFMIG_PAYLOAD_VERSION_SPARSE ||
		    len < sizeof(struct vfmig_rec_sparse) + 8 + PAGE_SIZE ||
		    len > VFMIG_REC_SPARSE_MAX - HDR_LEN ||
		    !PAGE_ALIGNED(off) || off >= t->mem_size)
			return -EINVAL;
		return 0;
	default:
		return -EINVAL;
	}
}

/* The current record is of @kind, and its header checked out. */
static bool vfmig_in_rec(const struct vfmig_resume *r, enum vfmig_rec_kind kind)
{
	const struct vfmig_rec_hdr *h = (const void *)r->rec;

	return r->rec_len && le16_to_cpu(h->kind) == kind;
}

static bool vfmig_in_pages(const struct vfmig_resume *r)
{
	return vfmig_in_rec(r, VFMIG_REC_PAGES);
}

/* Inside a SPARSE record, past its head: the bytes are page bytes. */
static bool vfmig_in_sparse_pages(const struct vfmig_resume *r)
{
	return vfmig_in_rec(r, VFMIG_REC_SPARSE) && r->sparse_head &&
	       r->rec_pos >= HDR_LEN + r->sparse_head;
}

/*
 * A PAGES header checked out: its pages take its payload as it comes, so
 * from now on they are neither known zero nor verified.
 */
static void vfmig_pages_begin(const struct vfmig_payload_target *t,
			      const struct vfmig_rec_hdr *h)
{
	vfmig_zero_map_mark(t, le64_to_cpu(h->offset) >> PAGE_SHIFT,
			    le32_to_cpu(h->len) >> PAGE_SHIFT, false);
}

/*
 * Pages [first, first + n) hold what the stream put there (a record is
 * applied whole): hash them, on the target's hasher if it takes them.
 */
static void vfmig_hash_applied(const struct vfmig_resume *r,
			       const struct vfmig_payload_target *t, u64 first, u64 n)
{
	bool bytes_only = r->version == VFMIG_PAYLOAD_VERSION_PREV;

	if (!t->hasher || !vfmig_hasher_queue(t->hasher, first, n, bytes_only))
		vfmig_payload_hash_span(r->page_hash, t->mem, t->zero_map, first, n, bytes_only);
}

/* The last payload byte of a PAGES record landed: its pages are due a hash. */
static void vfmig_pages_end(struct vfmig_resume *r, const struct vfmig_payload_target *t,
			    const struct vfmig_rec_hdr *h)
{
	vfmig_hash_applied(r, t, le64_to_cpu(h->offset) >> PAGE_SHIFT,
			   le32_to_cpu(h->len) >> PAGE_SHIFT);
}

/* The current record is done with: the next one may start. */
static void vfmig_rec_next(struct vfmig_resume *r)
{
	r->seq++;
	r->rec_len = 0;
	r->rec_pos = 0;
	r->sparse_head = 0;
	r->sparse_page = 0;
}

/* The first page of the span from @i on that is sent (@pages if none). */
static u32 vfmig_sparse_next(const u8 *map, u32 i, u32 pages)
{
	while (i < pages && !vfmig_sparse_bit(map, i))
		i++;
	return i;
}

/*
 * A SPARSE record's count arrived: is it consistent with the header, the
 * state and itself?  Then the length of its head, else 0.
 */
static u32 vfmig_sparse_count(const struct vfmig_payload_target *t,
			      const struct vfmig_rec_hdr *h, const struct vfmig_rec_sparse *sp)
{
	u32 pages = le32_to_cpu(sp->pages), sent = le32_to_cpu(sp->sent), head;
	u64 off = le64_to_cpu(h->offset);

	if (pages < 2 || pages > VFMIG_PAYLOAD_MAX_SPARSE_PAGES || !sent || sent >= pages ||
	    sent > VFMIG_PAYLOAD_MAX_PAGES || pages > (t->mem_size - off) >> PAGE_SHIFT)
		return 0;
	/* At most VFMIG_SPARSE_HEAD_MAX, r->rec's room, by the bound on pages. */
	head = sizeof(*sp) + 8 * VFMIG_SPARSE_MAP_WORDS(pages);
	return le32_to_cpu(h->len) == head + (sent << PAGE_SHIFT) ? head : 0;
}

/*
 * A SPARSE record's map arrived: it must set @sent bits, none past the span.
 * Its zero pages are applied now, as a ZERO record's are; its sent pages
 * are about to change.
 */
static int vfmig_sparse_map(struct vfmig_resume *r, const struct vfmig_payload_target *t,
			    u64 first, const struct vfmig_rec_sparse *sp, const u8 *map)
{
	u32 pages = le32_to_cpu(sp->pages), words = VFMIG_SPARSE_MAP_WORDS(pages);
	u32 i, run, sent = 0;

	for (i = 0; i < words * 64; i++) {
		if (!vfmig_sparse_bit(map, i))
			continue;
		if (i >= pages)
			return -EINVAL;
		sent++;
	}
	if (sent != le32_to_cpu(sp->sent))
		return -EINVAL;
	r->applied = true;
	/* Runs of sent pages and of zero ones, each taken whole. */
	for (i = 0; i < pages; i = run) {
		bool sent_run = vfmig_sparse_bit(map, i);

		for (run = i + 1; run < pages && vfmig_sparse_bit(map, run) == sent_run; run++)
			;
		if (sent_run)
			vfmig_zero_map_mark(t, first + i, run - i, false);
		else
			vfmig_zero_pages(t, first + i, run - i);
	}
	r->sparse_page = vfmig_sparse_next(map, 0, pages);
	return 0;
}

/*
 * Inside a SPARSE record, r->rec_pos moved on: its count, its map, or a
 * sent page may be complete.
 */
static int vfmig_sparse_advance(struct vfmig_resume *r, const struct vfmig_payload_target *t)
{
	const struct vfmig_rec_hdr *h = (const void *)r->rec;
	const struct vfmig_rec_sparse *sp = (const void *)(r->rec + HDR_LEN);
	const u8 *map = r->rec + HDR_LEN + sizeof(*sp);
	u64 first = le64_to_cpu(h->offset) >> PAGE_SHIFT;
	u32 at;

	if (!r->sparse_head) {
		if (r->rec_pos < HDR_LEN + sizeof(*sp))
			return 0;
		r->sparse_head = vfmig_sparse_count(t, h, sp);
		return r->sparse_head ? 0 : -EINVAL;
	}
	if (r->rec_pos < HDR_LEN + r->sparse_head)
		return 0;
	at = r->rec_pos - HDR_LEN - r->sparse_head;
	if (!at)
		return vfmig_sparse_map(r, t, first, sp, map);
	if (!PAGE_ALIGNED(at))
		return 0;
	/* A sent page is whole; the last one completes the span. */
	if (r->rec_pos == r->rec_len) {
		vfmig_hash_applied(r, t, first, le32_to_cpu(sp->pages));
		vfmig_rec_next(r);
	} else {
		r->sparse_page = vfmig_sparse_next(map, r->sparse_page + 1,
						   le32_to_cpu(sp->pages));
	}
	return 0;
}

/* A small record (not PAGES) arrived whole: apply it; @p is its payload. */
static int vfmig_apply(struct vfmig_resume *r, const struct vfmig_payload_target *t,
		       const struct vfmig_rec_hdr *h, const u8 *p)
{
	switch (le16_to_cpu(h->kind)) {
	case VFMIG_REC_HEADER: {
		const struct vfmig_rec_header *hd = (const void *)p;
		u32 version = le32_to_cpu(hd->version);

		/* A stream for another type or state size changes nothing. */
		if (le64_to_cpu(hd->magic) != VFMIG_PAYLOAD_MAGIC ||
		    version < VFMIG_PAYLOAD_VERSION_PREV || version > VFMIG_PAYLOAD_VERSION ||
		    le32_to_cpu(hd->type_code) != t->type_code ||
		    le64_to_cpu(hd->state_size) != t->mem_size)
			return -EINVAL;
		r->version = version;
		r->header_seen = true;
		return 0;
	}
	case VFMIG_REC_ZERO: {
		const struct vfmig_rec_zero *z = (const void *)p;
		u64 off = le64_to_cpu(h->offset), bytes = le64_to_cpu(z->bytes);

		/* check_hdr() bounded the offset; the span is checked here, before use. */
		if (!bytes || !PAGE_ALIGNED(bytes) ||
		    bytes > VFMIG_PAYLOAD_MAX_ZERO_PAGES * PAGE_SIZE || bytes > t->mem_size - off)
			return -EINVAL;
		r->applied = true;
		vfmig_zero_pages(t, off >> PAGE_SHIFT, bytes >> PAGE_SHIFT);
		vfmig_hash_applied(r, t, off >> PAGE_SHIFT, bytes >> PAGE_SHIFT);
		return 0;
	}
	case VFMIG_REC_END: {
		const struct vfmig_rec_end *e = (const void *)p;

		r->applied = true;
		t->regs->generation = le64_to_cpu(e->generation);
		t->regs->seed = le64_to_cpu(e->seed);
		t->regs->scratch = (u32)le64_to_cpu(e->scratch);
		if (t->hasher)
			vfmig_hasher_drain(t->hasher);
		if (vfmig_payload_digest(r->page_hash, t->mem_size >> PAGE_SHIFT, t->regs) !=
		    le64_to_cpu(e->checksum))
			return -EINVAL;
		r->complete = true;
		return 0;
	}
	}
	return -EINVAL;
}

/*
 * Where the next bytes of the stream go (*@dst), and at most how many
 * (*@want): into device memory inside a PAGES payload, else into r->rec
 * (the rest of a header or of a small record).  -EINVAL once the END
 * record is in.
 */
static int vfmig_next_span(const struct vfmig_resume *r, const struct vfmig_payload_target *t,
			   u8 **dst, u32 *want)
{
	const struct vfmig_rec_hdr *h = (const void *)r->rec;

	if (r->complete)
		return -EINVAL;		/* data after the end record */
	if (vfmig_in_pages(r)) {
		*dst = t->mem + le64_to_cpu(h->offset) + (r->rec_pos - HDR_LEN);
		*want = r->rec_len - r->rec_pos;
		return 0;
	}
	if (vfmig_in_sparse_pages(r)) {
		u32 in_page = (r->rec_pos - HDR_LEN - r->sparse_head) & (PAGE_SIZE - 1);

		*dst = t->mem + le64_to_cpu(h->offset) +
		       ((u64)r->sparse_page << PAGE_SHIFT) + in_page;
		*want = PAGE_SIZE - in_page;
		return 0;
	}
	*dst = r->rec + r->rec_pos;
	if (vfmig_in_rec(r, VFMIG_REC_SPARSE))
		/* Its count first, then its map (the count sized it). */
		*want = HDR_LEN + (r->sparse_head ? r->sparse_head :
				   sizeof(struct vfmig_rec_sparse)) - r->rec_pos;
	else
		*want = (r->rec_len ? r->rec_len : HDR_LEN) - r->rec_pos;
	return 0;
}

/* @n (at most what vfmig_next_span() said) bytes landed: take the next step. */
static int vfmig_advance(struct vfmig_resume *r, const struct vfmig_payload_target *t, u32 n)
{
	const struct vfmig_rec_hdr *h = (const void *)r->rec;
	bool pages = vfmig_in_pages(r);

	if (pages)
		r->applied = true;
	r->rec_pos += n;
	if (vfmig_in_rec(r, VFMIG_REC_SPARSE))
		return vfmig_sparse_advance(r, t);
	if (r->rec_pos < (r->rec_len ? r->rec_len : HDR_LEN))
		return 0;
	if (pages) {
		vfmig_pages_end(r, t, h);
	} else if (!r->rec_len) {
		/* The header is whole, in r->rec: the bounds checked are the bounds used. */
		if (vfmig_check_hdr(r, t, h))
			return -EINVAL;
		r->rec_len = HDR_LEN + le32_to_cpu(h->len);
		/*
		 * Page payloads bypass r->rec (a SPARSE record's after its
		 * head); check_hdr() sized the others.
		 */
		if (vfmig_in_pages(r))
			vfmig_pages_begin(t, h);
		else if (r->rec_len > VFMIG_REC_SMALL_MAX && !vfmig_in_rec(r, VFMIG_REC_SPARSE))
			return -EINVAL;
		return 0;
	} else if (vfmig_apply(r, t, h, r->rec + HDR_LEN)) {
		return -EINVAL;
	}
	vfmig_rec_next(r);
	return 0;
}

int vfmig_payload_feed_from(struct vfmig_resume *r, const struct vfmig_payload_target *t,
			    u64 len, vfmig_payload_copy_fn copy, void *src, u64 *done)
{
	*done = 0;
	while (*done < len) {
		u8 *dst;
		u32 want;
		u64 n, got;

		/* Nothing due (a session refused before): never spin on it. */
		if (vfmig_next_span(r, t, &dst, &want) || !want)
			return -EINVAL;
		n = min_t(u64, want, len - *done);
		got = copy(dst, n, src);
		/* A callback that claims more than it was asked for is refused. */
		if (got > n || (got && vfmig_advance(r, t, got)))
			return -EINVAL;
		*done += got;
		if (got < n)
			break;
	}
	return 0;
}

u64 vfmig_payload_resume_run(const struct vfmig_resume *r, u64 *mem_off)
{
	const struct vfmig_rec_hdr *h = (const void *)r->rec;

	if (r->failed || r->complete || !vfmig_in_pages(r))
		return 0;
	*mem_off = le64_to_cpu(h->offset) + (r->rec_pos - HDR_LEN);
	return r->rec_len - r->rec_pos;
}

/* The bytes are in device memory already: only the parser moves on. */
static u64 vfmig_copy_none(u8 *dst, u64 n, void *expected)
{
	return dst == expected ? n : 0;
}

int vfmig_payload_feed_in_place(struct vfmig_resume *r, const struct vfmig_payload_target *t,
				u64 len)
{
	u64 mem_off, done;

	if (!len)
		return 0;
	if (len > vfmig_payload_resume_run(r, &mem_off))
		return -EINVAL;
	if (vfmig_payload_feed_from(r, t, len, vfmig_copy_none, t->mem + mem_off, &done) ||
	    done != len)
		return -EINVAL;
	return 0;
}

static u64 vfmig_copy_buf(u8 *dst, u64 n, void *src)
{
	const u8 **p = src;

	memcpy(dst, *p, n);
	*p += n;
	return n;
}

int vfmig_payload_parse(struct vfmig_resume *r, const struct vfmig_payload_target *t,
			const u8 *buf, u64 len)
{
	u64 done;

	return vfmig_payload_feed_from(r, t, len, vfmig_copy_buf, &buf, &done);
}
