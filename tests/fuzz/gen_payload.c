// SPDX-License-Identifier: GPL-2.0
/*
 * Seed corpus generator for payload_fuzz:
 *
 *   gen_payload DIR   device payloads (kernel/payload.c's records) built with
 *                     the module's own sealing and hashing code
 *                     (kernel/payload_parse.c), each checked to verify
 *
 * Payloads saved by the real module are extracted from engine streams with
 * `gen_corpus extract`.  `make -C tests/fuzz corpus` rewrites the gen-* seeds.
 */
#include <stdio.h>
#include <stdlib.h>

#include "payload_fmt.h"

static const char *outdir;

static void die(const char *what)
{
	fprintf(stderr, "gen_payload: %s failed\n", what);
	exit(1);
}

static void write_file(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f))
		die(path);
	printf("%-40s %7zu bytes\n", path, len);
}

/* ---- device payloads ---- */

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
			die("allocation");
	}
	b->len += n;
	return b->p + b->len - n;
}

/* A PAGES record of n pages from first, as the device's save side sends it. */
static void put_pages(struct payload_buf *b, uint32_t *seq, const uint8_t *mem,
		      __le64 *page_hash, uint64_t first, uint64_t n)
{
	uint8_t *rec = payload_room(b, VFMIG_REC_HDR_LEN + n * PAGE_SIZE);

	memcpy(rec + VFMIG_REC_HDR_LEN, mem + first * PAGE_SIZE, n * PAGE_SIZE);
	vfmig_payload_hash_pages(page_hash, first, n, rec + VFMIG_REC_HDR_LEN);
	vfmig_payload_seal(rec, VFMIG_REC_PAGES, (*seq)++, (uint32_t)(n * PAGE_SIZE),
			   first * PAGE_SIZE);
}

/* A ZERO record naming n all-zero pages from first (version 3). */
static void put_zero(struct payload_buf *b, uint32_t *seq, __le64 *page_hash, uint64_t first,
		     uint64_t n)
{
	uint8_t *rec = payload_room(b, VFMIG_REC_HDR_LEN + sizeof(struct vfmig_rec_zero));
	struct vfmig_rec_zero *z = (void *)(rec + VFMIG_REC_HDR_LEN);

	z->bytes = cpu_to_le64(n * PAGE_SIZE);
	vfmig_payload_hash_zero(page_hash, first, n);
	vfmig_payload_seal(rec, VFMIG_REC_ZERO, (*seq)++, sizeof(*z), first * PAGE_SIZE);
}

/*
 * A SPARSE record over n pages from first (version 5), those in @zero (bit
 * i: page i) named in its map, the others sent.
 */
static void put_sparse(struct payload_buf *b, uint32_t *seq, const uint8_t *mem,
		       __le64 *page_hash, uint64_t first, uint64_t n, uint16_t zero)
{
	uint32_t head = sizeof(struct vfmig_rec_sparse) + 8 * VFMIG_SPARSE_MAP_WORDS(n), sent = 0;
	uint8_t map[8] = { 0 }, *rec, *q;
	struct vfmig_rec_sparse sp;
	uint64_t i;

	for (i = 0; i < n; i++)
		if (!(zero & (1u << (first + i)))) {
			map[i / 8] |= (uint8_t)(1u << (i % 8));
			sent++;
		}
	rec = payload_room(b, VFMIG_REC_HDR_LEN + head + sent * PAGE_SIZE);
	sp.pages = cpu_to_le32((uint32_t)n);
	sp.sent = cpu_to_le32(sent);
	q = rec + VFMIG_REC_HDR_LEN;
	memcpy(q, &sp, sizeof(sp));
	memcpy(q + sizeof(sp), map, sizeof(map));
	q += head;
	for (i = 0; i < n; i++) {
		vfmig_payload_hash_pages(page_hash, first + i, 1, mem + (first + i) * PAGE_SIZE);
		if (map[i / 8] & (1u << (i % 8))) {
			memcpy(q, mem + (first + i) * PAGE_SIZE, PAGE_SIZE);
			q += PAGE_SIZE;
		}
	}
	vfmig_payload_seal(rec, VFMIG_REC_SPARSE, (*seq)++, head + sent * (uint32_t)PAGE_SIZE,
			   first * PAGE_SIZE);
}

struct payload_case {
	const char *name;
	unsigned int pages;	/* 1..16 */
	uint8_t split;		/* payload_fuzz's byte 1 */
	unsigned int run;	/* pages per PAGES record, 1..16 */
	unsigned int resend;	/* pages changed and sent again after the first pass */
	bool end;		/* with the END record */
	uint16_t zero;		/* pages (bit i: page i) that are all zero */
	bool zero_as_pages;	/* send them in PAGES records, not ZERO */
	unsigned int sparse;	/* 2..16: first pass in spans of this many pages, mixed ones SPARSE */
};

/*
 * payload_fuzz input: pages - 1, split, then the payload: HEADER, a pass
 * over memory, resent pages (as a pre-copy round after the guest wrote),
 * END; then checked with the parser as payload_fuzz runs it.
 */
static void gen_payload(const struct payload_case *pc)
{
	uint64_t pages = pc->pages, mem_size = pages * PAGE_SIZE, i, n;
	uint8_t *mem = malloc(mem_size), *dst = calloc(1, mem_size);
	__le64 *hash = calloc(pages, sizeof(__le64));
	struct payload_buf b = { 0 };
	struct vfmig_regs regs = { .generation = 3, .seed = pc->pages * 77, .scratch = 0xabcd };
	struct vfmig_rec_header *hd;
	struct vfmig_rec_end *e;
	struct vfmig_resume r = { 0 };
	struct vfmig_regs dregs = { 0 };
	struct vfmig_payload_target t = { dst, mem_size, 1, &dregs, NULL, NULL, false };
	uint32_t seq = 0, x = pc->pages * 2654435761u + pc->resend;
	uint8_t *rec;

	if (!mem || !dst || !hash)
		die("allocation");
	for (i = 0; i < mem_size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		mem[i] = (uint8_t)x;
	}
	payload_room(&b, 2);
	b.p[0] = (uint8_t)(pc->pages - 1);
	b.p[1] = pc->split;
	rec = payload_room(&b, VFMIG_REC_HDR_LEN + sizeof(*hd));
	hd = (void *)(rec + VFMIG_REC_HDR_LEN);
	hd->magic = cpu_to_le64(VFMIG_PAYLOAD_MAGIC);
	hd->version = cpu_to_le32(VFMIG_PAYLOAD_VERSION);
	hd->type_code = cpu_to_le32(1);
	hd->state_size = cpu_to_le64(mem_size);
	vfmig_payload_seal(rec, VFMIG_REC_HEADER, seq++, sizeof(*hd), 0);
	for (i = 0; i < pages; i++)
		if (pc->zero & (1u << i))
			memset(mem + i * PAGE_SIZE, 0, PAGE_SIZE);
	/* Spans with zero and other pages in one SPARSE record each. */
	for (i = 0; pc->sparse && i < pages; i += n) {
		uint16_t in = (uint16_t)(((1u << pc->sparse) - 1) << i);

		n = pc->sparse < pages - i ? pc->sparse : pages - i;
		in &= (uint16_t)(((1u << n) - 1) << i);
		if ((pc->zero & in) == in)
			put_zero(&b, &seq, hash, i, n);
		else if (!(pc->zero & in) || n == 1)
			put_pages(&b, &seq, mem, hash, i, n);
		else
			put_sparse(&b, &seq, mem, hash, i, n, pc->zero);
	}
	/* Runs of zero pages named in one ZERO record each, as the device does. */
	for (i = 0; !pc->sparse && i < pages; i += n) {
		bool z = !pc->zero_as_pages && (pc->zero & (1u << i));

		for (n = 1; n < (z ? pages : pc->run) && i + n < pages &&
		     (!pc->zero_as_pages && (pc->zero & (1u << (i + n)))) == z; n++)
			;
		if (z)
			put_zero(&b, &seq, hash, i, n);
		else
			put_pages(&b, &seq, mem, hash, i, n);
	}
	for (i = 0; i < pc->resend; i++) {
		uint64_t pg = (i * 5 + 1) % pages;

		mem[pg * PAGE_SIZE + i] ^= 0xff;
		put_pages(&b, &seq, mem, hash, pg, 1);
	}
	if (pc->end) {
		rec = payload_room(&b, VFMIG_REC_HDR_LEN + sizeof(*e));
		e = (void *)(rec + VFMIG_REC_HDR_LEN);
		e->generation = cpu_to_le64(regs.generation);
		e->seed = cpu_to_le64(regs.seed);
		e->scratch = cpu_to_le64(regs.scratch);
		e->checksum = cpu_to_le64(vfmig_payload_digest(hash, pages, &regs));
		vfmig_payload_seal(rec, VFMIG_REC_END, seq++, sizeof(*e), 0);
	}
	/* It verifies (whole, in one write) into memory equal to the source's. */
	r.rec = malloc(VFMIG_REC_SMALL_MAX);
	r.page_hash = calloc(pages, sizeof(__le64));
	if (!r.rec || !r.page_hash)
		die("allocation");
	if (vfmig_payload_parse(&r, &t, b.p + 2, b.len - 2) || r.complete != pc->end ||
	    (pc->end && memcmp(dst, mem, mem_size)))
		die(pc->name);
	write_file(pc->name, b.p, b.len);
	free(r.rec);
	free(r.page_hash);
	free(b.p);
	free(hash);
	free(mem);
	free(dst);
}

static const struct payload_case payload_cases[] = {
	{ "gen-1page", 1, 0, 1, 0, true, 0, false, 0 },
	{ "gen-4pages-split", 4, 7, 2, 0, true, 0, false, 0 },
	{ "gen-16pages", 16, 0, 16, 0, true, 0, false, 0 },
	{ "gen-16pages-runs3-split", 16, 3, 3, 0, true, 0, false, 0 },
	{ "gen-16pages-resend", 16, 0, 16, 6, true, 0, false, 0 },
	{ "gen-9pages-resend-split", 9, 200, 4, 5, true, 0, false, 0 },
	{ "gen-8pages-no-end", 8, 11, 8, 0, false, 0, false, 0 },
	{ "gen-2pages-tiny-split", 2, 1, 1, 1, true, 0, false, 0 },
	{ "gen-12pages-runs5-resend", 12, 0, 5, 9, true, 0, false, 0 },
	{ "gen-16pages-runs1-split", 16, 42, 1, 3, true, 0, false, 0 },
	{ "gen-16pages-zero", 16, 0, 4, 0, true, 0xf0f3, false, 0 },
	{ "gen-16pages-zero-resend-split", 16, 9, 16, 4, true, 0x0ff6, false, 0 },
	{ "gen-8pages-allzero", 8, 0, 8, 0, true, 0xff, false, 0 },
	{ "gen-8pages-zero-as-pages", 8, 5, 8, 0, true, 0x5a, true, 0 },
	{ "gen-16pages-sparse", 16, 0, 16, 0, true, 0xf0f3, false, 16 },
	{ "gen-16pages-sparse5-resend-split", 16, 13, 16, 3, true, 0x6d5a, false, 5 },
	{ "gen-15pages-sparse2-split", 15, 37, 16, 0, true, 0x2aaa, false, 2 },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: gen_payload DIR\n");
		return 2;
	}
	outdir = argv[1];
	for (i = 0; i < sizeof(payload_cases) / sizeof(payload_cases[0]); i++)
		gen_payload(&payload_cases[i]);
	return 0;
}
