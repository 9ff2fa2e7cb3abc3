// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the device's payload parser (kernel/payload_parse.c,
 * the code vfmig.ko runs on every data_size write while RESUMING), built on
 * the host with payload_host.h.
 *
 * Input: byte 0 sets the device (memory of (b0 & 15) + 1 pages, type code 1
 * as vfmig-small; bit 4: a direct data window, which writes a piece that
 * lands inside a PAGES payload into memory itself and accounts for it with
 * vfmig_payload_feed_in_place(), as kernel/window.c does), byte 1 how the rest is cut into data_size writes (0: one
 * write; else a pattern of tiny, page-sized, record-sized and whole pieces
 * drawn from it; an odd byte 1 also cuts each piece's copy short at a drawn
 * point and feeds the rest after, as a faulting write is retried), the rest
 * is the payload.  Each piece is fed from its own exactly sized buffer, as
 * the kernel feeds from the data section, and the parser's buffers are
 * allocated at their kernel sizes, so ASan sees any access beyond them.
 * Feeding stops at the first refusal, as the device refuses every write
 * after one.
 *
 * Besides the sanitizers, the target aborts when
 *  - a resume is verified (complete) but a page of memory differs from what
 *    its recorded hash says: the END digest would then vouch for state the
 *    device does not hold;
 *  - complete without the HEADER record, or without anything applied;
 *  - the parser's assembly position leaves its bounds;
 *  - a page the zero map marks zero is not all zero.
 */
#include <stdio.h>
#include <stdlib.h>

#include "payload_fmt.h"
#include "short_src.h"

#define FUZZ_TYPE_CODE	1u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void finding(const char *what)
{
	fprintf(stderr, "payload_fuzz: %s\n", what);
	abort();
}

static u64 next_piece(u32 *x, u64 left)
{
	u64 n;

	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	switch (*x % 5) {
	case 0:
		n = left;
		break;
	case 1:
		n = 1 + (*x >> 8) % 40;		/* splits record headers */
		break;
	case 2:
		n = PAGE_SIZE;
		break;
	case 3:
		n = 4 * PAGE_SIZE;		/* vfmig-small's data section */
		break;
	default:
		n = VFMIG_REC_HDR_LEN + (1 + (*x >> 8) % VFMIG_PAYLOAD_MAX_PAGES) * PAGE_SIZE;
		break;
	}
	return n < left ? n : left;
}

/*
 * The v2 resuming file's way (vfmig_payload_feed_iter): the piece through
 * the copy callback, cut short at a drawn point and then resumed with the
 * rest, as a writer retries after a short write.
 */
static int feed_short(struct vfmig_resume *r, const struct vfmig_payload_target *t,
		      const u8 *p, u64 len, u32 *x)
{
	struct short_src s = { p, 0 };
	u64 done, left = len;

	while (left) {
		*x ^= *x << 13;
		*x ^= *x >> 17;
		*x ^= *x << 5;
		s.budget = 1 + *x % left;
		if (vfmig_payload_feed_from(r, t, left, copy_short, &s, &done))
			return -EINVAL;
		if (!done || done != (u64)(s.p - p) - (len - left))
			finding("feed_from took other than what it copied");
		left -= done;
	}
	return 0;
}

/*
 * A direct window's way: while the parser is inside a PAGES payload, the
 * bytes it still expects go straight into memory and are accounted for in
 * place; anything else is fed as the data section's bytes.
 */
static int feed_window(struct vfmig_resume *r, const struct vfmig_payload_target *t,
		       const u8 *p, u64 len)
{
	while (len) {
		u64 mem_off, due = vfmig_payload_resume_run(r, &mem_off), n;

		if (!due)
			return vfmig_payload_parse(r, t, p, len);
		n = due < len ? due : len;
		if (mem_off >= t->mem_size || n > t->mem_size - mem_off)
			finding("resume_run points outside memory");
		memcpy(t->mem + mem_off, p, n);
		if (vfmig_payload_feed_in_place(r, t, n))
			finding("feed_in_place refused what resume_run offered");
		p += n;
		len -= n;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vfmig_resume r = { 0 };
	struct vfmig_regs regs = { 0 };
	struct vfmig_payload_target t = { 0 };
	u64 pages, i, left;
	u32 x;
	bool steps, direct;
	u16 kind;
	int ret = 0;

	if (size < 2)
		return 0;
	pages = (data[0] & 15) + 1;
	direct = data[0] & 16;
	x = data[1] ? (u32)data[1] * 2654435761u : 0;
	steps = data[1] & 1;
	data += 2;
	size -= 2;

	t.mem_size = pages * PAGE_SIZE;
	t.mem = malloc(t.mem_size);
	t.type_code = FUZZ_TYPE_CODE;
	t.regs = &regs;
	/* Half the pages start known zero (and are), as on a device. */
	t.zero_map = calloc(1, sizeof(unsigned long));
	r.rec = malloc(VFMIG_REC_SMALL_MAX);
	r.page_hash_size = pages * sizeof(__le64);
	r.page_hash = calloc(1, r.page_hash_size);
	if (!t.mem || !r.rec || !r.page_hash || !t.zero_map)
		finding("out of memory");
	memset(t.mem, 0x5a, t.mem_size);
	for (i = 0; t.zero_map && i < pages; i += 2) {
		memset(t.mem + i * PAGE_SIZE, 0, PAGE_SIZE);
		__set_bit(i, t.zero_map);
	}
	r.active = true;

	for (left = size; left && !ret; ) {
		u64 n = x ? next_piece(&x, left) : left;
		u8 *piece = malloc(n);

		if (!piece)
			finding("out of memory");
		memcpy(piece, data + (size - left), n);
		if (direct)
			ret = feed_window(&r, &t, piece, n);
		else if (steps)
			ret = feed_short(&r, &t, piece, n, &x);
		else
			ret = vfmig_payload_parse(&r, &t, piece, n);
		free(piece);
		left -= n;
		if (ret && ret != -EINVAL)
			finding("refusal other than -EINVAL");
		kind = le16_to_cpu(((struct vfmig_rec_hdr *)r.rec)->kind);
		if (!ret && (r.rec_pos > (r.rec_len ? r.rec_len : VFMIG_REC_HDR_LEN) ||
			     r.rec_len > VFMIG_REC_HDR_LEN + VFMIG_PAYLOAD_MAX_RUN_PAGES * PAGE_SIZE ||
			     r.sparse_head > VFMIG_SPARSE_HEAD_MAX ||
			     (r.rec_pos > VFMIG_REC_SMALL_MAX && kind != VFMIG_REC_PAGES &&
			      !(kind == VFMIG_REC_SPARSE && r.sparse_head))))
			finding("assembly position out of bounds");
	}
	/* A page the map says is zero must be, verified or not. */
	for (i = 0; i < pages; i++)
		if (test_bit(i, t.zero_map) && memchr_inv(t.mem + i * PAGE_SIZE, 0, PAGE_SIZE))
			finding("a page the zero map calls zero is not");
	if (r.complete) {
		if (!r.header_seen || !r.applied)
			finding("complete without HEADER or without anything applied");
		for (i = 0; i < pages; i++) {
			const u8 *pg = t.mem + i * PAGE_SIZE;
			__le64 want[16];

			/* Version 3 hashes an all-zero page by its index alone. */
			if (r.version == VFMIG_PAYLOAD_VERSION_PREV)
				want[i] = cpu_to_le64(xxh64(pg, PAGE_SIZE, i));
			else
				vfmig_payload_hash_pages(want, i, 1, pg);
			if (r.page_hash[i] != want[i])
				finding("verified resume, but memory differs from its page hash");
		}
	}
	free(r.page_hash);
	free(r.rec);
	free(t.mem);
	free(t.zero_map);
	return 0;
}
