// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "device": what the device does beyond the protocol basics that
 * migration_test.c covers, again driven through the v1 region by hand:
 * convergence and non-convergence of pre-copy against the dirty rate, resume
 * into a smaller data section (chunks split as QEMU splits them), the
 * injected faults with their exact errors and states and recovery by reset,
 * the statistics counters, allocation accounting across create/open/migrate/
 * remove cycles, a large device state, and the fill knob with the ZERO
 * records it leads to.
 *
 * Environment: VFMIG_BIG_STATE=<MiB> sets the large-state test's size
 * (unset or empty: 1024, which needs a guest with about 3 GiB, as
 * run-checks.sh gives it; in a smaller guest that default falls back to 256
 * and says so).
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "util.h"

#define PAGE		4096ULL
#define KiB		1024ULL
#define MiB		(1024 * KiB)


static uint64_t knob(struct dev *d, const char *name)
{
	return st_knob(d->uuid, name);
}

static int knob_set(struct dev *d, const char *name, const char *value)
{
	return vfmig_knob_write(d->uuid, name, value, &(struct vfmig_err){ 0 });
}

static int knob_str(struct dev *d, const char *name, char *buf, size_t len)
{
	return vfmig_knob_read(d->uuid, name, buf, len, &(struct vfmig_err){ 0 });
}

/* Stop-and-copy from wherever the device is until pending_bytes reads 0. */
static int save_rest(struct dev *d, struct st_stream *s, bool use_mmap)
{
	uint64_t pending, size;

	if (set_state(d, VFMIG_V1_STATE_SAVING))
		return -1;
	do {
		if (st_save_chunk(d, s, use_mmap, &pending, &size))
			return -1;
		if (pending && !size)
			return -1;	/* a stopped device must make progress */
	} while (pending);
	return set_state(d, VFMIG_V1_STATE_STOP);
}

static int checksums_equal(struct dev *a, struct dev *b)
{
	uint64_t x = knob(a, "checksum"), y = knob(b, "checksum");

	if (x != y)
		tap_diag("checksums differ: %016llx vs %016llx", (unsigned long long)x,
			 (unsigned long long)y);
	return x == y;
}

/* The stream's chunks in one buffer (the caller frees it); NULL without memory. */
static uint8_t *stream_flat(const struct st_stream *s)
{
	uint8_t *all = malloc(s->bytes ? s->bytes : 1), *p = all;

	if (!all)
		return NULL;
	for (unsigned int i = 0; i < s->n; i++) {
		memcpy(p, s->c[i].data, s->c[i].size);
		p += s->c[i].size;
	}
	return all;
}

/* The kind and payload length of the record header at @p. */
static void rec_kind_len(const uint8_t *p, uint16_t *kind, uint32_t *len)
{
	memcpy(kind, p + offsetof(struct vfmig_rec_hdr, kind), 2);
	memcpy(len, p + offsetof(struct vfmig_rec_hdr, len), 4);
}

/*
 * Passes over memory a stream shows: the PAGES records' offsets rise within a
 * pass; each time one starts below where the previous one ended, the save
 * wrapped round to resend pages dirtied behind it.  -1 if the stream does not
 * parse.
 */
static long stream_passes(const struct st_stream *s)
{
	uint64_t total = s->bytes, pos = 0, prev_end = 0;
	long passes = 0;
	uint8_t *all = stream_flat(s);

	if (!all)
		return -1;
	while (pos + VFMIG_REC_HDR_LEN <= total) {
		uint16_t kind;
		uint32_t len;
		uint64_t off;

		rec_kind_len(all + pos, &kind, &len);
		memcpy(&off, all + pos + offsetof(struct vfmig_rec_hdr, offset), 8);
		if (!rec_magic_ok(all + pos)) {
			passes = -1;
			break;
		}
		if (kind == VFMIG_REC_PAGES || kind == VFMIG_REC_ZERO || kind == VFMIG_REC_SPARSE) {
			uint64_t span = len;
			uint32_t pages;

			/* A ZERO or SPARSE record's span is in its payload (payload.h). */
			if (kind == VFMIG_REC_ZERO && len == 8 && pos + VFMIG_REC_HDR_LEN + 8 <= total)
				memcpy(&span, all + pos + VFMIG_REC_HDR_LEN, 8);
			if (kind == VFMIG_REC_SPARSE && len >= 4 &&
			    pos + VFMIG_REC_HDR_LEN + 4 <= total) {
				memcpy(&pages, all + pos + VFMIG_REC_HDR_LEN, 4);
				span = (uint64_t)pages * PAGE;
			}
			if (!passes || off < prev_end)
				passes++;
			prev_end = off + span;
		}
		pos += VFMIG_REC_HDR_LEN + len;
	}
	if (passes >= 0 && pos != total)
		passes = -1;
	free(all);
	return passes;
}

/* Both devices closed, every mdev removed: a passed test's end. */
static int close_pair(struct dev *a, struct dev *b)
{
	dev_close(a);
	dev_close(b);
	st_remove_all();
	return TAP_PASS;
}

static int test_load(void)
{
	st_remove_all();
	if (vfmig_module_is_loaded())
		CHECK(vfmig_module_unload(st_ctx()) == 0, "unload first");
	CHECK(st_load_module("max_devices=8") == 0, "load");
	return TAP_PASS;
}

/* stat_bytes_dirtied (and generation) move only while open, RUNNING and dirty_rate > 0. */
static int test_dirty_stats(void)
{
	const char *setup[] = { "state_size", "1048576", "data_size", "65536", NULL };
	const uint64_t rate = 4 * MiB;
	uint64_t b0, b1, g0, g1, b;
	double t0, t1;
	struct dev d;

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(&d, "vfmig-large", 1, setup) == 0, "open");
	b0 = knob(&d, "stat_bytes_dirtied");
	g0 = knob(&d, "generation");
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") == b0 && knob(&d, "generation") == g0,
	      "dirtied with dirty_rate 0");

	t0 = now_s();
	CHECK(knob_set(&d, "dirty_rate", "4194304") == 0, "dirty_rate");
	sleep_ms(300);
	CHECK(knob_set(&d, "dirty_rate", "0") == 0, "dirty_rate 0");
	t1 = now_s();
	b1 = knob(&d, "stat_bytes_dirtied");
	g1 = knob(&d, "generation");
	CHECK(b1 > b0, "nothing dirtied in 300 ms at %llu B/s", (unsigned long long)rate);
	/* Rate-limited by the clock: never more than rate x elapsed. */
	CHECK(b1 - b0 <= (uint64_t)(rate * (t1 - t0)) + PAGE,
	      "%llu bytes dirtied in %.3f s at %llu B/s", (unsigned long long)(b1 - b0),
	      t1 - t0, (unsigned long long)rate);
	/* Every dirtied page bumps the generation once. */
	CHECK((g1 - g0) * PAGE == b1 - b0, "generation +%llu for %llu bytes",
	      (unsigned long long)(g1 - g0), (unsigned long long)(b1 - b0));
	tap_diag("%llu bytes dirtied in %.3f s at %llu B/s", (unsigned long long)(b1 - b0),
		 t1 - t0, (unsigned long long)rate);

	/* dirty_rate 0: still at once. */
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") == b1, "dirtied after dirty_rate 0");

	/* Stopped or stop-and-copy: still. */
	CHECK(set_state(&d, VFMIG_V1_STATE_STOP) == 0, "stop");
	CHECK(knob_set(&d, "dirty_rate", "4194304") == 0, "dirty_rate");
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") == b1, "dirtied while stopped");
	CHECK(set_state(&d, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") == b1, "dirtied in stop-and-copy");

	/* RUNNING again: it grows again; pre-copy is RUNNING too. */
	CHECK(set_state(&d, VFMIG_V1_STATE_RUNNING) == 0, "running");
	sleep_ms(200);
	b = knob(&d, "stat_bytes_dirtied");
	CHECK(b > b1, "nothing dirtied after returning to RUNNING");
	CHECK(set_state(&d, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") > b, "nothing dirtied in pre-copy");

	/* Error state (no RUNNING bit) and a closed device: still. */
	CHECK(knob_set(&d, "fault", "error") == 0 && state_of(&d) == VFMIG_V1_STATE_ERROR, "error");
	b = knob(&d, "stat_bytes_dirtied");
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") == b, "dirtied in the error state");
	CHECK(dev_reset(&d) == 0 && state_of(&d) == VFMIG_V1_STATE_RUNNING, "reset");
	dev_close(&d);
	b = knob(&d, "stat_bytes_dirtied");
	sleep_ms(200);
	CHECK(knob(&d, "stat_bytes_dirtied") == b, "dirtied while closed");
	st_remove_all();
	return TAP_PASS;
}

/*
 * Pre-copy with a reader draining at most one 16 KiB chunk per >= 10 ms
 * round (<= 1.6 MB/s), over 1 MiB of device memory, then stop-and-copy and
 * resume.  @rate: dirty_rate.  Returns the lowest pending_bytes seen and the
 * rounds until pending_bytes fell to @target (or @max_rounds).
 */
static int precopy_run(unsigned int n, const char *rate, unsigned int max_rounds,
		       uint64_t target, uint64_t *min_pending, unsigned int *rounds)
{
	const char *setup[] = { "state_size", "1048576", "mmap_layout", "none",
				"data_size", "16384", "data_offset_policy", "fixed",
				"dirty_rate", rate, NULL };
	/* The destination generates nothing, or it would change before the compare. */
	const char *setup_b[] = { "state_size", "1048576", "mmap_layout", "none",
				  "data_size", "16384", "data_offset_policy", "fixed", NULL };
	uint64_t pending = 0, size, first = 0, chunks_written;
	struct st_stream s = { 0 };
	struct dev a, b;
	long passes, writes;

	CHECK(dev_open(&a, "vfmig-large", n, setup) == 0 &&
	      dev_open(&b, "vfmig-large", n + 1, setup_b) == 0, "open");
	CHECK(knob_set(&a, "seed", "11") == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	*min_pending = UINT64_MAX;
	for (*rounds = 0; *rounds < max_rounds; (*rounds)++) {
		CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0, "round %u", *rounds);
		if (!*rounds)
			first = pending;
		if (pending < *min_pending)
			*min_pending = pending;
		if (pending <= target)
			break;
		CHECK(size > 0 && size <= 16384, "pending %llu but chunk of %llu",
		      (unsigned long long)pending, (unsigned long long)size);
		sleep_ms(10);
	}
	/* The first pass sends everything: all 256 pages are pending at first. */
	CHECK(first >= MiB, "first pending_bytes %llu", (unsigned long long)first);
	CHECK(save_rest(&a, &s, false) == 0, "stop-and-copy");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	writes = st_resume_split(&b, &s, false, NULL);
	CHECK(writes == (long)s.n, "resume: %ld of %u chunks", writes, s.n);
	CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume complete");
	CHECK(checksums_equal(&a, &b), "rate %s", rate);

	/* Statistics: what the test moved, and the passes the stream shows. */
	passes = stream_passes(&s);
	CHECK(passes >= 1, "stream does not parse");
	CHECK(knob(&a, "stat_iterations") == (uint64_t)passes, "stat_iterations %llu, stream shows %ld passes",
	      (unsigned long long)knob(&a, "stat_iterations"), passes);
	CHECK(knob(&a, "stat_chunks_saved") == s.n, "stat_chunks_saved %llu of %u",
	      (unsigned long long)knob(&a, "stat_chunks_saved"), s.n);
	CHECK(knob(&a, "stat_bytes_saved") == s.bytes, "stat_bytes_saved");
	chunks_written = knob(&b, "stat_chunks_restored");
	CHECK(chunks_written == s.n && knob(&b, "stat_bytes_restored") == s.bytes,
	      "stat_chunks_restored %llu of %u", (unsigned long long)chunks_written, s.n);
	tap_diag("dirty_rate %s: %u pre-copy rounds, pending %llu -> min %llu, %ld passes, %u chunks",
		 rate, *rounds, (unsigned long long)first, (unsigned long long)*min_pending,
		 passes, s.n);
	st_stream_free(&s);
	return close_pair(&a, &b);
}

/* Dirtying 100x slower than the drain: pending_bytes falls to a few pages. */
static int test_precopy_converges(void)
{
	uint64_t min_pending;
	unsigned int rounds;
	int ret;

	st_remove_all();	/* what a failed test left behind */
	/* 8 KiB/s: two pages a second against a drain of >= 1.6 MB/s at best. */
	ret = precopy_run(10, "8192", 400, 16 * KiB, &min_pending, &rounds);
	if (ret != TAP_PASS)
		return ret;
	/* Without dirtying 1 MiB drains in 65 rounds; allow six times as many. */
	CHECK(min_pending <= 16 * KiB, "pre-copy did not converge in %u rounds (min pending %llu)",
	      rounds, (unsigned long long)min_pending);
	return TAP_PASS;
}

/*
 * Dirtying 100x faster than the drain can take (160 MiB/s: every 10 ms tick
 * redirties the whole 1 MiB): over 150 rounds, enough to drain the memory
 * twice over if nothing were dirtied, pending_bytes stays above half of it.
 */
static int test_precopy_diverges(void)
{
	uint64_t min_pending;
	unsigned int rounds;
	int ret;

	st_remove_all();	/* what a failed test left behind */
	ret = precopy_run(20, "167772160", 150, 0, &min_pending, &rounds);
	if (ret != TAP_PASS)
		return ret;
	CHECK(rounds == 150, "pending reached 0 after %u rounds", rounds);
	CHECK(min_pending >= 512 * KiB, "pending fell to %llu: the dirty rate did not hold it up",
	      (unsigned long long)min_pending);
	return TAP_PASS;
}

/* A source save with dirtying, for resuming into other configurations. */
static int save_source(struct dev *a, struct st_stream *s, bool use_mmap)
{
	uint64_t pending, size;

	if (knob_set(a, "seed", "21") || knob_set(a, "dirty_rate", "4194304") ||
	    set_state(a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING))
		return -1;
	for (int i = 0; i < 20; i++) {
		if (st_save_chunk(a, s, use_mmap, &pending, &size))
			return -1;
		sleep_ms(5);
	}
	return save_rest(a, s, use_mmap);
}

/*
 * Split path: a 64 KiB-chunk stream resumed into destinations with 4 and 16
 * KiB data sections, trapped and mapped, with data_offset policies that move
 * the window (so pieces are cut at the region end, as QEMU cuts them).
 */
static int test_resume_split(void)
{
	const char *src_setup[] = { "state_size", "1048576", "data_size", "65536",
				    "mmap_layout", "whole", NULL };
	static const struct { const char *size, *layout, *policy; bool mmap; } dst[] = {
		{ "4096", "none", "fixed", false },
		{ "16384", "none", "rotate", false },
		{ "16384", "whole", "fixed", true },
		{ "20480", "sparse:2", "straddle", true },
		{ "20480", "sparse:3", "gap", false },
	};
	struct st_stream s = { 0 };
	struct dev a;

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(&a, "vfmig-large", 30, src_setup) == 0, "open source");
	CHECK(vfmig_vfio_map_migration(&a.v, true, &(struct vfmig_err){ 0 }) == 0, "map");
	CHECK(save_source(&a, &s, true) == 0, "save");
	CHECK(s.n > 16, "only %u chunks", s.n);

	for (unsigned int i = 0; i < TAP_COUNT(dst); i++) {
		const char *setup[] = { "state_size", "1048576", "mmap_layout", dst[i].layout,
					"data_size", dst[i].size,
					"data_offset_policy", dst[i].policy, NULL };
		struct dev b;
		long writes;

		CHECK(dev_open(&b, "vfmig-large", 31 + i, setup) == 0, "open %s", dst[i].size);
		CHECK(vfmig_vfio_map_migration(&b.v, dst[i].mmap, &(struct vfmig_err){ 0 }) == 0,
		      "map");
		CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
		writes = st_resume_split(&b, &s, dst[i].mmap, NULL);
		CHECK(writes > (long)s.n, "%s/%s/%s: %ld writes for %u chunks", dst[i].size,
		      dst[i].layout, dst[i].policy, writes, s.n);
		CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "resume complete");
		CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "stop");
		CHECK(checksums_equal(&a, &b), "%s/%s/%s", dst[i].size, dst[i].layout,
		      dst[i].policy);
		CHECK(knob(&b, "stat_chunks_restored") == (uint64_t)writes &&
		      knob(&b, "stat_bytes_restored") == s.bytes,
		      "stat_chunks_restored %llu, %ld writes", (unsigned long long)knob(&b, "stat_chunks_restored"),
		      writes);
		tap_diag("data_size %s %s %s: %u chunks in %ld pieces", dst[i].size,
			 dst[i].layout, dst[i].policy, s.n, writes);
		dev_close(&b);
	}
	st_stream_free(&s);
	dev_close(&a);
	st_remove_all();
	return TAP_PASS;
}

/* A poisoned resume: every protocol access refused, RESUMING kept until reset. */
static int expect_poisoned(struct dev *b)
{
	uint64_t v;

	CHECK(state_of(b) == VFMIG_V1_STATE_RESUMING, "state %u", state_of(b));
	CHECK(rd64(b, HDR(data_offset), &v) == -EINVAL, "data_offset after poisoning");
	CHECK(wr64(b, HDR(data_size), 16) == -EINVAL, "data_size after poisoning");
	CHECK(set_state(b, VFMIG_V1_STATE_RUNNING) == -EINVAL, "RUNNING after poisoning");
	CHECK(set_state(b, VFMIG_V1_STATE_STOP) == -EINVAL, "STOP after poisoning");
	CHECK(state_of(b) == VFMIG_V1_STATE_RESUMING, "state %u", state_of(b));
	CHECK(dev_reset(b) == 0 && state_of(b) == VFMIG_V1_STATE_RUNNING, "reset");
	return TAP_PASS;
}

/* crc32_le(~0, ...) as the kernel computes a record header's crc (no final xor). */
static uint32_t hdr_crc(const uint8_t *p)
{
	uint32_t crc = ~0u;

	for (int i = 0; i < (int)VFMIG_REC_HDR_LEN - 4; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
	}
	return crc;
}

/*
 * @s flattened and rebuilt without its PAGES record number @drop (-1: none),
 * later records renumbered and every header's crc recomputed, cut into
 * @piece-byte chunks.
 */
static int stream_rebuild(const struct st_stream *s, int drop, uint64_t piece, struct st_stream *out)
{
	uint8_t *all = stream_flat(s), *res = malloc(s->bytes), *dst;
	uint64_t pos = 0, len_out = 0;
	int pages = 0, ret = -1;
	uint32_t seq = 0;

	if (!all || !res)
		goto out;
	while (pos + VFMIG_REC_HDR_LEN <= s->bytes) {
		uint32_t len, crc;
		uint16_t kind;

		rec_kind_len(all + pos, &kind, &len);
		if (!rec_magic_ok(all + pos) || len > s->bytes - pos - VFMIG_REC_HDR_LEN)
			goto out;
		if (kind == VFMIG_REC_PAGES && pages++ == drop) {
			pos += VFMIG_REC_HDR_LEN + len;
			continue;
		}
		memcpy(res + len_out, all + pos, VFMIG_REC_HDR_LEN + len);
		memcpy(res + len_out + 8, &seq, 4);
		crc = hdr_crc(res + len_out);
		memcpy(res + len_out + 24, &crc, 4);
		seq++;
		len_out += VFMIG_REC_HDR_LEN + len;
		pos += VFMIG_REC_HDR_LEN + len;
	}
	if (pos != s->bytes)
		goto out;
	for (pos = 0; pos < len_out; pos += piece) {
		uint64_t n = len_out - pos < piece ? len_out - pos : piece;

		if (st_stream_add(out, n, &dst))
			goto out;
		memcpy(dst, res + pos, n);
	}
	ret = 0;
out:
	free(all);
	free(res);
	return ret;
}

/*
 * The resume-refusal and fault tests' pair: two 256 KiB vfmig-large devices
 * (numbers n and n + 1), trapped data section, 16 KiB chunks, no other mdev.
 */
static int open_trapped_pair(struct dev *a, struct dev *b, unsigned int n)
{
	const char *setup[] = { "state_size", "262144", "mmap_layout", "none",
				"data_size", "16384", NULL };

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(a, "vfmig-large", n, setup) == 0 &&
	      dev_open(b, "vfmig-large", n + 1, setup) == 0, "open");
	return TAP_PASS;
}

/*
 * The END digest covers every page: a stream without one of its PAGES
 * records (renumbered and with valid header crcs, so only the digest can
 * tell) is taken write by write and refused at the END record.  The same
 * stream rebuilt without dropping anything resumes, so the rebuilding is
 * sound and the refusal is the digest's.
 */
static int test_resume_missing_pages(void)
{
	struct st_stream s = { 0 }, same = { 0 }, holed = { 0 };
	unsigned long failed_at = ~0UL;
	struct dev a, b;
	long ret;

	if (open_trapped_pair(&a, &b, 44) != TAP_PASS)
		return TAP_FAIL;
	CHECK(knob_set(&a, "seed", "12") == 0 && save_rest(&a, &s, false) == 0, "save");
	CHECK(stream_rebuild(&s, -1, 16384, &same) == 0 && stream_rebuild(&s, 1, 16384, &holed) == 0,
	      "stream does not parse");
	CHECK(holed.bytes + 16 * PAGE + VFMIG_REC_HDR_LEN == s.bytes, "dropped %llu bytes",
	      (unsigned long long)(s.bytes - holed.bytes));

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	ret = st_resume_split(&b, &holed, false, &failed_at);
	CHECK(ret == -EINVAL && failed_at == holed.n - 1,
	      "resume gave %ld at write %lu, want EINVAL at the last (%u)", ret, failed_at, holed.n - 1);
	if (expect_poisoned(&b) != TAP_PASS)
		return TAP_FAIL;

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      st_resume_split(&b, &same, false, NULL) == (long)same.n &&
	      set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "rebuilt stream refused");
	CHECK(checksums_equal(&a, &b), "after the rebuilt stream");
	st_stream_free(&s);
	st_stream_free(&same);
	st_stream_free(&holed);
	return close_pair(&a, &b);
}

/* Bad data_size writes poison the session: too large, or no data_offset read. */
static int test_resume_bad_data_size(void)
{
	struct st_stream s = { 0 };
	uint64_t off;
	struct dev a, b;

	if (open_trapped_pair(&a, &b, 40) != TAP_PASS)
		return TAP_FAIL;
	CHECK(knob_set(&a, "seed", "5") == 0 && save_rest(&a, &s, false) == 0, "save");

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(rd64(&b, HDR(data_offset), &off) == 0, "data_offset");
	CHECK(wr64(&b, HDR(data_size), b.v.mig.size - off + 1) == -EINVAL, "data_size past the end");
	if (expect_poisoned(&b) != TAP_PASS)
		return TAP_FAIL;

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(wr64(&b, HDR(data_size), 64) == -EINVAL, "data_size without data_offset");
	if (expect_poisoned(&b) != TAP_PASS)
		return TAP_FAIL;

	/* Outside RESUMING a data_size write is simply refused. */
	CHECK(wr64(&b, HDR(data_size), 64) == -EINVAL, "data_size while running");
	CHECK(state_of(&b) == VFMIG_V1_STATE_RUNNING, "state %u", state_of(&b));

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      st_resume_split(&b, &s, false, NULL) == (long)s.n &&
	      set_state(&b, VFMIG_V1_STATE_STOP) == 0, "clean resume after reset");
	CHECK(checksums_equal(&a, &b), "after reset");
	st_stream_free(&s);
	return close_pair(&a, &b);
}

/* Shared by the fault tests: a clean migration a -> b with equal checksums. */
static int migrate_clean(struct dev *a, struct dev *b, const char *seed)
{
	uint64_t saved0 = knob(a, "stat_chunks_saved"), restored0 = knob(b, "stat_chunks_restored");
	struct st_stream s = { 0 };
	long writes;

	CHECK(state_of(a) == VFMIG_V1_STATE_RUNNING && state_of(b) == VFMIG_V1_STATE_RUNNING,
	      "states %u %u", state_of(a), state_of(b));
	CHECK(knob_set(a, "seed", seed) == 0 && save_rest(a, &s, false) == 0, "save");
	CHECK(set_state(b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	writes = st_resume_split(b, &s, false, NULL);
	CHECK(writes >= (long)s.n, "resume: %ld", writes);
	CHECK(set_state(b, VFMIG_V1_STATE_RUNNING) == 0, "resume complete");
	CHECK(checksums_equal(a, b), "seed %s", seed);
	CHECK(knob(a, "stat_chunks_saved") - saved0 == s.n &&
	      knob(b, "stat_chunks_restored") - restored0 == (uint64_t)writes, "chunk counters");
	st_stream_free(&s);
	CHECK(set_state(a, VFMIG_V1_STATE_RUNNING) == 0, "source running");
	return TAP_PASS;
}

/* A fault test's end: the source running again, a clean migration, the pair closed. */
static int end_clean(struct dev *a, struct dev *b, const char *seed)
{
	CHECK(set_state(a, VFMIG_V1_STATE_RUNNING) == 0, "source running");
	if (migrate_clean(a, b, seed) != TAP_PASS)
		return TAP_FAIL;
	return close_pair(a, b);
}

static int fault_is_none(struct dev *d)
{
	char buf[32] = "";

	return knob_str(d, "fault", buf, sizeof(buf)) == 0 && !strncmp(buf, "none", 4);
}

/*
 * short_chunk: the next staged chunk loses its last 16 bytes.  data_size says
 * 16 bytes less; the destination sees a record spanning the hole, which
 * swallows the first 16 bytes of the next record's header; the header it
 * then reads from the middle of that record fails its checks on the
 * data_size write that completes it: that write is -EINVAL and the session
 * is poisoned.
 */
static int test_fault_short_chunk(void)
{
	struct st_stream s = { 0 };
	uint64_t pending, size, rec_end, cum = 0;
	unsigned long expect = 0, failed_at = ~0UL;
	uint32_t len;
	struct dev a, b;
	long ret;

	if (open_trapped_pair(&a, &b, 50) != TAP_PASS)
		return TAP_FAIL;
	CHECK(knob_set(&a, "seed", "3") == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0 && size == 16384, "clean chunk %llu",
	      (unsigned long long)size);
	CHECK(knob_set(&a, "fault", "short_chunk") == 0, "arm");
	CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0, "chunk");
	CHECK(size == 16384 - 16, "short chunk is %llu bytes", (unsigned long long)size);
	CHECK(fault_is_none(&a), "fault still armed");
	CHECK(save_rest(&a, &s, false) == 0, "rest of the save");
	CHECK(s.c[s.n - 1].size && knob(&a, "stat_bytes_saved") == s.bytes,
	      "stat_bytes_saved %llu, handed out %llu", (unsigned long long)knob(&a, "stat_bytes_saved"),
	      (unsigned long long)s.bytes);

	/* The first PAGES record (after the 52-byte HEADER record) spans the hole. */
	memcpy(&len, s.c[0].data + 52 + 12, 4);
	rec_end = 52 + VFMIG_REC_HDR_LEN + len;
	CHECK(rec_end > 16384 && rec_end < s.bytes, "first record ends at %llu",
	      (unsigned long long)rec_end);
	for (expect = 0; expect < s.n && (cum += s.c[expect].size) < rec_end + VFMIG_REC_HDR_LEN; expect++)
		;
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	ret = st_resume_split(&b, &s, false, &failed_at);
	CHECK(ret == -EINVAL && failed_at == expect, "resume gave %ld at write %lu, want EINVAL at %lu",
	      ret, failed_at, expect);
	CHECK(knob(&b, "stat_chunks_restored") == expect, "stat_chunks_restored %llu",
	      (unsigned long long)knob(&b, "stat_chunks_restored"));
	if (expect_poisoned(&b) != TAP_PASS)
		return TAP_FAIL;
	st_stream_free(&s);
	return end_clean(&a, &b, "4");
}

/* resume_chunk: the next data_size write fails with EIO and poisons the session. */
static int test_fault_resume_chunk(void)
{
	struct st_stream s = { 0 };
	unsigned long failed_at = ~0UL;
	struct dev a, b;
	uint64_t off;
	long ret;

	if (open_trapped_pair(&a, &b, 60) != TAP_PASS)
		return TAP_FAIL;
	CHECK(knob_set(&a, "seed", "6") == 0 && save_rest(&a, &s, false) == 0, "save");
	CHECK(s.n > 4, "chunks %u", s.n);

	/* Armed before RESUMING: data_offset reads still work, the first write fails. */
	CHECK(knob_set(&b, "fault", "resume_chunk") == 0, "arm");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	ret = st_resume_split(&b, &s, false, &failed_at);
	CHECK(ret == -EIO && failed_at == 0, "first write gave %ld at %lu, want EIO at 0", ret,
	      failed_at);
	CHECK(fault_is_none(&b), "fault still armed");
	CHECK(knob(&b, "stat_chunks_restored") == 0, "chunk counted");
	if (expect_poisoned(&b) != TAP_PASS)
		return TAP_FAIL;

	/* Armed mid-stream: the next write fails, the ones before stand. */
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	for (unsigned int i = 0; i < 3; i++)
		CHECK(rd64(&b, HDR(data_offset), &off) == 0 &&
		      xfer(&b, off, s.c[i].data, s.c[i].size, false, true) == 0 &&
		      wr64(&b, HDR(data_size), s.c[i].size) == 0, "chunk %u", i);
	CHECK(knob_set(&b, "fault", "resume_chunk") == 0, "arm");
	CHECK(rd64(&b, HDR(data_offset), &off) == 0 &&
	      xfer(&b, off, s.c[3].data, s.c[3].size, false, true) == 0, "chunk 3");
	CHECK(wr64(&b, HDR(data_size), s.c[3].size) == -EIO, "chunk 3 not refused with EIO");
	CHECK(knob(&b, "stat_chunks_restored") == 3, "stat_chunks_restored %llu",
	      (unsigned long long)knob(&b, "stat_chunks_restored"));
	if (expect_poisoned(&b) != TAP_PASS)
		return TAP_FAIL;
	st_stream_free(&s);
	return end_clean(&a, &b, "7");
}

/*
 * save_chunk: the staging data_offset read fails with EIO, nothing is lost
 * and the device stays in its state; a retry stages the chunk and the
 * migration completes.
 */
static int test_fault_save_chunk(void)
{
	struct st_stream s = { 0 };
	uint64_t pending, size, off;
	struct dev a, b;

	if (open_trapped_pair(&a, &b, 70) != TAP_PASS)
		return TAP_FAIL;
	CHECK(knob_set(&a, "seed", "8") == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0 && size, "chunk");
	CHECK(knob_set(&a, "fault", "save_chunk") == 0, "arm");
	CHECK(rd64(&a, HDR(pending_bytes), &pending) == 0 && pending, "pending");
	CHECK(rd64(&a, HDR(data_offset), &off) == -EIO, "staging not refused with EIO");
	CHECK(fault_is_none(&a), "fault still armed");
	CHECK(state_of(&a) == (VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING), "state %u",
	      state_of(&a));
	CHECK(rd64(&a, HDR(data_size), &size) == 0 && size == 0, "data_size %llu after EIO",
	      (unsigned long long)size);
	/* The retry (without a pending_bytes read in between) works. */
	{
		uint8_t *buf;

		CHECK(rd64(&a, HDR(data_offset), &off) == 0 && rd64(&a, HDR(data_size), &size) == 0 &&
		      size == 16384, "retry: size %llu", (unsigned long long)size);
		CHECK(st_stream_add(&s, size, &buf) == 0 && xfer(&a, off, buf, size, false, false) == 0,
		      "read");
	}
	CHECK(save_rest(&a, &s, false) == 0, "rest of the save");
	CHECK(knob(&a, "stat_chunks_saved") == s.n, "stat_chunks_saved %llu of %u",
	      (unsigned long long)knob(&a, "stat_chunks_saved"), s.n);
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      st_resume_split(&b, &s, false, NULL) == (long)s.n &&
	      set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "resume");
	CHECK(checksums_equal(&a, &b), "after a save_chunk fault");
	st_stream_free(&s);
	return close_pair(&a, &b);
}

/* The error state from a save or resume: everything refused until reset. */
static int expect_error_state(struct dev *d)
{
	uint64_t v = 1;

	CHECK(state_of(d) == VFMIG_V1_STATE_ERROR, "state %u", state_of(d));
	CHECK(rd64(d, HDR(pending_bytes), &v) == 0 && v == 0, "pending_bytes %llu in error",
	      (unsigned long long)v);
	CHECK(rd64(d, HDR(data_offset), &v) == -EINVAL, "data_offset in error");
	CHECK(wr64(d, HDR(data_size), 8) == -EINVAL, "data_size in error");
	for (uint32_t t = 0; t < 8; t++)
		CHECK(set_state(d, t) == -EINVAL, "error -> %u", t);
	CHECK(dev_reset(d) == 0 && state_of(d) == VFMIG_V1_STATE_RUNNING, "reset");
	return TAP_PASS;
}

/* transition and error, in a running save and a running resume. */
static int test_fault_transition_error(void)
{
	struct st_stream s = { 0 };
	uint64_t pending, size;
	struct dev a, b;

	if (open_trapped_pair(&a, &b, 80) != TAP_PASS)
		return TAP_FAIL;
	CHECK(knob_set(&a, "seed", "9") == 0, "seed");

	/* transition: pre-copy -> stop-and-copy fails, the save is gone. */
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0 && size, "chunk");
	CHECK(knob_set(&a, "fault", "transition") == 0, "arm");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == -EIO, "transition not refused with EIO");
	CHECK(fault_is_none(&a), "fault still armed");
	if (expect_error_state(&a) != TAP_PASS)
		return TAP_FAIL;
	st_stream_free(&s);
	if (migrate_clean(&a, &b, "10") != TAP_PASS)
		return TAP_FAIL;

	/* error in the middle of a save. */
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0 && size, "chunk");
	CHECK(knob_set(&a, "fault", "error") == 0, "error");
	if (expect_error_state(&a) != TAP_PASS)
		return TAP_FAIL;
	st_stream_free(&s);

	/* transition and error while resuming: the half-resumed state is dropped. */
	CHECK(save_rest(&a, &s, false) == 0 && set_state(&a, VFMIG_V1_STATE_RUNNING) == 0, "save");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(st_resume_split(&b, &s, false, NULL) == (long)s.n, "resume");
	CHECK(knob_set(&b, "fault", "transition") == 0, "arm");
	CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == -EIO, "completing resume not refused");
	if (expect_error_state(&b) != TAP_PASS)
		return TAP_FAIL;
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(st_resume_split(&b, &s, false, NULL) == (long)s.n, "resume");
	CHECK(knob_set(&b, "fault", "error") == 0, "error");
	if (expect_error_state(&b) != TAP_PASS)
		return TAP_FAIL;
	st_stream_free(&s);
	return end_clean(&a, &b, "12");
}

/* stat_iterations on a device that does not dirty: one pass, however many chunks. */
static int test_stat_iterations_clean(void)
{
	const char *setup[] = { "state_size", "1048576", "mmap_layout", "none",
				"data_size", "16384", NULL };
	struct st_stream s = { 0 };
	struct dev a;

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(&a, "vfmig-large", 90, setup) == 0, "open");
	/* Random pages: a fresh device's zero pages would fit in one chunk. */
	CHECK(knob_set(&a, "seed", "3") == 0, "seed");
	CHECK(knob(&a, "stat_iterations") == 0, "iterations before any save");
	CHECK(save_rest(&a, &s, false) == 0, "save");
	CHECK(knob(&a, "stat_iterations") == 1 && stream_passes(&s) == 1,
	      "stat_iterations %llu, stream passes %ld", (unsigned long long)knob(&a, "stat_iterations"),
	      stream_passes(&s));
	CHECK(knob(&a, "stat_chunks_saved") == s.n && s.n > 60, "stat_chunks_saved %llu of %u",
	      (unsigned long long)knob(&a, "stat_chunks_saved"), s.n);
	st_stream_free(&s);
	/* A second session counts its own first pass. */
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING) == 0 && save_rest(&a, &s, false) == 0, "save");
	CHECK(knob(&a, "stat_iterations") == 2, "stat_iterations %llu after two saves",
	      (unsigned long long)knob(&a, "stat_iterations"));
	/* A pending_bytes read with nothing staged or dirty does not count. */
	{
		uint64_t p;

		CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "saving");
		for (int i = 0; i < 5; i++)
			CHECK(rd64(&a, HDR(pending_bytes), &p) == 0, "pending");
		CHECK(knob(&a, "stat_iterations") == 3, "stat_iterations %llu",
		      (unsigned long long)knob(&a, "stat_iterations"));
	}
	st_stream_free(&s);
	dev_close(&a);
	st_remove_all();
	return TAP_PASS;
}

/*
 * Writing a seed during a save changes all of memory: the save sends every
 * page again, and the destination ends up with the new contents.  An empty
 * chunk (data_offset read with nothing pending) is not counted.
 */
static int test_seed_during_save(void)
{
	const char *setup[] = { "state_size", "1048576", "mmap_layout", "none",
				"data_size", "65536", NULL };
	struct st_stream s = { 0 };
	uint64_t pending, size, off, chunks;
	struct dev a, b;

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(&a, "vfmig-large", 95, setup) == 0 &&
	      dev_open(&b, "vfmig-large", 96, setup) == 0, "open");
	CHECK(knob_set(&a, "seed", "98") == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	do
		CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0, "pre-copy chunk");
	while (pending);
	chunks = knob(&a, "stat_chunks_saved");
	CHECK(chunks == s.n, "stat_chunks_saved %llu of %u", (unsigned long long)chunks, s.n);
	CHECK(rd64(&a, HDR(data_offset), &off) == 0 && rd64(&a, HDR(data_size), &size) == 0 &&
	      size == 0, "empty chunk of %llu", (unsigned long long)size);
	CHECK(rd64(&a, HDR(pending_bytes), &pending) == 0 && pending == 0, "pending %llu",
	      (unsigned long long)pending);
	CHECK(knob(&a, "stat_chunks_saved") == chunks, "empty chunk counted");

	CHECK(knob_set(&a, "seed", "99") == 0, "seed during pre-copy");
	CHECK(rd64(&a, HDR(pending_bytes), &pending) == 0 && pending >= MiB,
	      "pending %llu after a seed", (unsigned long long)pending);
	/* In stop-and-copy and while resuming the device must not change. */
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(knob_set(&a, "seed", "7") == -EBUSY, "seed in stop-and-copy not refused");
	CHECK(save_rest(&a, &s, false) == 0, "stop-and-copy");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(knob_set(&b, "seed", "7") == -EBUSY, "seed while resuming not refused");
	CHECK(st_resume_split(&b, &s, false, NULL) == (long)s.n &&
	      set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume");
	CHECK(checksums_equal(&a, &b), "seed during save");
	CHECK(knob(&b, "seed") == 99, "destination seed %llu", (unsigned long long)knob(&b, "seed"));
	st_stream_free(&s);
	return close_pair(&a, &b);
}

static long meminfo_kib(const char *field)
{
	char line[256], fmt[64];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	snprintf(fmt, sizeof(fmt), "%s: %%ld kB", field);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, fmt, &v) == 1)
			break;
	fclose(f);
	return v;
}

static long vmalloc_used_kib(void)
{
	return meminfo_kib("VmallocUsed");
}

/* One create/open/migrate/remove cycle, with a twist per @i. */
static int leak_cycle(unsigned int i, long *peak_objects, long *peak_vmalloc)
{
	const char *setup[] = { "state_size", "4194304", "data_size", "1048576",
				"mmap_layout", "sparse:4", "data_offset_policy", "rotate",
				"dirty_rate", "8388608", NULL };
	/* The destination generates nothing, or it would change before the compare. */
	const char *setup_b[] = { "state_size", "4194304", "data_size", "1048576",
				  "mmap_layout", "sparse:4", "data_offset_policy", "rotate",
				  NULL };
	struct st_stream s = { 0 };
	uint64_t pending, size;
	long objects, vm;
	struct dev a, b;

	CHECK(dev_open(&a, "vfmig-large", 100 + 2 * i, setup) == 0 &&
	      dev_open(&b, "vfmig-large", 101 + 2 * i, setup_b) == 0, "open");
	CHECK(vfmig_vfio_map_migration(&a.v, true, &(struct vfmig_err){ 0 }) == 0 &&
	      vfmig_vfio_map_migration(&b.v, true, &(struct vfmig_err){ 0 }) == 0, "map");
	CHECK(knob_set(&a, "seed", "13") == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	for (int r = 0; r < 4; r++)
		CHECK(st_save_chunk(&a, &s, true, &pending, &size) == 0, "pre-copy chunk");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(st_read_param("live_objects", &objects) == 0, "live_objects");
	vm = vmalloc_used_kib();
	if (objects > *peak_objects)
		*peak_objects = objects;
	if (vm > *peak_vmalloc)
		*peak_vmalloc = vm;
	switch (i % 4) {
	case 0:		/* a whole migration */
		CHECK(save_rest(&a, &s, true) == 0, "save");
		CHECK(st_resume_split(&b, &s, true, NULL) == (long)s.n &&
		      set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "resume");
		CHECK(checksums_equal(&a, &b), "cycle %u", i);
		break;
	case 1:		/* closed mid-save and mid-resume */
		CHECK(st_resume_split(&b, &s, true, NULL) == (long)s.n, "partial resume");
		break;
	case 2:		/* errors in both sessions, then reset */
		CHECK(knob_set(&a, "fault", "error") == 0 && knob_set(&b, "fault", "error") == 0 &&
		      dev_reset(&a) == 0 && dev_reset(&b) == 0, "error + reset");
		break;
	case 3:		/* a poisoned resume, a resize while closed, a fault left armed */
		CHECK(wr64(&b, HDR(data_size), 8) == -EINVAL, "poison");
		CHECK(knob_set(&a, "fault", "save_chunk") == 0, "arm");
		break;
	}
	st_stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	if (i % 4 == 3)
		CHECK(knob_set(&a, "state_size", "2097152") == 0 &&
		      knob_set(&a, "data_size", "65536") == 0, "resize");
	st_remove_all();
	return TAP_PASS;
}

/*
 * No leak across 20 create/open/migrate/remove cycles: the driver's own
 * accounting (live_objects, live_bytes) returns to zero, and the kernel's
 * VmallocUsed to within 4 MiB of where it started, while each cycle holds
 * more than 10 MiB of vmalloc memory (so one leaked cycle would show).
 */
static int test_no_leak(void)
{
	long objects = -1, bytes = -1, vm0, vm1, peak_objects = 0, peak_vm = 0;
	char path[128];

	st_remove_all();
	CHECK(st_read_param("live_objects", &objects) == 0 && objects == 0,
	      "live_objects %ld with no devices", objects);
	CHECK(st_read_param("live_bytes", &bytes) == 0 && bytes == 0, "live_bytes %ld", bytes);
	snprintf(path, sizeof(path), "/sys/module/vfmig/parameters/live_objects");
	CHECK(st_write(path, "0") < 0, "live_objects is writable");
	vm0 = vmalloc_used_kib();
	CHECK(vm0 > 0, "VmallocUsed");
	for (unsigned int i = 0; i < 20; i++)
		if (leak_cycle(i, &peak_objects, &peak_vm) != TAP_PASS)
			return TAP_FAIL;
	/* The last reference to a removed device may be dropped just after. */
	for (int i = 0; i < 20; i++) {
		CHECK(st_read_param("live_objects", &objects) == 0 &&
		      st_read_param("live_bytes", &bytes) == 0, "read");
		if (!objects)
			break;
		sleep_ms(100);
	}
	vm1 = vmalloc_used_kib();
	tap_diag("live_objects peak %ld, now %ld (bytes %ld); VmallocUsed %ld kB -> peak %ld -> %ld kB",
		 peak_objects, objects, bytes, vm0, peak_vm, vm1);
	/* The measures see the driver: two devices, two sessions, 2 x 5 MiB. */
	CHECK(peak_objects >= 8, "live_objects peak %ld", peak_objects);
	CHECK(peak_vm - vm0 >= 8 * 1024, "VmallocUsed grew only %ld kB", peak_vm - vm0);
	CHECK(objects == 0 && bytes == 0, "leaked %ld objects, %ld bytes", objects, bytes);
	CHECK(vm1 - vm0 < 4 * 1024, "VmallocUsed grew by %ld kB", vm1 - vm0);
	return TAP_PASS;
}

/* state_size: validated, refused while open. */
static int test_state_size_knob(void)
{
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_err err = { 0 };
	uint64_t v;
	struct dev d;

	st_remove_all();	/* what a failed test left behind */
	CHECK(st_create("vfmig-small", 110, uuid) == 0, "create");
	CHECK(vfmig_knob_write(uuid, "state_size", "4095", &err) == -EINVAL, "4095");
	CHECK(vfmig_knob_write(uuid, "state_size", "0", &err) == -EINVAL, "0");
	CHECK(vfmig_knob_write(uuid, "state_size", "1048577", &err) == -EINVAL, "unaligned");
	CHECK(vfmig_knob_write(uuid, "state_size", "2147487744", &err) == -EINVAL, "2 GiB + 4 KiB");
	CHECK(vfmig_knob_write(uuid, "state_size", "18446744073709551615", &err) == -EINVAL, "2^64-1");
	CHECK(vfmig_knob_write(uuid, "state_size", "-4096", &err) == -EINVAL, "negative");
	CHECK(vfmig_knob_write(uuid, "state_size", "4096", &err) == 0, "4 KiB");
	CHECK(st_knob_u64(uuid, "state_size", &v) == 0 && v == 4096, "reads %llu",
	      (unsigned long long)v);
	st_remove_all();
	CHECK(dev_open(&d, "vfmig-small", 111, NULL) == 0, "open");
	CHECK(knob_set(&d, "state_size", "8192") == -EBUSY, "resize while open");
	CHECK(knob(&d, "state_size") == 65536, "size changed while open");
	dev_close(&d);
	CHECK(knob_set(&d, "state_size", "8192") == 0 && knob(&d, "state_size") == 8192,
	      "resize after close");
	st_remove_all();
	return TAP_PASS;
}

/*
 * A large device state: seeded, saved in stop-and-copy straight from the
 * source's mapping into the destination's (64 MiB windows), resumed with
 * equal checksums.
 */
static int big_state_run(unsigned long mib)
{
	char size[32];
	const char *setup[] = { "state_size", size, "data_size", "67108864",
				"mmap_layout", "whole", NULL };
	uint64_t pending, off, dsize, doff, moved = 0, chunks = 0;
	double t0, t1, t2, t3, t4;
	struct dev a, b;

	CHECK(mib >= 1 && mib <= 2048, "VFMIG_BIG_STATE %lu", mib);
	snprintf(size, sizeof(size), "%llu", mib * MiB);
	t0 = now_s();
	CHECK(dev_open(&a, "vfmig-large", 120, setup) == 0 &&
	      dev_open(&b, "vfmig-large", 121, setup) == 0, "open two %lu MiB devices", mib);
	CHECK(knob(&a, "state_size") == mib * MiB, "state_size");
	CHECK(vfmig_vfio_map_migration(&a.v, true, &(struct vfmig_err){ 0 }) == 0 &&
	      vfmig_vfio_map_migration(&b.v, true, &(struct vfmig_err){ 0 }) == 0 &&
	      a.v.region.nr_areas == 1 && a.v.region.areas[0].map && b.v.region.areas[0].map,
	      "map");
	CHECK(knob_set(&a, "seed", "1234") == 0, "seed");
	t1 = now_s();
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	for (;;) {
		CHECK(rd64(&a, HDR(pending_bytes), &pending) == 0, "pending");
		if (!pending)
			break;
		CHECK(rd64(&a, HDR(data_offset), &off) == 0 && rd64(&a, HDR(data_size), &dsize) == 0 &&
		      dsize > 0 && off == a.v.region.areas[0].offset &&
		      dsize <= a.v.region.areas[0].size, "chunk at %llu of %llu",
		      (unsigned long long)off, (unsigned long long)dsize);
		CHECK(rd64(&b, HDR(data_offset), &doff) == 0 && doff == b.v.region.areas[0].offset,
		      "destination data_offset %llu", (unsigned long long)doff);
		memcpy(b.v.region.areas[0].map, a.v.region.areas[0].map, dsize);
		CHECK(wr64(&b, HDR(data_size), dsize) == 0, "resume chunk %llu",
		      (unsigned long long)chunks);
		moved += dsize;
		chunks++;
	}
	t2 = now_s();
	CHECK(set_state(&a, VFMIG_V1_STATE_STOP) == 0 && set_state(&b, VFMIG_V1_STATE_STOP) == 0,
	      "resume complete");
	CHECK(moved > mib * MiB, "moved %llu", (unsigned long long)moved);
	t3 = now_s();
	CHECK(checksums_equal(&a, &b), "%lu MiB", mib);
	t4 = now_s();
	CHECK(knob(&a, "stat_chunks_saved") == chunks && knob(&b, "stat_chunks_restored") == chunks &&
	      knob(&b, "stat_bytes_restored") == moved, "chunk counters");
	tap_diag("%lu MiB state: create+seed %.1f s, save+resume %.1f s (%llu chunks), checksums %.1f s",
		 mib, t1 - t0, t2 - t1, (unsigned long long)chunks, t4 - t3);
	return close_pair(&a, &b);
}

/* What a saved stream holds: pages sent whole and named zero, and in how many records. */
struct census {
	uint64_t data_pages, zero_pages, page_recs, zero_recs, sparse_recs;
	uint32_t version;	/* the HEADER's */
	bool pattern_ok;	/* every PAGES byte the pattern's (when one is given) */
};

static int stream_census(const struct st_stream *s, const uint8_t *pattern, struct census *c)
{
	uint64_t total = s->bytes, pos = 0;
	uint8_t *all = stream_flat(s);
	int ret = 0;

	memset(c, 0, sizeof(*c));
	c->pattern_ok = true;
	if (!all)
		return -1;
	while (pos + VFMIG_REC_HDR_LEN <= total) {
		uint16_t kind;
		uint32_t len;
		uint64_t span;

		rec_kind_len(all + pos, &kind, &len);
		if (!rec_magic_ok(all + pos) || len > total - pos - VFMIG_REC_HDR_LEN) {
			ret = -1;
			break;
		}
		if (kind == VFMIG_REC_HEADER && len >= 12) {
			memcpy(&c->version, all + pos + VFMIG_REC_HDR_LEN + 8, 4);
		} else if (kind == VFMIG_REC_PAGES) {
			c->page_recs++;
			c->data_pages += len / PAGE;
			for (uint32_t k = 0; pattern && k < len; k++)
				if (all[pos + VFMIG_REC_HDR_LEN + k] != pattern[k % 8])
					c->pattern_ok = false;
		} else if (kind == VFMIG_REC_ZERO) {
			if (len != 8) {
				ret = -1;
				break;
			}
			memcpy(&span, all + pos + VFMIG_REC_HDR_LEN, 8);
			c->zero_recs++;
			c->zero_pages += span / PAGE;
		} else if (kind == VFMIG_REC_SPARSE) {
			struct vfmig_rec_sparse sp;

			if (len < sizeof(sp)) {
				ret = -1;
				break;
			}
			memcpy(&sp, all + pos + VFMIG_REC_HDR_LEN, sizeof(sp));
			c->sparse_recs++;
			c->data_pages += sp.sent;
			c->zero_pages += sp.pages - sp.sent;
		}
		pos += VFMIG_REC_HDR_LEN + len;
	}
	if (pos != total)
		ret = -1;
	free(all);
	return ret;
}

static int knob_is(struct dev *d, const char *name, const char *want)
{
	char buf[128];

	if (knob_str(d, name, buf, sizeof(buf)))
		return 0;
	buf[strcspn(buf, "\n")] = 0;
	if (strcmp(buf, want))
		tap_diag("%s reads '%s', want '%s'", name, buf, want);
	return !strcmp(buf, want);
}

/*
 * The fill knob: every value read back as written, every bad one refused
 * with its errno and nothing changed, EBUSY while open (good or bad value),
 * accepted again after close.
 */
static int test_fill_knob(void)
{
	static const char *const good[] = {
		"zero", "zero:0", "zero:90", "zero:100", "pattern:0x0123456789abcdef",
		"pattern:0x1", "pattern:0x00ff", "pattern:0xffffffffffffffff", "random",
	};
	static const struct { const char *v; int err; } bad[] = {
		{ "zeros", -EINVAL }, { "zero:", -EINVAL }, { "zero:101", -EINVAL },
		{ "zero:-1", -EINVAL }, { "zero:+5", -EINVAL }, { "zero:9x", -EINVAL },
		{ "zero:99999999999", -ERANGE }, { "pattern:", -EINVAL }, { "pattern:0x", -EINVAL },
		{ "pattern:123", -EINVAL }, { "pattern:0xg1", -EINVAL }, { "pattern:0x0x12", -EINVAL },
		{ "pattern:0x12 ", -EINVAL }, { "pattern:0x10000000000000000", -ERANGE },
		{ "random:1", -EINVAL }, { "Random", -EINVAL },
	};
	struct dev d;
	size_t i;

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(&d, "vfmig-small", 130, NULL) == 0, "open");
	CHECK(knob_is(&d, "fill", "random"), "default");
	CHECK(knob_set(&d, "fill", "zero") == -EBUSY && knob_set(&d, "fill", "bogus") == -EBUSY,
	      "fill while open");
	CHECK(knob_is(&d, "fill", "random"), "changed while open");
	dev_close(&d);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		CHECK(knob_set(&d, "fill", good[i]) == 0, "'%s' refused", good[i]);
		CHECK(knob_is(&d, "fill", good[i]), "'%s' read back", good[i]);
	}
	CHECK(knob_set(&d, "fill", "zero:42") == 0, "zero:42");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = knob_set(&d, "fill", bad[i].v);

		CHECK(ret == bad[i].err, "'%s' answered %d, want %d", bad[i].v, ret, bad[i].err);
		CHECK(knob_is(&d, "fill", "zero:42"), "changed by '%s'", bad[i].v);
	}
	st_remove_all();
	return TAP_PASS;
}

/*
 * Seed @n (a fresh 16 MiB device with @fill), save it whole in stop-and-copy,
 * resume it into another with equal checksums; the stream's census.
 */
static int fill_migrate(unsigned int n, const char *fill, const char *seed,
			const uint8_t *pattern, struct census *c, uint64_t *bytes, uint64_t *sum)
{
	const char *setup[] = { "state_size", "16777216", "mmap_layout", "whole",
				"data_size", "1048576", "fill", fill, NULL };
	/* The destination's own memory is random, which the stream must replace. */
	const char *setup_b[] = { "state_size", "16777216", "mmap_layout", "whole",
				  "data_size", "1048576", NULL };
	struct st_stream s = { 0 };
	struct dev a, b;

	CHECK(dev_open(&a, "vfmig-large", n, setup) == 0 &&
	      dev_open(&b, "vfmig-large", n + 1, setup_b) == 0, "open");
	CHECK(knob_set(&a, "seed", seed) == 0, "seed");
	CHECK(knob_set(&b, "seed", "4242") == 0, "destination seed");
	CHECK(save_rest(&a, &s, true) == 0, "save");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      st_resume_split(&b, &s, true, NULL) == (long)s.n &&
	      set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume");
	CHECK(checksums_equal(&a, &b), "fill %s", fill);
	CHECK(stream_census(&s, pattern, c) == 0, "stream does not parse");
	CHECK(c->data_pages + c->zero_pages == 4096, "%llu + %llu pages in the stream",
	      (unsigned long long)c->data_pages, (unsigned long long)c->zero_pages);
	CHECK(knob(&a, "stat_bytes_saved") == s.bytes, "stat_bytes_saved");
	*bytes = s.bytes;
	*sum = knob(&a, "checksum");
	st_stream_free(&s);
	return close_pair(&a, &b);
}

/*
 * Each fill migrates with equal checksums; the stream shows it: random and
 * pattern pages go whole (the pattern's bytes), zero pages as ZERO records,
 * zero:90 leaves about 90% of pages zero (chosen again the same for the
 * same seed, differently for another) and its stream is under a fifth of
 * the state.
 */
static int test_fill_migrates(void)
{
	static const uint8_t pat[8] = { 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01 };
	uint64_t bytes, sum, sum90, sum90b, bytes90;
	struct census c;

	st_remove_all();	/* what a failed test left behind */
	if (fill_migrate(132, "random", "5", NULL, &c, &bytes, &sum) != TAP_PASS)
		return TAP_FAIL;
	CHECK(c.zero_pages == 0 && bytes > 16 * MiB, "random: %llu zero pages, %llu bytes",
	      (unsigned long long)c.zero_pages, (unsigned long long)bytes);
	/* No zero page known: the version the module before still resumes. */
	CHECK(c.version == VFMIG_PAYLOAD_VERSION_ZERO, "random: payload version %u", c.version);
	if (fill_migrate(134, "zero", "5", NULL, &c, &bytes, &sum) != TAP_PASS)
		return TAP_FAIL;
	CHECK(c.data_pages == 0 && bytes < 64 * KiB, "zero: %llu data pages, %llu bytes",
	      (unsigned long long)c.data_pages, (unsigned long long)bytes);
	CHECK(c.version == VFMIG_PAYLOAD_VERSION_SPARSE, "zero: payload version %u", c.version);
	CHECK(c.zero_recs == 4, "zero: %llu ZERO records for 16 MiB", (unsigned long long)c.zero_recs);
	if (fill_migrate(136, "pattern:0x0123456789abcdef", "5", pat, &c, &bytes, &sum) != TAP_PASS)
		return TAP_FAIL;
	CHECK(c.zero_pages == 0 && c.pattern_ok, "pattern: %llu zero pages, bytes %s",
	      (unsigned long long)c.zero_pages, c.pattern_ok ? "the pattern" : "not the pattern");
	if (fill_migrate(138, "zero:90", "5", NULL, &c, &bytes90, &sum90) != TAP_PASS)
		return TAP_FAIL;
	CHECK(c.zero_pages >= 4096 * 85 / 100 && c.zero_pages <= 4096 * 95 / 100,
	      "zero:90: %llu of 4096 pages zero", (unsigned long long)c.zero_pages);
	CHECK(bytes90 * 5 < 16 * MiB, "zero:90: %llu bytes saved for 16 MiB",
	      (unsigned long long)bytes90);
	/* Mostly SPARSE records: far fewer records than pages with data. */
	CHECK(c.sparse_recs && (c.page_recs + c.zero_recs + c.sparse_recs) * 4 < c.data_pages,
	      "zero:90: %llu data pages in %llu PAGES, %llu ZERO, %llu SPARSE records",
	      (unsigned long long)c.data_pages, (unsigned long long)c.page_recs,
	      (unsigned long long)c.zero_recs, (unsigned long long)c.sparse_recs);
	tap_diag("zero:90: %llu zero pages in %llu ZERO and %llu SPARSE records, %llu bytes saved for 16 MiB",
		 (unsigned long long)c.zero_pages, (unsigned long long)c.zero_recs,
		 (unsigned long long)c.sparse_recs, (unsigned long long)bytes90);
	if (fill_migrate(140, "zero:90", "5", NULL, &c, &bytes, &sum90b) != TAP_PASS)
		return TAP_FAIL;
	CHECK(sum90b == sum90 && bytes == bytes90, "zero:90 seed 5 not reproducible");
	if (fill_migrate(142, "zero:90", "6", NULL, &c, &bytes, &sum90b) != TAP_PASS)
		return TAP_FAIL;
	CHECK(sum90b != sum90, "zero:90 seeds 5 and 6 give the same state");
	return TAP_PASS;
}

/*
 * The generator keeps a zero fill zero: in pre-copy with dirty_rate on, the
 * resent pages are ZERO records again (more zero pages than memory: some
 * were sent twice), none goes whole, and the destination's checksum equals
 * the source's with its generation moved.
 */
static int test_fill_zero_dirty(void)
{
	const char *setup[] = { "state_size", "1048576", "mmap_layout", "none",
				"data_size", "16384", "fill", "zero", "dirty_rate", "8388608",
				NULL };
	const char *setup_b[] = { "state_size", "1048576", "mmap_layout", "none",
				  "data_size", "16384", NULL };
	struct st_stream s = { 0 };
	uint64_t pending, size;
	struct census c;
	struct dev a, b;

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(&a, "vfmig-large", 144, setup) == 0 &&
	      dev_open(&b, "vfmig-large", 145, setup_b) == 0, "open");
	CHECK(knob_set(&a, "seed", "8") == 0 && knob_set(&b, "seed", "9") == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	for (int r = 0; r < 20; r++) {
		CHECK(st_save_chunk(&a, &s, false, &pending, &size) == 0, "pre-copy chunk");
		sleep_ms(20);
	}
	CHECK(save_rest(&a, &s, false) == 0, "stop-and-copy");
	CHECK(knob(&a, "generation") > 0, "nothing dirtied");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      st_resume_split(&b, &s, false, NULL) == (long)s.n &&
	      set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume");
	CHECK(checksums_equal(&a, &b), "zero fill, dirtied");
	CHECK(knob(&b, "generation") == knob(&a, "generation"), "generation");
	CHECK(stream_census(&s, NULL, &c) == 0, "stream does not parse");
	CHECK(c.data_pages == 0 && c.zero_pages > 256, "%llu data pages, %llu zero pages",
	      (unsigned long long)c.data_pages, (unsigned long long)c.zero_pages);
	tap_diag("zero fill dirtied to generation %llu: %llu zero pages resent, %llu bytes",
		 (unsigned long long)knob(&a, "generation"),
		 (unsigned long long)(c.zero_pages - 256), (unsigned long long)s.bytes);
	st_stream_free(&s);
	return close_pair(&a, &b);
}

/* @all's first ZERO record's offset (in @all), or -1. */
static long first_rec(const uint8_t *all, uint64_t total, uint16_t want)
{
	uint64_t pos = 0;

	while (pos + VFMIG_REC_HDR_LEN <= total) {
		uint16_t kind;
		uint32_t len;

		rec_kind_len(all + pos, &kind, &len);
		if (kind == want)
			return (long)pos;
		pos += VFMIG_REC_HDR_LEN + len;
	}
	return -1;
}

/*
 * Corrupt ZERO records in a real stream of a zero state, refused by the
 * device with EINVAL and a poisoned session on the write that completes
 * them: a span beyond the state, unaligned or 0 (the payload has no crc, so
 * only these checks catch it), an unaligned offset and one past the end
 * (header crc recomputed, so only the bounds check catches it).  The intact
 * stream then resumes with equal checksums.
 */
/*
 * For the corrupt-record tests: device @n (1 MiB, trapped, @fill, seed 3)
 * saved whole into *@s, flat in *@all, where its first record of @kind is
 * at *@at; device @n + 1 (seed 4) to resume into.
 */
static int corrupt_pair(unsigned int n, const char *fill, uint16_t kind, struct dev *a,
			struct dev *b, struct st_stream *s, uint8_t **all, long *at)
{
	const char *setup[] = { "state_size", "1048576", "mmap_layout", "none",
				"data_size", "16384", "fill", fill, NULL };
	const char *setup_b[] = { "state_size", "1048576", "mmap_layout", "none",
				  "data_size", "16384", NULL };

	st_remove_all();	/* what a failed test left behind */
	CHECK(dev_open(a, "vfmig-large", n, setup) == 0 &&
	      dev_open(b, "vfmig-large", n + 1, setup_b) == 0, "open");
	CHECK(knob_set(a, "seed", "3") == 0 && knob_set(b, "seed", "4") == 0 &&
	      save_rest(a, s, false) == 0, "save");
	*all = stream_flat(s);
	CHECK(*all != NULL, "malloc");
	*at = first_rec(*all, s->bytes, kind);
	CHECK(*at >= 0, "no record of kind %u in a %s stream", kind, fill);
	return TAP_PASS;
}

/* After the corrupt copies were refused, the intact stream resumes: equal checksums. */
static int intact_resumes(struct dev *a, struct dev *b, struct st_stream *s, uint8_t *all)
{
	CHECK(dev_reset(b) == 0 && set_state(b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      st_resume_split(b, s, false, NULL) == (long)s->n &&
	      set_state(b, VFMIG_V1_STATE_STOP) == 0, "intact stream");
	CHECK(checksums_equal(a, b), "intact stream, checksums");
	free(all);
	st_stream_free(s);
	return close_pair(a, b);
}

static int test_resume_corrupt_zero(void)
{
	static const struct { uint64_t span, off; bool reseal; const char *what; } bad[] = {
		{ 1048576 + 4096, 0, false, "span beyond the state" },
		{ 4095, 0, false, "unaligned span" },
		{ 0, 0, false, "empty span" },
		{ 4096, 100, true, "unaligned offset" },
		{ 4096, 1048576, true, "offset past the end" },
	};
	struct st_stream s = { 0 };
	struct dev a, b;
	uint8_t *all;
	long z;

	if (corrupt_pair(146, "zero", VFMIG_REC_ZERO, &a, &b, &s, &all, &z) != TAP_PASS)
		return TAP_FAIL;
	for (unsigned int i = 0; i < TAP_COUNT(bad); i++) {
		struct st_stream t = { 0 };
		uint8_t *dst;
		uint32_t crc;
		long ret;

		CHECK(st_stream_add(&t, s.bytes, &dst) == 0, "stream");
		memcpy(dst, all, s.bytes);
		memcpy(dst + z + VFMIG_REC_HDR_LEN, &bad[i].span, 8);
		if (bad[i].reseal) {
			memcpy(dst + z + offsetof(struct vfmig_rec_hdr, offset), &bad[i].off, 8);
			crc = hdr_crc(dst + z);
			memcpy(dst + z + offsetof(struct vfmig_rec_hdr, crc), &crc, 4);
		}
		CHECK(dev_reset(&b) == 0 && set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
		ret = st_resume_split(&b, &t, false, NULL);
		CHECK(ret == -EINVAL, "%s: resume gave %ld", bad[i].what, ret);
		if (expect_poisoned(&b) != TAP_PASS)
			return TAP_FAIL;
		st_stream_free(&t);
	}
	return intact_resumes(&a, &b, &s, all);
}

/*
 * Corrupt SPARSE records in a real zero:90 stream (the payload has no crc,
 * so only the device's checks catch these): a span of one page or past the
 * limit, a count of none, a map bit cleared (count and map disagree), a bit
 * set past the span, and the span moved to end past the state (header crc
 * recomputed).  Each is refused with EINVAL on the write that completes it
 * and poisons the session; the intact stream then resumes.
 */
static int test_resume_corrupt_sparse(void)
{
	enum { PAGES1, PAGES_MAX, SENT0, MAP_BIT, MAP_PAST, PAST_END, NR_BAD };
	static const char *const what[NR_BAD] = {
		"span of one page", "span of 1025 pages", "nothing sent",
		"a map bit cleared", "a map bit past the span", "span past the state",
	};
	struct vfmig_rec_sparse sp;
	struct st_stream s = { 0 };
	struct dev a, b;
	uint8_t *all;
	long z;

	if (corrupt_pair(148, "zero:90", VFMIG_REC_SPARSE, &a, &b, &s, &all, &z) != TAP_PASS)
		return TAP_FAIL;
	memcpy(&sp, all + z + VFMIG_REC_HDR_LEN, sizeof(sp));
	/* A bit past the span needs a span that ends inside a map word. */
	CHECK(sp.pages % 64 && sp.sent >= 1, "first SPARSE record: %u pages, %u sent", sp.pages,
	      sp.sent);
	for (unsigned int i = 0; i < NR_BAD; i++) {
		uint8_t *dst, *rec, *map;
		struct vfmig_rec_sparse bad = sp;
		struct st_stream t = { 0 };
		uint64_t off;
		uint32_t crc, k;
		long ret;

		CHECK(st_stream_add(&t, s.bytes, &dst) == 0, "stream");
		memcpy(dst, all, s.bytes);
		rec = dst + z;
		map = rec + VFMIG_REC_HDR_LEN + sizeof(sp);
		switch (i) {
		case PAGES1: bad.pages = 1; break;
		case PAGES_MAX: bad.pages = VFMIG_PAYLOAD_MAX_SPARSE_PAGES + 1; break;
		case SENT0: bad.sent = 0; break;
		case MAP_BIT:
			for (k = 0; !(map[k / 8] >> (k % 8) & 1); k++)
				;
			map[k / 8] &= (uint8_t)~(1u << (k % 8));
			break;
		case MAP_PAST:
			map[8 * VFMIG_SPARSE_MAP_WORDS(sp.pages) - 1] |= 0x80;
			break;
		case PAST_END:
			off = 1048576 - (uint64_t)(sp.pages - 1) * PAGE;
			memcpy(rec + offsetof(struct vfmig_rec_hdr, offset), &off, 8);
			crc = hdr_crc(rec);
			memcpy(rec + offsetof(struct vfmig_rec_hdr, crc), &crc, 4);
			break;
		}
		memcpy(rec + VFMIG_REC_HDR_LEN, &bad, sizeof(bad));
		CHECK(dev_reset(&b) == 0 && set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
		ret = st_resume_split(&b, &t, false, NULL);
		CHECK(ret == -EINVAL, "%s: resume gave %ld", what[i], ret);
		if (expect_poisoned(&b) != TAP_PASS)
			return TAP_FAIL;
		st_stream_free(&t);
	}
	return intact_resumes(&a, &b, &s, all);
}

/* Pages of [p, p+len) resident in this process's page tables, -1 on error. */
static long resident_pages(void *p, uint64_t len)
{
	size_t n = len / PAGE;
	unsigned char *vec = calloc(n, 1);
	long count = 0;

	if (!vec || mincore(p, len, vec)) {
		free(vec);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

/*
 * Mapping a data section populates nothing: pages appear on first touch
 * (mincore: each touched page, with at most 15 after it), and a touched
 * page is the same memory that pread/pwrite of the region reach, both ways.
 * A mapping that strays into a trapped gap is refused.
 */
static int test_mmap_faults_on_touch(void)
{
	const char *setup[] = { "state_size", "1048576", "data_size", "67108864",
				"mmap_layout", "whole", NULL };
	const char *sparse[] = { "mmap_layout", "sparse:4", NULL };
	static const uint64_t touch[] = { 0, 1, 4097, 16383 };
	uint64_t len, off, word = 0x5646d16a5646d16aULL, got = 0;
	volatile uint8_t *map;
	struct dev a, b;
	long before, after;
	double t0, t1;
	void *gap;

	st_remove_all();
	CHECK(dev_open(&a, "vfmig-large", 130, setup) == 0, "open");
	len = a.v.mig.areas[0].size;
	off = a.base + a.v.mig.areas[0].offset;
	CHECK(a.v.mig.nr_areas == 1 && len == 64 * MiB, "one 64 MiB area");
	t0 = now_s();
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a.v.device, (off_t)off);
	t1 = now_s();
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	before = resident_pages((void *)map, len);
	for (size_t i = 0; i < TAP_COUNT(touch); i++)
		(void)map[touch[i] * PAGE + 8];
	after = resident_pages((void *)map, len);
	tap_diag("64 MiB mmap %.1f us, resident pages %ld, after touching %zu: %ld",
		 (t1 - t0) * 1e6, before, TAP_COUNT(touch), after);
	CHECK(before == 0, "%ld pages resident before any touch", before);
	/* A fault maps up to 16 pages from the one touched (kernel/layout.c). */
	CHECK(after >= (long)TAP_COUNT(touch) && after <= 16 * (long)TAP_COUNT(touch),
	      "%ld pages resident after touching %zu", after, TAP_COUNT(touch));
	CHECK(resident_pages((void *)(map + 8192 * PAGE), 16 * PAGE) == 0,
	      "untouched pages in the middle are resident");
	/* A store through the mapping is what pread sees, and the reverse. */
	memcpy((void *)(map + 2 * PAGE + 16), &word, 8);
	CHECK(pread(a.v.device, &got, 8, (off_t)(off + 2 * PAGE + 16)) == 8 && got == word,
	      "pread after a mapped store: %#llx", (unsigned long long)got);
	word = ~word;
	CHECK(pwrite(a.v.device, &word, 8, (off_t)(off + 8 * PAGE)) == 8, "pwrite");
	memcpy(&got, (void *)(map + 8 * PAGE), 8);
	CHECK(got == word, "mapped load after pwrite: %#llx", (unsigned long long)got);
	munmap((void *)map, len);
	dev_close(&a);

	/* sparse:4: an area maps, one page more into the gap does not. */
	CHECK(dev_open(&b, "vfmig-large", 131, sparse) == 0 && b.v.mig.nr_areas == 4, "sparse:4");
	len = b.v.mig.areas[0].size;
	off = b.base + b.v.mig.areas[0].offset;
	gap = mmap(NULL, len + PAGE, PROT_READ, MAP_SHARED, b.v.device, (off_t)off);
	CHECK(gap == MAP_FAILED && errno == EINVAL, "area plus a gap page mapped");
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, b.v.device, (off_t)off);
	CHECK(map != MAP_FAILED && resident_pages((void *)map, len) == 0, "sparse area");
	(void)map[len - 1];
	CHECK(resident_pages((void *)map, len) == 1, "last page of the area");
	munmap((void *)map, len);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

/* Size from VFMIG_BIG_STATE (MiB), default 1 GiB when the guest has room for two. */
static int test_big_state(void)
{
	const char *env = getenv("VFMIG_BIG_STATE");
	unsigned long mib = env && *env ? strtoul(env, NULL, 10) : 1024;
	long total = meminfo_kib("MemTotal");

	st_remove_all();	/* what a failed test left behind */
	if (!(env && *env) && total < (2 * 1024 + 640) * 1024L) {
		tap_diag("MemTotal %ld kB is too small for two 1 GiB devices: 256 MiB instead",
			 total);
		mib = 256;
	}
	return big_state_run(mib);
}

static const struct tap_test tests[] = {
	TAP_TEST(test_load),
	TAP_TEST(test_dirty_stats),
	TAP_TEST(test_precopy_converges),
	TAP_TEST(test_precopy_diverges),
	TAP_TEST(test_resume_split),
	TAP_TEST(test_resume_missing_pages),
	TAP_TEST(test_resume_bad_data_size),
	TAP_TEST(test_fault_short_chunk),
	TAP_TEST(test_fault_resume_chunk),
	TAP_TEST(test_fault_save_chunk),
	TAP_TEST(test_fault_transition_error),
	TAP_TEST(test_stat_iterations_clean),
	TAP_TEST(test_seed_during_save),
	TAP_TEST_TIMEOUT(test_no_leak, 300),
	TAP_TEST(test_state_size_knob),
	TAP_TEST(test_mmap_faults_on_touch),
	TAP_TEST(test_fill_knob),
	TAP_TEST_TIMEOUT(test_fill_migrates, 300),
	TAP_TEST(test_fill_zero_dirty),
	TAP_TEST(test_resume_corrupt_zero),
	TAP_TEST(test_resume_corrupt_sparse),
	TAP_TEST_TIMEOUT(test_big_state, 600),
	{ "test_unload", st_test_unload, 0 },
};

int main(void)
{
	return tap_run("device", tests, TAP_COUNT(tests));
}
