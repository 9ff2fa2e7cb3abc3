// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig migration payload: the byte stream a saving device hands out through
 * the data section and a resuming device validates before it changes state.
 *
 * The stream is a sequence of records, independent of chunk boundaries (a
 * destination with a smaller data section receives the same bytes in smaller
 * pieces):
 *
 *	record := hdr payload[hdr.len] crc32
 *	hdr    := le32 magic "VFRC", le16 kind, le16 flags (0), le32 seq,
 *		  le32 len, le64 offset
 *	crc32  := crc32_le(~0, hdr + payload), little-endian
 *
 *	HEADER (seq 0): le64 magic "VFMIGST1", le32 version, le32 type code,
 *			le64 state size
 *	PAGES:		len bytes of device memory at byte offset hdr.offset
 *			(page aligned, 1..VFMIG_REC_MAX_PAGES pages)
 *	END:		le64 generation, seed, scratch, xxh64 checksum of the
 *			whole state; resuming is complete once it verifies
 *
 * Sequence numbers make reordered, repeated or dropped records detectable.
 */
#include <linux/bitmap.h>
#include <linux/crc32.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vfmig.h"

#define VFMIG_REC_MAGIC		0x43524656u		/* "VFRC" */
#define VFMIG_STREAM_MAGIC	0x31545347494d4656ULL	/* "VFMIGST1" */
#define VFMIG_STREAM_VERSION	1
#define VFMIG_REC_MAX_PAGES	16

enum vfmig_rec_kind {
	VFMIG_REC_HEADER = 1,
	VFMIG_REC_PAGES = 2,
	VFMIG_REC_END = 3,
};

struct vfmig_rec_hdr {
	__le32 magic;
	__le16 kind;
	__le16 flags;
	__le32 seq;
	__le32 len;
	__le64 offset;
} __packed;

struct vfmig_rec_header {
	__le64 magic;
	__le32 version;
	__le32 type_code;
	__le64 state_size;
} __packed;

struct vfmig_rec_end {
	__le64 generation;
	__le64 seed;
	__le64 scratch;
	__le64 checksum;
} __packed;

#define HDR_LEN		sizeof(struct vfmig_rec_hdr)
#define CRC_LEN		sizeof(__le32)
#define REC_OVERHEAD	(HDR_LEN + CRC_LEN)
#define REC_MAX		(REC_OVERHEAD + VFMIG_REC_MAX_PAGES * PAGE_SIZE)

static u64 vfmig_pages(struct vfmig_dev *vd)
{
	return vd->mem_size >> PAGE_SHIFT;
}

/* Seal the record in vd->save.rec: header fields, crc, emit from the start. */
static void vfmig_rec_seal(struct vfmig_dev *vd, enum vfmig_rec_kind kind,
			   u32 len, u64 offset)
{
	struct vfmig_save *s = &vd->save;
	struct vfmig_rec_hdr *h = (void *)s->rec;
	__le32 crc;

	h->magic = cpu_to_le32(VFMIG_REC_MAGIC);
	h->kind = cpu_to_le16(kind);
	h->flags = 0;
	h->seq = cpu_to_le32(s->seq++);
	h->len = cpu_to_le32(len);
	h->offset = cpu_to_le64(offset);
	crc = cpu_to_le32(crc32_le(~0, s->rec, HDR_LEN + len));
	memcpy(s->rec + HDR_LEN + len, &crc, CRC_LEN);
	s->rec_len = REC_OVERHEAD + len;
	s->rec_pos = 0;
}

int vfmig_payload_save_begin(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	memset(s, 0, sizeof(*s));
	s->dirty_bits = vfmig_pages(vd);
	s->dirty = vfmig_bitmap_zalloc(s->dirty_bits);
	s->rec = vfmig_kvmalloc(REC_MAX);
	if (!s->dirty || !s->rec) {
		vfmig_payload_save_end(vd);
		return -ENOMEM;
	}
	/* The first pass sends everything. */
	bitmap_fill(s->dirty, vfmig_pages(vd));
	s->nr_dirty = vfmig_pages(vd);
	s->active = true;
	vd->stats.iterations++;
	return 0;
}

void vfmig_payload_save_end(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	vfmig_bitmap_free(s->dirty, s->dirty_bits);
	vfmig_kvfree(s->rec, REC_MAX);
	memset(s, 0, sizeof(*s));
}

/* Called by the dirty generator for each page it changes. */
void vfmig_dirty_mark(struct vfmig_dev *vd, u64 page)
{
	struct vfmig_save *s = &vd->save;

	if (s->active && !test_and_set_bit(page, s->dirty))
		s->nr_dirty++;
}

/* The whole memory changed (a seed was written): a running save resends it. */
void vfmig_dirty_mark_all(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	if (!s->active)
		return;
	bitmap_fill(s->dirty, s->dirty_bits);
	s->nr_dirty = s->dirty_bits;
}

/* Build the next record into save.rec; -ENODATA when there is none yet. */
int vfmig_payload_next(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;
	u64 npages = vfmig_pages(vd), first, n;

	if (!s->header_sent) {
		struct vfmig_rec_header *p = (void *)(s->rec + HDR_LEN);

		p->magic = cpu_to_le64(VFMIG_STREAM_MAGIC);
		p->version = cpu_to_le32(VFMIG_STREAM_VERSION);
		p->type_code = cpu_to_le32(vd->type->code);
		p->state_size = cpu_to_le64(vd->mem_size);
		vfmig_rec_seal(vd, VFMIG_REC_HEADER, sizeof(*p), 0);
		s->header_sent = true;
		return 0;
	}
	if (s->nr_dirty) {
		first = find_next_bit(s->dirty, npages, s->cursor);
		if (first >= npages) {
			/* Wrapped: a new pass over memory begins. */
			first = find_first_bit(s->dirty, npages);
			vd->stats.iterations++;
		}
		for (n = 0; n < VFMIG_REC_MAX_PAGES && first + n < npages &&
		     test_bit(first + n, s->dirty); n++)
			clear_bit(first + n, s->dirty);
		s->nr_dirty -= n;
		s->cursor = first + n;
		memcpy(s->rec + HDR_LEN, (u8 *)vd->mem + (first << PAGE_SHIFT),
		       n << PAGE_SHIFT);
		vfmig_rec_seal(vd, VFMIG_REC_PAGES, n << PAGE_SHIFT, first << PAGE_SHIFT);
		return 0;
	}
	/* The final record only once the device is stopped. */
	if (!(vd->device_state & VFMIG_V1_STATE_RUNNING) && !s->end_sent) {
		struct vfmig_rec_end *e = (void *)(s->rec + HDR_LEN);

		e->generation = cpu_to_le64(vd->regs.generation);
		e->seed = cpu_to_le64(vd->regs.seed);
		e->scratch = cpu_to_le64(vd->regs.scratch);
		e->checksum = cpu_to_le64(vfmig_state_checksum(vd));
		vfmig_rec_seal(vd, VFMIG_REC_END, sizeof(*e), 0);
		s->end_sent = true;
		return 0;
	}
	return -ENODATA;
}

/* Bytes still to hand out (an estimate for dirty runs, exact otherwise). */
u64 vfmig_payload_pending(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;
	u64 p = s->rec_len - s->rec_pos;

	if (!s->header_sent)
		p += REC_OVERHEAD + sizeof(struct vfmig_rec_header);
	p += s->nr_dirty * PAGE_SIZE +
	     DIV_ROUND_UP(s->nr_dirty, VFMIG_REC_MAX_PAGES) * REC_OVERHEAD;
	if (!(vd->device_state & VFMIG_V1_STATE_RUNNING) && !s->end_sent)
		p += REC_OVERHEAD + sizeof(struct vfmig_rec_end);
	return p;
}

int vfmig_payload_resume_begin(struct vfmig_dev *vd)
{
	struct vfmig_resume *r = &vd->resume;

	memset(r, 0, sizeof(*r));
	r->rec = vfmig_kvmalloc(REC_MAX);
	if (!r->rec)
		return -ENOMEM;
	r->active = true;
	return 0;
}

void vfmig_payload_resume_end(struct vfmig_dev *vd)
{
	struct vfmig_resume *r = &vd->resume;

	vfmig_kvfree(r->rec, REC_MAX);
	memset(r, 0, sizeof(*r));
}

/* A record header arrived whole: is it what may come next? */
static int vfmig_check_hdr(struct vfmig_dev *vd, const struct vfmig_rec_hdr *h)
{
	struct vfmig_resume *r = &vd->resume;
	u32 len = le32_to_cpu(h->len);
	u64 off = le64_to_cpu(h->offset);

	if (le32_to_cpu(h->magic) != VFMIG_REC_MAGIC || h->flags)
		return -EINVAL;
	if (le32_to_cpu(h->seq) != r->seq)
		return -EINVAL;		/* out of order, repeated or lost */
	switch (le16_to_cpu(h->kind)) {
	case VFMIG_REC_HEADER:
		return !r->header_seen && len == sizeof(struct vfmig_rec_header) &&
		       !off ? 0 : -EINVAL;
	case VFMIG_REC_PAGES:
		if (!r->header_seen || !len || len > VFMIG_REC_MAX_PAGES * PAGE_SIZE ||
		    !PAGE_ALIGNED(len) || !PAGE_ALIGNED(off) || off >= vd->mem_size ||
		    len > vd->mem_size - off)
			return -EINVAL;
		return 0;
	case VFMIG_REC_END:
		return r->header_seen && len == sizeof(struct vfmig_rec_end) &&
		       !off ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* A whole record with a good crc: apply it. */
static int vfmig_apply(struct vfmig_dev *vd, const struct vfmig_rec_hdr *h)
{
	struct vfmig_resume *r = &vd->resume;
	const u8 *p = r->rec + HDR_LEN;
	u32 len = le32_to_cpu(h->len);

	switch (le16_to_cpu(h->kind)) {
	case VFMIG_REC_HEADER: {
		const struct vfmig_rec_header *hd = (const void *)p;

		/* A stream for another type or state size changes nothing. */
		if (le64_to_cpu(hd->magic) != VFMIG_STREAM_MAGIC ||
		    le32_to_cpu(hd->version) != VFMIG_STREAM_VERSION ||
		    le32_to_cpu(hd->type_code) != vd->type->code ||
		    le64_to_cpu(hd->state_size) != vd->mem_size)
			return -EINVAL;
		r->header_seen = true;
		return 0;
	}
	case VFMIG_REC_PAGES:
		memcpy((u8 *)vd->mem + le64_to_cpu(h->offset), p, len);
		return 0;
	case VFMIG_REC_END: {
		const struct vfmig_rec_end *e = (const void *)p;

		vd->regs.generation = le64_to_cpu(e->generation);
		vd->regs.seed = le64_to_cpu(e->seed);
		vd->regs.scratch = (u32)le64_to_cpu(e->scratch);
		if (vfmig_state_checksum(vd) != le64_to_cpu(e->checksum))
			return -EINVAL;
		r->complete = true;
		return 0;
	}
	}
	return -EINVAL;
}

/* Feed resumed bytes; any inconsistency poisons the session. */
int vfmig_payload_feed(struct vfmig_dev *vd, const u8 *buf, u64 len)
{
	struct vfmig_resume *r = &vd->resume;
	const struct vfmig_rec_hdr *h = (const void *)r->rec;
	__le32 crc;

	while (len) {
		u32 want = r->rec_len ? r->rec_len : HDR_LEN;
		u32 n = min_t(u64, len, want - r->rec_pos);

		if (r->complete)
			goto bad;		/* data after the end record */
		memcpy(r->rec + r->rec_pos, buf, n);
		r->rec_pos += n;
		buf += n;
		len -= n;
		if (r->rec_pos < want)
			break;
		if (!r->rec_len) {
			if (vfmig_check_hdr(vd, h))
				goto bad;
			r->rec_len = REC_OVERHEAD + le32_to_cpu(h->len);
			continue;
		}
		memcpy(&crc, r->rec + r->rec_len - CRC_LEN, CRC_LEN);
		if (crc32_le(~0, r->rec, r->rec_len - CRC_LEN) != le32_to_cpu(crc))
			goto bad;
		if (vfmig_apply(vd, h))
			goto bad;
		r->seq++;
		r->rec_len = 0;
		r->rec_pos = 0;
	}
	return 0;
bad:
	r->failed = true;
	return -EINVAL;
}
