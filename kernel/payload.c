// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig migration payload: the byte stream a saving device hands out through
 * the data section and a resuming device validates before it changes state.
 *
 * The stream is a sequence of records, independent of chunk boundaries (a
 * destination with a smaller data section receives the same bytes in smaller
 * pieces):
 *
 *	record := hdr payload[hdr.len]
 *	hdr    := le32 magic "VFRC", le16 kind, le16 flags (0), le32 seq,
 *		  le32 len, le64 offset, le32 crc32_le(~0) of the 24 bytes before
 *
 *	HEADER (seq 0): le64 magic "VFMIGST1", le32 version, le32 type code,
 *			le64 state size
 *	PAGES:		len bytes of device memory at byte offset hdr.offset
 *			(page aligned, 1..VFMIG_PAYLOAD_MAX_PAGES pages)
 *	END:		le64 generation, seed, scratch, le64 digest of the
 *			state; resuming is complete once it verifies
 *	ZERO (v3):	le64 bytes: that many bytes of all-zero pages at
 *			hdr.offset (page aligned, 1..VFMIG_PAYLOAD_MAX_ZERO_PAGES)
 *	SPARSE (v5):	le32 pages, le32 sent, a bitmap of the span's pages
 *			(set: sent, clear: zero), then the sent pages
 *
 *	digest := xxh64(0) over page_hash[0..pages) as le64, then the
 *		  registers generation, seed, scratch as le64;
 *		  page_hash[i] := xxh64(page i's bytes, seed i), or for an
 *		  all-zero page (v3) splitmix64(i ^ "ZERO")
 *
 * Sequence numbers make reordered, repeated or dropped records detectable;
 * the header crc catches a damaged header before its bounds are used.  The
 * payload has no crc of its own (version 1 had one per record, a pass over
 * every byte on each end): the HEADER payload is checked field by field and
 * every other payload byte ends up in the state the END digest covers, so a
 * damaged PAGES or END payload fails the resume at the END record, before
 * the device may run.
 *
 * The digest is built from per-page hashes, taken as each page is sent and
 * as it is applied (or, with hash_offload, by the device's worker soon
 * after, in order: hasher.c), not from one pass over the whole state at the
 * end: the hashing overlaps the other end's work instead of stalling both
 * ends at the END record.  A page resent after it was dirtied replaces its
 * hash; a page the destination never received keeps a zero hash and fails
 * the check.
 */
#include <linux/bitmap.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>

#include "vfmig.h"

/*
 * The record layouts and the resume side's parser are in payload_fmt.h and
 * payload_parse.c, which also build on the host for fuzzing.
 */
#define HDR_LEN		VFMIG_REC_HDR_LEN
#define REC_OVERHEAD	HDR_LEN

static u64 vfmig_pages(struct vfmig_dev *vd)
{
	return vd->mem_size >> PAGE_SHIFT;
}

static size_t vfmig_page_hash_size(struct vfmig_dev *vd)
{
	return vfmig_pages(vd) * sizeof(__le64);
}

/*
 * Seal the record at @rec whose payload is in place: the header fields and
 * their crc.  Returns the record length.
 */
static u32 vfmig_rec_seal(struct vfmig_save *s, u8 *rec, enum vfmig_rec_kind kind,
			  u32 len, u64 offset)
{
	return vfmig_payload_seal(rec, kind, s->seq++, len, offset);
}

/*
 * Pages [first, first + n) are sent as they are now (under the device
 * lock): hash them, on the device's hasher if it is on.
 */
static void vfmig_hash_sent(struct vfmig_dev *vd, u64 first, u64 n)
{
	if (!vfmig_hasher_queue(&vd->hasher, first, n, false))
		vfmig_payload_hash_span(vd->save.page_hash, vd->mem, vd->zero_map, first, n,
					false);
}

/*
 * Device memory into a record: one staged ahead in the data section
 * (@in_section) is copied by the device's worker (chunk_offload), after
 * which the chunk is handed out (migration.c); anything else now.
 */
static void vfmig_save_copy(struct vfmig_dev *vd, u8 *dst, const u8 *src, u32 n,
			    bool in_section)
{
	if (!in_section || !vd->save.ahead_on || !vfmig_hasher_copy(&vd->hasher, dst, src, n))
		memcpy(dst, src, n);
}

/* Seal the record built in vd->save.rec and emit it from the start. */
static void vfmig_rec_seal_buf(struct vfmig_dev *vd, enum vfmig_rec_kind kind,
			       u32 len, u64 offset)
{
	struct vfmig_save *s = &vd->save;

	s->rec_len = vfmig_rec_seal(s, s->rec, kind, len, offset);
	s->rec_pos = 0;
}

/*
 * A session starts the device's worker if an offload knob asks for it; an
 * armed slow_worker fault fires here, so that a test sees the data path
 * run ahead of the worker's queue.
 */
static void vfmig_session_hasher_start(struct vfmig_dev *vd, __le64 *page_hash)
{
	if (!vd->hash_offload && !vd->chunk_offload)
		return;
	vfmig_hasher_start(&vd->hasher, page_hash, vd->mem, vd->zero_map);
	if (vd->hasher.on && vd->fault == VFMIG_FAULT_SLOW_WORKER) {
		vd->fault = VFMIG_FAULT_NONE;
		vd->hasher.slow = true;
	}
}

int vfmig_payload_save_begin(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	memset(s, 0, sizeof(*s));
	s->dirty_bits = vfmig_pages(vd);
	s->dirty = vfmig_bitmap_zalloc(s->dirty_bits);
	/*
	 * A direct window's records are longer; v2 may copy one into rec.  A
	 * SPARSE record has a head before its pages.
	 */
	s->rec_size = HDR_LEN + VFMIG_SPARSE_HEAD_MAX +
		      max_t(size_t, VFMIG_PAYLOAD_MAX_PAGES, vfmig_window_pages(vd)) * PAGE_SIZE;
	s->rec = vfmig_kvmalloc(s->rec_size);
	s->page_hash_size = vfmig_page_hash_size(vd);
	s->page_hash = vfmig_vzalloc(s->page_hash_size);
	if (!s->dirty || !s->rec || !s->page_hash) {
		vfmig_payload_save_end(vd);
		return -ENOMEM;
	}
	/* The first pass sends everything. */
	bitmap_fill(s->dirty, vfmig_pages(vd));
	s->nr_dirty = vfmig_pages(vd);
	s->active = true;
	vfmig_session_hasher_start(vd, s->page_hash);
	s->ahead_on = vfmig_chunk_offload_on(vd);
	vd->stats.iterations++;
	return 0;
}

void vfmig_payload_save_end(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	vfmig_window_unbind(vd);
	vfmig_hasher_stop(&vd->hasher);
	/* Freed with the sizes they were allocated with, whatever changed since. */
	vfmig_bitmap_free(s->dirty, s->dirty_bits);
	vfmig_kvfree(s->rec, s->rec_size);
	vfmig_vfree(s->page_hash, s->page_hash_size);
	memset(s, 0, sizeof(*s));
}

/* Called by the dirty generator for each page it changes. */
void vfmig_dirty_mark(struct vfmig_dev *vd, u64 page)
{
	struct vfmig_save *s = &vd->save;

	if (s->active && !test_and_set_bit(page, s->dirty))
		s->nr_dirty++;
}

/* @n pages from @first changed (a seed fill step): a running save resends them. */
void vfmig_dirty_mark_range(struct vfmig_dev *vd, u64 first, u64 n)
{
	struct vfmig_save *s = &vd->save;

	if (!s->active || first >= s->dirty_bits)
		return;
	n = min_t(u64, n, s->dirty_bits - first);
	bitmap_set(s->dirty, first, n);
	s->nr_dirty = bitmap_weight(s->dirty, s->dirty_bits);
}

/* Known zero, or found so (and then known). */
static bool vfmig_page_zero(struct vfmig_dev *vd, u64 page)
{
	if (test_bit(page, vd->zero_map))
		return true;
	if (memchr_inv((u8 *)vd->mem + (page << PAGE_SHIFT), 0, PAGE_SIZE))
		return false;
	__set_bit(page, vd->zero_map);
	return true;
}

/*
 * Take the pages of the next record: the dirty pages from the next one on,
 * up to the first clean page or VFMIG_PAYLOAD_MAX_SPARSE_PAGES.  While only
 * pages with data have come, up to @max_pages of them (a PAGES record); once
 * a zero page has, up to VFMIG_PAYLOAD_MAX_PAGES pages with data in all (a
 * SPARSE record, or a ZERO record if none has data).  Without SPARSE
 * records (save.sparse clear), the pages of one kind only.  @map gets a bit
 * per page with data (the SPARSE map's layout).  Returns the pages taken,
 * *@sent those with data.  memchr_inv() stops at a random page's first byte,
 * so telling costs next to nothing but on the zero pages themselves, and the
 * pages the zero map knows go a word of it at a time.
 */
static u32 vfmig_take_span(struct vfmig_dev *vd, u32 max_pages, u64 *first, u32 *sent,
			   u8 *map)
{
	struct vfmig_save *s = &vd->save;
	u64 npages = vfmig_pages(vd), f, end, p;
	u32 cap;

	f = find_next_bit(s->dirty, npages, s->cursor);
	if (f >= npages) {
		/* Wrapped: a new pass over memory begins. */
		f = find_first_bit(s->dirty, npages);
		vd->stats.iterations++;
		s->wrapped = true;
	}
	end = find_next_zero_bit(s->dirty, min(f + VFMIG_PAYLOAD_MAX_SPARSE_PAGES, npages), f);
	memset(map, 0, VFMIG_SPARSE_HEAD_MAX - sizeof(struct vfmig_rec_sparse));
	*sent = 0;
	for (p = f; p < end;) {
		if (vfmig_page_zero(vd, p)) {
			/* A long run of pages with data ends here (any, without SPARSE). */
			if (*sent && *sent == p - f &&
			    (*sent >= VFMIG_PAYLOAD_MAX_PAGES || !s->sparse))
				break;
			p = find_next_zero_bit(vd->zero_map, end, p);
			continue;
		}
		/* After zero pages: a SPARSE record, or without one, a ZERO. */
		if (*sent != p - f && !s->sparse)
			break;
		cap = *sent == p - f ? max_pages : VFMIG_PAYLOAD_MAX_PAGES;
		if (*sent >= cap)
			break;
		map[(p - f) / 8] |= 1 << ((p - f) % 8);
		(*sent)++;
		p++;
	}
	bitmap_clear(s->dirty, f, p - f);
	s->nr_dirty -= p - f;
	s->cursor = p;
	*first = f;
	return p - f;
}

/*
 * A SPARSE record of @n pages from @first, the @sent ones @map marks copied
 * in, and every page hashed.  Built at @dst if it fits in @room (its length
 * returned), else in save.rec (0 returned).
 */
static int vfmig_build_sparse(struct vfmig_dev *vd, u8 *dst, u64 room, u64 first, u32 n,
			      u32 sent, const u8 *map)
{
	struct vfmig_save *s = &vd->save;
	u32 words = VFMIG_SPARSE_MAP_WORDS(n);
	u32 head = sizeof(struct vfmig_rec_sparse) + 8 * words;
	u32 len = head + (sent << PAGE_SHIFT), i;
	u8 *rec = dst && room >= REC_OVERHEAD + len ? dst : s->rec;
	struct vfmig_rec_sparse *sp = (void *)(rec + HDR_LEN);
	u8 *pg = rec + HDR_LEN + head;

	sp->pages = cpu_to_le32(n);
	sp->sent = cpu_to_le32(sent);
	memcpy(sp + 1, map, 8 * words);
	for (i = 0; i < n; i++) {
		if (!vfmig_sparse_bit(map, i))
			continue;
		vfmig_save_copy(vd, pg, (u8 *)vd->mem + ((first + i) << PAGE_SHIFT), PAGE_SIZE,
				rec == dst);
		pg += PAGE_SIZE;
	}
	/* The zero map knows the span's zero pages (vfmig_take_span()). */
	vfmig_hash_sent(vd, first, n);
	if (rec == dst)
		return vfmig_rec_seal(s, dst, VFMIG_REC_SPARSE, len, first << PAGE_SHIFT);
	vfmig_rec_seal_buf(vd, VFMIG_REC_SPARSE, len, first << PAGE_SHIFT);
	return 0;
}

/*
 * Build the next record.  A PAGES or SPARSE record that fits whole in the
 * @room bytes at @dst is built there (device memory copied once) and its
 * length returned; with @by_ref, a PAGES record's header is built in save.rec and
 * its payload left in device memory at save.src (see vfmig_payload_next_ref);
 * any other record is built into save.rec for the caller to copy out, and 0
 * returned.  The stream is the same either way.  A PAGES record has at most
 * @max_pages pages (more than VFMIG_PAYLOAD_MAX_PAGES only @by_ref).
 * -ENODATA when there is no record yet.
 */
static int vfmig_payload_build(struct vfmig_dev *vd, u8 *dst, u64 room, bool by_ref,
			       u32 max_pages)
{
	struct vfmig_save *s = &vd->save;
	u64 first, n;

	s->src = NULL;		/* whatever comes next is built in save.rec */
	if (!s->header_sent) {
		struct vfmig_rec_header *p = (void *)(s->rec + HDR_LEN);

		p->magic = cpu_to_le64(VFMIG_PAYLOAD_MAGIC);
		/*
		 * The lowest version for what may come, so that a state
		 * without known zero pages still resumes on the module before
		 * (versions 3 and 4): SPARSE records only where zero pages are.
		 */
		s->sparse = !bitmap_empty(vd->zero_map, vfmig_pages(vd));
		p->version = cpu_to_le32(s->sparse ? VFMIG_PAYLOAD_VERSION_SPARSE :
					 vfmig_window_direct(vd) ? VFMIG_PAYLOAD_VERSION_RUN :
					 VFMIG_PAYLOAD_VERSION_ZERO);
		p->type_code = cpu_to_le32(vd->type->code);
		p->state_size = cpu_to_le64(vd->mem_size);
		vfmig_rec_seal_buf(vd, VFMIG_REC_HEADER, sizeof(*p), 0);
		s->header_sent = true;
		return 0;
	}
	if (s->nr_dirty) {
		u8 map[VFMIG_SPARSE_HEAD_MAX - sizeof(struct vfmig_rec_sparse)];
		u8 *rec = s->rec;
		u32 len, sent;

		n = vfmig_take_span(vd, max_pages, &first, &sent, map);
		len = n << PAGE_SHIFT;
		if (sent && sent < n)
			return vfmig_build_sparse(vd, dst, room, first, n, sent, map);
		if (!sent) {
			struct vfmig_rec_zero *z = (void *)(s->rec + HDR_LEN);

			/* Named, not sent: the destination zeroes them. */
			z->bytes = cpu_to_le64(len);
			vfmig_hash_sent(vd, first, n);
			vfmig_rec_seal_buf(vd, VFMIG_REC_ZERO, sizeof(*z), first << PAGE_SHIFT);
			return 0;
		}
		if (by_ref) {
			/* The caller copies these bytes before unlocking. */
			s->src = (u8 *)vd->mem + (first << PAGE_SHIFT);
			vfmig_hash_sent(vd, first, n);
			vfmig_rec_seal_buf(vd, VFMIG_REC_PAGES, len, first << PAGE_SHIFT);
			return 0;
		}
		if (dst && room >= REC_OVERHEAD + len)
			rec = dst;
		/* The one copy of device memory a save makes. */
		vfmig_save_copy(vd, rec + HDR_LEN, (u8 *)vd->mem + (first << PAGE_SHIFT), len,
				rec == dst);
		vfmig_hash_sent(vd, first, n);
		if (rec == dst)
			return vfmig_rec_seal(s, dst, VFMIG_REC_PAGES, len,
					      first << PAGE_SHIFT);
		vfmig_rec_seal_buf(vd, VFMIG_REC_PAGES, len, first << PAGE_SHIFT);
		return 0;
	}
	/* The final record only once the device is stopped. */
	if (!(vd->device_state & VFMIG_V1_STATE_RUNNING) && !s->end_sent) {
		struct vfmig_rec_end *e = (void *)(s->rec + HDR_LEN);
		u64 digest;

		e->generation = cpu_to_le64(vd->regs.generation);
		e->seed = cpu_to_le64(vd->regs.seed);
		e->scratch = cpu_to_le64(vd->regs.scratch);
		vfmig_hasher_drain(&vd->hasher);
		digest = vfmig_payload_digest(s->page_hash, vfmig_pages(vd), &vd->regs);
		e->checksum = cpu_to_le64(digest);
		vfmig_rec_seal_buf(vd, VFMIG_REC_END, sizeof(*e), 0);
		s->end_sent = true;
		return 0;
	}
	return -ENODATA;
}

int vfmig_payload_next(struct vfmig_dev *vd, u8 *dst, u64 room)
{
	return vfmig_payload_build(vd, dst, room, false, VFMIG_PAYLOAD_MAX_PAGES);
}

/*
 * As vfmig_payload_next(), with a PAGES record cut short to fit @room when
 * a page or more fits there: chunk_offload's worker copies only records
 * built in place, and a record reaching past a slot's end would be copied
 * twice in the thread that asks for it (into save.rec, then out of it).
 * The caller ends a chunk rather than start a record in less room.
 */
int vfmig_payload_next_fit(struct vfmig_dev *vd, u8 *dst, u64 room)
{
	u64 pages = room > REC_OVERHEAD ? (room - REC_OVERHEAD) >> PAGE_SHIFT : 0;

	if (!pages || pages > VFMIG_PAYLOAD_MAX_PAGES)
		pages = VFMIG_PAYLOAD_MAX_PAGES;
	return vfmig_payload_build(vd, dst, room, false, pages);
}

/*
 * The next record as vfmig_payload_next(vd, NULL, 0) builds it, but a
 * PAGES payload stays in device memory: save.src points at it.  Memory
 * changes only under vd->lock (the dirty generator, a seed fill, a
 * resume), so the caller copies it out under the same hold of the lock and
 * calls vfmig_payload_stage() before dropping it: the bytes sent are the
 * bytes hashed (now, or on the worker before any later change is queued).
 */
int vfmig_payload_next_ref(struct vfmig_dev *vd)
{
	return vfmig_payload_build(vd, NULL, 0, true, VFMIG_PAYLOAD_MAX_PAGES);
}

/*
 * As vfmig_payload_next_ref(), with PAGES records of up to @max_pages
 * (at most VFMIG_PAYLOAD_MAX_RUN_PAGES) for a direct data window, whose
 * payload user space copies out of device memory after the lock is dropped.
 * A page the dirty generator changes meanwhile is marked dirty again and
 * sent again, hashed anew, so the last copy of every page is the one hashed
 * (see kernel/window.c).
 */
int vfmig_payload_next_run(struct vfmig_dev *vd, u32 max_pages)
{
	return vfmig_payload_build(vd, NULL, 0, true, max_pages);
}

size_t vfmig_payload_take(struct vfmig_save *s, size_t n, const struct vfmig_rec_sink *sink)
{
	size_t done = 0, k, got;

	if (s->src && s->rec_pos < HDR_LEN) {
		k = min_t(size_t, n, HDR_LEN - s->rec_pos);
		got = sink->copy(sink->ctx, s->rec + s->rec_pos, k);
		s->rec_pos += got;
		done = got;
		if (got < k)
			return done;
	}
	k = n - done;
	if (s->src)
		got = sink->lend(sink->ctx, s->src + (s->rec_pos - HDR_LEN), k);
	else
		got = sink->copy(sink->ctx, s->rec + s->rec_pos, k);
	s->rec_pos += got;
	return done + got;
}

/* Before the lock is dropped: a record still partly unsent moves to save.rec. */
void vfmig_payload_stage(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	if (!s->src)
		return;
	if (s->rec_pos < s->rec_len)
		memcpy(s->rec + HDR_LEN, s->src, s->rec_len - HDR_LEN);
	s->src = NULL;
}

/*
 * Bytes still to hand out, an estimate (device.md, "Payload format"): each
 * dirty page counted whole, a record header per VFMIG_PAYLOAD_MAX_PAGES of
 * them.  Zero pages make the stream shorter, records cut shorter (scattered
 * pages, a chunk_offload slot's end) longer; it is 0 only when nothing is
 * left, which is all a client's loop relies on.
 */
u64 vfmig_payload_pending(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;
	u64 p = s->rec_len - s->rec_pos + s->ahead_size;

	if (!s->header_sent)
		p += REC_OVERHEAD + sizeof(struct vfmig_rec_header);
	p += s->nr_dirty * PAGE_SIZE +
	     DIV_ROUND_UP(s->nr_dirty, VFMIG_PAYLOAD_MAX_PAGES) * REC_OVERHEAD;
	if (!(vd->device_state & VFMIG_V1_STATE_RUNNING) && !s->end_sent)
		p += REC_OVERHEAD + sizeof(struct vfmig_rec_end);
	return p;
}

/* Stream bytes of @pages pages in PAGES records. */
static u64 vfmig_pages_bytes(u64 pages)
{
	return pages * PAGE_SIZE + DIV_ROUND_UP(pages, VFMIG_PAYLOAD_MAX_PAGES) * REC_OVERHEAD;
}

/*
 * What a stop-copy would still hand out (v2 MIG_DATA_SIZE): the rest of a
 * running save plus its END record, or a whole stream if none runs.
 */
u64 vfmig_payload_stop_copy_size(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;
	u64 end = REC_OVERHEAD + sizeof(struct vfmig_rec_end);

	if (!s->active)
		return REC_OVERHEAD + sizeof(struct vfmig_rec_header) +
		       vfmig_pages_bytes(vfmig_pages(vd)) + end;
	if ((vd->device_state & VFMIG_V1_STATE_RUNNING) && !s->end_sent)
		return vfmig_payload_pending(vd) + end;
	return vfmig_payload_pending(vd);
}

/*
 * Split what a running save has pending into what its first pass over
 * memory still owes (@initial: the header and the dirty pages at or after
 * the cursor) and what was dirtied again behind it (@dirty), as v2's
 * VFIO_MIG_GET_PRECOPY_INFO reports them.  After the first pass everything
 * pending is dirty.
 */
void vfmig_payload_precopy(struct vfmig_dev *vd, u64 *initial, u64 *dirty)
{
	struct vfmig_save *s = &vd->save;
	u64 pending = vfmig_payload_pending(vd), ahead = 0;

	if (!s->wrapped) {
		u64 behind = bitmap_weight(s->dirty, s->cursor);

		ahead = vfmig_pages_bytes(s->nr_dirty - behind) + s->rec_len - s->rec_pos;
		if (!s->header_sent)
			ahead += REC_OVERHEAD + sizeof(struct vfmig_rec_header);
		ahead = min(ahead, pending);
	}
	*initial = ahead;
	*dirty = pending - ahead;
}

int vfmig_payload_resume_begin(struct vfmig_dev *vd)
{
	struct vfmig_resume *r = &vd->resume;

	memset(r, 0, sizeof(*r));
	r->rec = vfmig_kzalloc(VFMIG_REC_SMALL_MAX);
	r->page_hash_size = vfmig_page_hash_size(vd);
	r->page_hash = vfmig_vzalloc(r->page_hash_size);
	if (!r->rec || !r->page_hash) {
		vfmig_payload_resume_end(vd);
		return -ENOMEM;
	}
	r->active = true;
	vfmig_session_hasher_start(vd, r->page_hash);
	memset(&vd->rpipe, 0, sizeof(vd->rpipe));
	vd->rpipe.on = vfmig_chunk_offload_on(vd);
	return 0;
}

/*
 * Bad data, a refused write or an injected fault: the session is poisoned
 * until reset or close.  Memory that already took part of the stream is
 * cleared now, so a half-loaded state can never run.
 */
void vfmig_payload_resume_fail(struct vfmig_dev *vd)
{
	struct vfmig_resume *r = &vd->resume;

	dev_dbg(vd->vdev.dev, "resume refused at record %u%s\n", r->seq,
		r->applied && !r->complete ? ": memory cleared" : "");
	vfmig_window_unbind(vd);
	/* No copy of the worker's may land after the clear. */
	vfmig_hasher_drain(&vd->hasher);
	if (r->applied && !r->complete)
		vfmig_state_clear(vd);
	r->applied = false;
	r->failed = true;
}

/* End the session; an unverified one that changed memory leaves it cleared. */
void vfmig_payload_resume_end(struct vfmig_dev *vd)
{
	struct vfmig_resume *r = &vd->resume;

	vfmig_window_unbind(vd);
	vfmig_hasher_stop(&vd->hasher);
	memset(&vd->rpipe, 0, sizeof(vd->rpipe));
	if (r->applied && !r->complete)
		vfmig_state_clear(vd);
	vfmig_kfree(r->rec, VFMIG_REC_SMALL_MAX);
	vfmig_vfree(r->page_hash, r->page_hash_size);
	memset(r, 0, sizeof(*r));
}

/* What the resume parser may see and change of @vd. */
static struct vfmig_payload_target vfmig_resume_target(struct vfmig_dev *vd)
{
	return (struct vfmig_payload_target) {
		.mem = vd->mem,
		.mem_size = vd->mem_size,
		.type_code = vd->type->code,
		.regs = &vd->regs,
		.zero_map = vd->zero_map,
		.hasher = &vd->hasher,
		.copies_queued = vd->rpipe.on,
	};
}

static void vfmig_resume_note(struct vfmig_dev *vd, bool was_complete)
{
	if (vd->resume.complete && !was_complete)
		dev_dbg(vd->vdev.dev, "resume verified: %u records, END digest equal\n",
			vd->resume.seq);
}

/*
 * Feed resumed bytes to the record parser (payload_parse.c); any
 * inconsistency poisons the session.
 */
int vfmig_payload_feed(struct vfmig_dev *vd, const u8 *buf, u64 len)
{
	const struct vfmig_payload_target t = vfmig_resume_target(vd);
	bool was_complete = vd->resume.complete;

	if (vfmig_payload_parse(&vd->resume, &t, buf, len)) {
		vfmig_payload_resume_fail(vd);
		return -EINVAL;
	}
	vfmig_resume_note(vd, was_complete);
	return 0;
}

/*
 * Resume: user space wrote @len payload bytes into device memory through
 * the direct window (now unbound); the parser takes them as fed.
 */
int vfmig_payload_feed_window(struct vfmig_dev *vd, u64 len)
{
	const struct vfmig_payload_target t = vfmig_resume_target(vd);
	bool was_complete = vd->resume.complete;

	if (vfmig_payload_feed_in_place(&vd->resume, &t, len)) {
		vfmig_payload_resume_fail(vd);
		return -EINVAL;
	}
	vfmig_resume_note(vd, was_complete);
	return 0;
}

struct vfmig_deferred_src {
	struct vfmig_dev *vd;
	const u8 *p;
};

/* Bytes for device memory go on the worker's queue; a record's header now. */
static u64 vfmig_copy_deferred(u8 *dst, u64 n, void *src)
{
	struct vfmig_deferred_src *d = src;
	u8 *mem = d->vd->mem;
	bool to_mem = dst >= mem && dst < mem + d->vd->mem_size;

	/* The parser asks for at most a record's length (u32) at a time. */
	if (!to_mem || !vfmig_hasher_copy(&d->vd->hasher, dst, d->p, n))
		memcpy(dst, d->p, n);
	d->p += n;
	return n;
}

/*
 * As vfmig_payload_feed(), from the data section with chunk_offload: the
 * page bytes are copied into device memory by the worker, in order with
 * the hashes; the caller keeps @buf's bytes unchanged until the worker is
 * past them (migration.c).  The parser's zero pages are cleared on the
 * same queue; every other writer of device memory waits for the worker
 * first (a refused session's clear, the END record's digest).
 */
int vfmig_payload_feed_deferred(struct vfmig_dev *vd, const u8 *buf, u64 len)
{
	const struct vfmig_payload_target t = vfmig_resume_target(vd);
	struct vfmig_deferred_src d = { vd, buf };
	bool was_complete = vd->resume.complete;
	u64 done;

	if (vfmig_payload_feed_from(&vd->resume, &t, len, vfmig_copy_deferred, &d, &done)) {
		vfmig_payload_resume_fail(vd);
		return -EINVAL;
	}
	vfmig_resume_note(vd, was_complete);
	return 0;
}

static u64 vfmig_copy_iter(u8 *dst, u64 n, void *from)
{
	return copy_from_iter(dst, n, from);
}

/*
 * Lock held: feed @len bytes from @from, each copied once (a PAGES payload
 * straight into device memory).  Returns the bytes taken (short if @from faults part
 * way), -EFAULT if none, or -EINVAL (the session poisoned).
 */
ssize_t vfmig_payload_feed_iter(struct vfmig_dev *vd, struct iov_iter *from, size_t len)
{
	const struct vfmig_payload_target t = vfmig_resume_target(vd);
	bool was_complete = vd->resume.complete;
	u64 done;

	lockdep_assert_held(&vd->lock);
	if (vfmig_payload_feed_from(&vd->resume, &t, len, vfmig_copy_iter, from, &done)) {
		vfmig_payload_resume_fail(vd);
		return -EINVAL;
	}
	vfmig_resume_note(vd, was_complete);
	if (!done)
		return -EFAULT;
	return done;
}
