// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "migration": drives the v1 migration region by hand, exactly as
 * the protocol says and independent of the engine: region info, all 8x8
 * device_state transitions, field widths, save + resume for each mmap layout
 * and data_offset policy (pread and mmap, dirty generation on and off) with
 * equal checksums, refused streams, mmap checks, faults, reset, remove.
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>

#include "util.h"
#include "vfmig/abi.h"

struct chunk {
	uint64_t size;
	uint8_t *data;
	uint64_t off;			/* data_offset it was saved at */
};

struct stream {
	struct chunk c[4096];
	unsigned int n;
};

/* One save round: pending → data_offset → data_size → data, until pending 0 or max. */
static int save_rounds(struct dev *d, struct stream *s, int max, bool use_mmap)
{
	uint64_t pending, off, size;

	for (int i = 0; max < 0 || i < max; i++) {
		if (rd64(d, HDR(pending_bytes), &pending))
			return -1;
		if (!pending)
			return 0;
		if (rd64(d, HDR(data_offset), &off) || rd64(d, HDR(data_size), &size))
			return -1;
		if (s->n >= 4096)
			return -1;
		s->c[s->n].off = off;
		s->c[s->n].size = size;
		s->c[s->n].data = malloc(size ? size : 1);
		if (xfer(d, off, s->c[s->n].data, size, use_mmap, false))
			return -1;
		s->n++;
		if (!size && !(state_of(d) & VFMIG_V1_STATE_RUNNING))
			return -1;	/* stop-and-copy must make progress */
	}
	return 0;
}

static void stream_free(struct stream *s)
{
	for (unsigned int i = 0; i < s->n; i++)
		free(s->c[i].data);
	s->n = 0;
}

static int resume(struct dev *d, struct stream *s, bool use_mmap)
{
	uint64_t off;

	for (unsigned int i = 0; i < s->n; i++) {
		if (!s->c[i].size)
			continue;
		if (rd64(d, HDR(data_offset), &off) ||
		    xfer(d, off, s->c[i].data, s->c[i].size, use_mmap, true))
			return -1;
		if (wr64(d, HDR(data_size), s->c[i].size))
			return -errno;
	}
	return 0;
}

static int test_load(void)
{
	st_remove_all();
	CHECK(st_load_module("max_devices=8") == 0, "load");
	return TAP_PASS;
}

static int test_region_info(void)
{
	struct vfio_region_info small = { .argsz = sizeof(small), .index = VFMIG_MIGRATION_REGION_INDEX };
	struct dev d;

	CHECK(dev_open(&d, "vfmig-large", 1, NULL) == 0, "open");
	CHECK(d.v.mig_index == VFMIG_MIGRATION_REGION_INDEX, "index %d", d.v.mig_index);
	CHECK(d.v.mig.type == 3 && d.v.mig.subtype == 1, "type %u/%u", d.v.mig.type, d.v.mig.subtype);
	CHECK(d.v.mig.size == 4096 + (1 << 20), "size %llu", (unsigned long long)d.v.mig.size);
	CHECK(d.v.mig.flags & VFIO_REGION_INFO_FLAG_MMAP, "no MMAP flag");
	CHECK(d.v.mig.has_sparse && d.v.mig.nr_areas == 4, "areas %u", d.v.mig.nr_areas);
	/* 256 pages in 7 slots of 36 pages; even slots mapped. */
	for (unsigned int i = 0; i < 4; i++)
		CHECK(d.v.mig.areas[i].offset == 4096 + 2 * i * 36 * 4096ULL &&
		      d.v.mig.areas[i].size == 36 * 4096ULL, "area %u", i);
	/* A short argsz gets the needed size back and no capability offset. */
	CHECK(ioctl(d.v.device, VFIO_DEVICE_GET_REGION_INFO, &small) == 0, "short argsz");
	CHECK(small.argsz > sizeof(small) && small.cap_offset == 0 &&
	      (small.flags & VFIO_REGION_INFO_FLAG_CAPS), "argsz %u cap_offset %u",
	      small.argsz, small.cap_offset);
	dev_close(&d);
	CHECK(dev_open(&d, "vfmig-small", 2, NULL) == 0, "open small");
	CHECK(!d.v.mig.has_sparse && !(d.v.mig.flags & VFIO_REGION_INFO_FLAG_MMAP),
	      "small type must be all trapped");
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/* Drive a fresh device into state @s (0-4 or 6). */
static int reach(struct dev *d, uint32_t s)
{
	if (dev_reset(d))
		return -1;
	if (s == 6)
		return vfmig_knob_write(d->uuid, "fault", "error", &(struct vfmig_err){ 0 });
	return s == 1 ? 0 : set_state(d, s);
}

static int test_transitions_8x8(void)
{
	/* From the v1 rules as vfmig documents them (Documentation/device.md). */
	static const uint8_t ok[8] = {
		[0] = 0x17, [1] = 0x1f, [2] = 0x07, [3] = 0x0f, [4] = 0x10,
	};
	struct dev d;

	CHECK(dev_open(&d, "vfmig-small", 3, NULL) == 0, "open");
	for (uint32_t from = 0; from < 8; from++) {
		if (from == 5 || from == 7)
			continue;	/* cannot be entered: checked as targets */
		for (uint32_t to = 0; to < 8; to++) {
			int ret;

			CHECK(reach(&d, from) == 0 && state_of(&d) == from, "reach %u", from);
			ret = set_state(&d, to);
			if (ok[from] & (1u << to)) {
				CHECK(ret == 0, "%u -> %u refused (%d)", from, to, ret);
				CHECK(state_of(&d) == to, "%u -> %u reads %u", from, to, state_of(&d));
			} else {
				CHECK(ret == -EINVAL, "%u -> %u gave %d, want EINVAL", from, to, ret);
				CHECK(state_of(&d) == from, "%u -> %u changed state to %u", from, to,
				      state_of(&d));
			}
		}
	}
	/* Reserved bits are kept, the reserved field reads 0. */
	CHECK(reach(&d, 1) == 0 && set_state(&d, 0xf0000001) == 0, "reserved bits");
	CHECK(state_of(&d) == 0xf0000001, "state %#x", state_of(&d));
	{
		uint32_t r = 1;

		CHECK(wr32(&d, HDR(reserved), 0x1234) == 0 && rd32(&d, HDR(reserved), &r) == 0 &&
		      r == 0, "reserved reads %#x", r);
	}
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

static int test_field_access(void)
{
	uint8_t b[8];
	struct dev d;

	CHECK(dev_open(&d, "vfmig-small", 4, NULL) == 0, "open");
	CHECK(pread(d.v.device, b, 2, d.base) < 0 && errno == EINVAL, "2-byte device_state");
	CHECK(pread(d.v.device, b, 8, d.base) < 0 && errno == EINVAL, "8-byte device_state");
	CHECK(pread(d.v.device, b, 4, d.base + 8) < 0 && errno == EINVAL, "4-byte pending");
	CHECK(pread(d.v.device, b, 8, d.base + 12) < 0 && errno == EINVAL, "unaligned u64");
	CHECK(pread(d.v.device, b, 4, d.base + 1) < 0 && errno == EINVAL, "unaligned u32");
	CHECK(pread(d.v.device, b, 4, d.base + 64) < 0 && errno == EINVAL, "dead space");
	CHECK(wr64(&d, HDR(pending_bytes), 1) == -EINVAL, "pending is read-only");
	CHECK(wr64(&d, HDR(data_offset), 1) == -EINVAL, "data_offset is read-only");
	CHECK(pread(d.v.device, b, 8, d.base + d.v.mig.size - 4) < 0 && errno == EINVAL,
	      "access past the region end");
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/* The hash_offload, chunk_offload and fill knobs migrate_once() sets on both ends. */
static const char *hash_offload = "0";
static const char *chunk_offload = "0";
static const char *fill = "random";

/* One save + resume; returns TAP result. */
static int migrate_once(const char *layout, const char *policy, bool use_mmap,
			const char *rate, unsigned int n)
{
	const char *setup[] = { "state_size", "1048576", "data_size", "65536",
				"mmap_layout", layout, "data_offset_policy", policy,
				"dirty_rate", rate, "hash_offload", hash_offload,
				"chunk_offload", chunk_offload, "fill", fill, NULL };
	static struct stream s;
	uint64_t src_sum, dst_sum, p;
	struct dev a, b;

	CHECK(dev_open(&a, "vfmig-large", n, setup) == 0 &&
	      dev_open(&b, "vfmig-large", n + 1, setup) == 0, "open %s/%s", layout, policy);
	/* The destination holds a state of its own: a ZERO record must clear its pages. */
	CHECK(vfmig_knob_write(a.uuid, "seed", "7", &(struct vfmig_err){ 0 }) == 0 &&
	      vfmig_knob_write(b.uuid, "seed", "8", &(struct vfmig_err){ 0 }) == 0, "seed");
	CHECK(vfmig_vfio_map_migration(&a.v, use_mmap, &(struct vfmig_err){ 0 }) == 0 &&
	      vfmig_vfio_map_migration(&b.v, use_mmap, &(struct vfmig_err){ 0 }) == 0, "map");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	CHECK(save_rounds(&a, &s, 40, use_mmap) == 0, "pre-copy rounds");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(save_rounds(&a, &s, -1, use_mmap) == 0, "stop-and-copy rounds");
	CHECK(rd64(&a, HDR(pending_bytes), &p) == 0 && p == 0, "pending %llu", (unsigned long long)p);
	CHECK(set_state(&a, VFMIG_V1_STATE_STOP) == 0, "stop");
	CHECK(st_knob_u64(a.uuid, "checksum", &src_sum) == 0, "checksum");

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(resume(&b, &s, use_mmap) == 0, "resume %s/%s mmap=%d", layout, policy, use_mmap);
	/*
	 * The checksum of the state as resumed, before the destination runs:
	 * running, its own dirty generator (the same dirty_rate) may change
	 * pages before it stops again.
	 */
	CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "stop destination");
	CHECK(st_knob_u64(b.uuid, "checksum", &dst_sum) == 0, "checksum");
	CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == 0 &&
	      set_state(&b, VFMIG_V1_STATE_STOP) == 0, "running after resume");
	CHECK(src_sum == dst_sum, "%s/%s mmap=%d rate=%s: checksums %016llx != %016llx (%u chunks)",
	      layout, policy, use_mmap, rate, (unsigned long long)src_sum,
	      (unsigned long long)dst_sum, s.n);
	/* Every byte handed out was acknowledged, and every byte came back. */
	{
		uint64_t total = 0, saved, restored;

		for (unsigned int i = 0; i < s.n; i++)
			total += s.c[i].size;
		CHECK(st_knob_u64(a.uuid, "stat_bytes_saved", &saved) == 0 && saved == total,
		      "stat_bytes_saved %llu, chunks carried %llu", (unsigned long long)saved,
		      (unsigned long long)total);
		CHECK(st_knob_u64(b.uuid, "stat_bytes_restored", &restored) == 0 && restored == total,
		      "stat_bytes_restored %llu of %llu", (unsigned long long)restored,
		      (unsigned long long)total);
	}
	stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

static int test_save_resume_matrix(void)
{
	static const char *const layouts[] = { "none", "whole", "sparse:4" };
	static const char *const policies[] = { "fixed", "rotate", "gap", "straddle" };
	unsigned int n = 100, runs = 0;

	for (int l = 0; l < 3; l++) {
		for (int p = 0; p < 4; p++) {
			/* gap needs trapped space, straddle an area followed by a gap. */
			if ((p == 2 && l == 1) || (p == 3 && l != 2))
				continue;
			for (int m = 0; m < 2; m++) {
				for (int r = 0; r < 2; r++) {
					int ret = migrate_once(layouts[l], policies[p], m,
							       r ? "4194304" : "0", n);

					if (ret != TAP_PASS)
						return ret;
					n += 2;
					runs++;
				}
			}
		}
	}
	tap_diag("%u migrations with equal checksums", runs);
	return TAP_PASS;
}

static int test_bad_config_refused(void)
{
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_err err = { 0 };

	CHECK(st_create("vfmig-large", 20, uuid) == 0, "create");
	CHECK(vfmig_knob_write(uuid, "mmap_layout", "whole", &err) == 0, "whole");
	CHECK(vfmig_knob_write(uuid, "data_offset_policy", "gap", &err) == -EINVAL, "gap+whole");
	CHECK(vfmig_knob_write(uuid, "data_offset_policy", "straddle", &err) == -EINVAL,
	      "straddle+whole");
	CHECK(vfmig_knob_write(uuid, "mmap_layout", "sparse:1", &err) == -EINVAL, "sparse:1");
	CHECK(vfmig_knob_write(uuid, "mmap_layout", "sparse:17", &err) == -EINVAL, "sparse:17");
	CHECK(vfmig_knob_write(uuid, "data_size", "4097", &err) == -EINVAL, "unaligned data_size");
	CHECK(vfmig_knob_write(uuid, "data_size", "0", &err) == -EINVAL, "zero data_size");
	CHECK(vfmig_knob_write(uuid, "fault", "bogus", &err) == -EINVAL, "bogus fault");
	st_remove_all();
	return TAP_PASS;
}

static int save_stream(struct dev *a, struct stream *s)
{
	if (set_state(a, VFMIG_V1_STATE_SAVING) || save_rounds(a, s, -1, false) ||
	    set_state(a, VFMIG_V1_STATE_STOP))
		return -1;
	return 0;
}

static int test_resume_refuses_bad_streams(void)
{
	const char *setup[] = { "state_size", "262144", "mmap_layout", "none", "data_size", "16384", NULL };
	static struct stream s, small;
	struct vfmig_err err = { 0 };
	struct dev a, b, c;
	uint8_t *p;

	CHECK(dev_open(&a, "vfmig-large", 30, setup) == 0 && dev_open(&b, "vfmig-large", 31, setup) == 0,
	      "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "9", &err) == 0 && save_stream(&a, &s) == 0, "save");
	CHECK(s.n > 4, "only %u chunks", s.n);

	/* Truncated: everything but the last chunk; RUNNING is refused. */
	s.n--;
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 && resume(&b, &s, false) == 0, "partial");
	CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == -EINVAL, "incomplete resume must not run");
	CHECK(state_of(&b) == VFMIG_V1_STATE_RESUMING, "state %u", state_of(&b));
	s.n++;
	CHECK(dev_reset(&b) == 0 && state_of(&b) == 1, "reset after truncation");

	/* Corrupt: one flipped byte in the middle. */
	p = s.c[s.n / 2].data;
	p[s.c[s.n / 2].size / 2] ^= 0x40;
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(resume(&b, &s, false) == -EINVAL, "corrupt stream accepted");
	p[s.c[s.n / 2].size / 2] ^= 0x40;
	CHECK(dev_reset(&b) == 0 && state_of(&b) == 1, "reset after corruption");

	/* Out of order: two chunks swapped. */
	{
		struct chunk t = s.c[1];

		s.c[1] = s.c[2];
		s.c[2] = t;
		CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
		CHECK(resume(&b, &s, false) == -EINVAL, "reordered stream accepted");
		s.c[2] = s.c[1];
		s.c[1] = t;
		CHECK(dev_reset(&b) == 0, "reset");
	}

	/* Foreign: a small-type stream into a large device. */
	CHECK(dev_open(&c, "vfmig-small", 32, NULL) == 0 && save_stream(&c, &small) == 0, "small");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(resume(&b, &small, false) == -EINVAL, "foreign stream accepted");
	CHECK(dev_reset(&b) == 0, "reset");

	/* And the intact stream still resumes after all that. */
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 && resume(&b, &s, false) == 0 &&
	      set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "clean resume");
	{
		uint64_t x, y;

		CHECK(st_knob_u64(a.uuid, "checksum", &x) == 0 && st_knob_u64(b.uuid, "checksum", &y) == 0 &&
		      x == y, "checksums differ");
	}
	stream_free(&s);
	stream_free(&small);
	dev_close(&a);
	dev_close(&b);
	dev_close(&c);
	st_remove_all();
	return TAP_PASS;
}

/*
 * Payload format 2 (Documentation/device.md): a damaged record header is
 * refused before anything of its record is applied, whether it lies whole
 * in one data_size write (checked in place) or is split across two
 * (assembled first); a damaged payload byte is caught by the END record's
 * digest on the last write, and the device may not run.
 */
static int test_resume_corrupt_record(void)
{
	const char *setup[] = { "state_size", "262144", "mmap_layout", "whole", "data_size", "131072", NULL };
	static struct stream s, one;
	struct vfmig_err err = { 0 };
	uint64_t before, after, ok0, ok1;
	unsigned int nonempty = 0;
	uint32_t len0, len1;
	struct dev a, b;
	uint8_t *p;

	CHECK(dev_open(&a, "vfmig-large", 33, setup) == 0 && dev_open(&b, "vfmig-large", 34, setup) == 0,
	      "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "9", &err) == 0 &&
	      vfmig_knob_write(b.uuid, "seed", "5", &err) == 0 && save_stream(&a, &s) == 0, "save");
	CHECK(s.n > 2 && s.c[0].size == 131072, "chunks %u, first %llu", s.n,
	      (unsigned long long)s.c[0].size);
	for (unsigned int i = 0; i < s.n; i++)
		nonempty += s.c[i].size != 0;
	/* Chunk 0: the HEADER record, a whole PAGES record, the start of the next. */
	p = s.c[0].data;
	memcpy(&len0, p + 12, 4);
	len0 += 28;
	memcpy(&len1, p + len0 + 12, 4);
	len1 += 28;
	CHECK(len0 == 52 && p[len0 + 4] == 2 && len0 + len1 < s.c[0].size, "layout %u %u", len0, len1);
	CHECK(st_knob_u64(b.uuid, "checksum", &before) == 0, "checksum");

	for (int mmap_it = 0; mmap_it < 2; mmap_it++) {
		/*
		 * Whole in one write: the PAGES record's offset moved by a page,
		 * still aligned and in bounds; only the header crc tells.
		 */
		p[len0 + 17] ^= 0x10;
		one.n = 1;
		one.c[0] = s.c[0];
		CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
		CHECK(resume(&b, &one, mmap_it != 0) == -EINVAL, "damaged header accepted");
		p[len0 + 17] ^= 0x10;
		CHECK(state_of(&b) == VFMIG_V1_STATE_RESUMING &&
		      rd64(&b, HDR(data_offset), &after) != 0, "not poisoned");
		CHECK(st_knob_u64(b.uuid, "checksum", &after) == 0 && after == before,
		      "record with a damaged header applied");
		CHECK(dev_reset(&b) == 0 && state_of(&b) == 1, "reset");
	}

	/* Split: the same header cut after 10 bytes, the damage in the second write. */
	p[len0 + 17] ^= 0x10;
	one.n = 2;
	one.c[0] = (struct chunk){ len0 + 10, s.c[0].data, 0 };
	one.c[1] = (struct chunk){ s.c[0].size - len0 - 10, s.c[0].data + len0 + 10, 0 };
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(resume(&b, &one, false) == -EINVAL, "damaged split header accepted");
	p[len0 + 17] ^= 0x10;
	CHECK(st_knob_u64(b.uuid, "checksum", &after) == 0 && after == before,
	      "record with a damaged split header applied");
	CHECK(dev_reset(&b) == 0 && state_of(&b) == 1, "reset");

	/* Payload: every write but the last (the END record) is taken. */
	p[len0 + 28 + 1000] ^= 0x40;
	CHECK(st_knob_u64(b.uuid, "stat_chunks_restored", &ok0) == 0, "stat");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(resume(&b, &s, true) == -EINVAL, "damaged payload accepted");
	p[len0 + 28 + 1000] ^= 0x40;
	CHECK(st_knob_u64(b.uuid, "stat_chunks_restored", &ok1) == 0 && ok1 - ok0 == nonempty - 1,
	      "%llu of %u writes taken, want all but the last",
	      (unsigned long long)(ok1 - ok0), nonempty);
	CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == -EINVAL &&
	      state_of(&b) == VFMIG_V1_STATE_RESUMING, "a device with a damaged state may run");
	CHECK(dev_reset(&b) == 0 && state_of(&b) == 1, "reset");

	/* The intact stream resumes. */
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 && resume(&b, &s, true) == 0 &&
	      set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "clean resume");
	CHECK(st_knob_u64(a.uuid, "checksum", &before) == 0 &&
	      st_knob_u64(b.uuid, "checksum", &after) == 0 && before == after, "checksums differ");
	stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

/* A pair's stream and devices gone, and every vfmig device removed. */
static void pair_free(struct stream *s, struct dev *a, struct dev *b)
{
	stream_free(s);
	dev_close(a);
	dev_close(b);
	st_remove_all();
}

/*
 * Knob @name of a fresh device (number @n) reads "0", refuses what
 * kstrtobool() refuses, and reads "1" after "y".
 */
static int check_bool_knob(const char *name, unsigned int n)
{
	static const char *const bad[] = { "2", "maybe", "x", "-1" };
	struct vfmig_err err = { 0 };
	char v[8] = "";
	struct dev a;

	CHECK(dev_open(&a, "vfmig-large", n, NULL) == 0, "open");
	CHECK(vfmig_knob_read(a.uuid, name, v, sizeof(v), &err) == 0 && !strcmp(v, "0"),
	      "%s default %s", name, v);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(vfmig_knob_write(a.uuid, name, bad[i], &err) == -EINVAL,
		      "%s=\"%s\" taken", name, bad[i]);
	CHECK(vfmig_knob_write(a.uuid, name, "y", &err) == 0 &&
	      vfmig_knob_read(a.uuid, name, v, sizeof(v), &err) == 0 && !strcmp(v, "1"),
	      "%s: y reads %s", name, v);
	dev_close(&a);
	st_remove_all();
	return TAP_PASS;
}

/*
 * @s saved from @a, one byte of its chunk @c flipped: @b refuses it at the
 * END record; reset, the clean stream resumes to @a's checksum.
 */
static int resume_damaged_then_clean(struct dev *a, struct dev *b, struct stream *s,
				     unsigned int c)
{
	uint64_t x, y;

	CHECK(s->n > c && s->c[c].size > 2000, "chunks %u", s->n);
	s->c[c].data[1000] ^= 0x01;
	CHECK(set_state(b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(resume(b, s, true) == -EINVAL, "damaged payload accepted");
	s->c[c].data[1000] ^= 0x01;
	CHECK(dev_reset(b) == 0 && set_state(b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      resume(b, s, true) == 0 && set_state(b, VFMIG_V1_STATE_RUNNING) == 0,
	      "clean resume");
	CHECK(st_knob_u64(a->uuid, "checksum", &x) == 0 &&
	      st_knob_u64(b->uuid, "checksum", &y) == 0 && x == y, "checksums differ");
	return TAP_PASS;
}

/*
 * Two devices set up by @setup (numbers @n, @n + 1): part of a save and of
 * its resume, both closed right after and removed, most likely while their
 * workers still have queued work (the debug kernel's KASAN and lockdep
 * watch this).
 */
static int close_with_work_queued(const char **setup, unsigned int n)
{
	static struct stream s;
	struct dev a, b;

	CHECK(dev_open(&a, "vfmig-large", n, setup) == 0 &&
	      dev_open(&b, "vfmig-large", n + 1, setup) == 0, "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "12", &(struct vfmig_err){ 0 }) == 0, "seed");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0 && save_rounds(&a, &s, 3, true) == 0,
	      "save part");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 && resume(&b, &s, true) == 0,
	      "resume part");
	pair_free(&s, &a, &b);
	return TAP_PASS;
}

struct offload_geo {
	const char *layout, *policy;
};

/* migrate_once() through each of @ng geometries, offline and live (devices from *@n on). */
static int offload_matrix(const struct offload_geo *geo, unsigned int ng, unsigned int *n)
{
	int ret = TAP_PASS;

	for (unsigned int g = 0; g < ng && ret == TAP_PASS; g++) {
		for (int r = 0; r < 2 && ret == TAP_PASS; r++) {
			ret = migrate_once(geo[g].layout, geo[g].policy, g % 2, r ? "4194304" : "0",
					   *n);
			*n += 2;
		}
	}
	return ret;
}

/*
 * hash_offload=1: page hashes on the device's worker.  The knob takes
 * booleans only; migrations with it on both ends, live with the dirty
 * generator writing while the worker reads, end with equal checksums; a
 * damaged payload is still caught at the END record; and a session closed
 * with spans still queued, then its device removed, leaves nothing behind
 * (the debug kernel's KASAN and lockdep watch this one).
 */
static int test_hash_offload(void)
{
	const char *setup[] = { "state_size", "4194304", "mmap_layout", "whole",
				"data_size", "65536", "hash_offload", "1", NULL };
	const char *big[] = { "state_size", "33554432", "mmap_layout", "whole",
			      "data_size", "8388608", "hash_offload", "1", NULL };
	static const struct offload_geo geo[] = { { "none", "fixed" }, { "whole", "fixed" } };
	static struct stream s;
	struct vfmig_err err = { 0 };
	uint64_t spans_a, spans_b;
	unsigned int n = 122;
	struct dev a, b;
	int ret;

	ret = check_bool_knob("hash_offload", 120);
	if (ret != TAP_PASS)
		return ret;

	hash_offload = "1";
	ret = offload_matrix(geo, 2, &n);
	hash_offload = "0";
	if (ret != TAP_PASS)
		return ret;

	CHECK(dev_open(&a, "vfmig-large", 130, setup) == 0 &&
	      dev_open(&b, "vfmig-large", 131, setup) == 0, "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "11", &err) == 0 && save_stream(&a, &s) == 0,
	      "save");
	/* The worker took them: a fallback to hashing in place would not count. */
	CHECK(st_knob_u64(a.uuid, "stat_hash_spans", &spans_a) == 0 && spans_a > 0,
	      "no span queued on the source");
	ret = resume_damaged_then_clean(&a, &b, &s, 1);
	if (ret != TAP_PASS)
		return ret;
	CHECK(st_knob_u64(b.uuid, "stat_hash_spans", &spans_b) == 0 && spans_b > 0,
	      "no span queued on the destination");
	pair_free(&s, &a, &b);

	/*
	 * 8 MiB spans queued on both ends, closed right after, then removed:
	 * the worker is most likely still hashing when the session ends.
	 */
	return close_with_work_queued(big, 132);
}

/*
 * As resume(), but like QEMU and libvfmig: each piece goes where data_offset
 * says, up to the region's end, so the two ends' chunks need not match.
 */
static int resume_bounded(struct dev *d, struct stream *s, bool use_mmap)
{
	uint64_t off, done, n;

	for (unsigned int i = 0; i < s->n; i++) {
		for (done = 0; done < s->c[i].size; done += n) {
			if (rd64(d, HDR(data_offset), &off) || off >= d->v.mig.size)
				return -1;
			n = s->c[i].size - done;
			if (n > d->v.mig.size - off)
				n = d->v.mig.size - off;
			if (xfer(d, off, s->c[i].data + done, n, use_mmap, true))
				return -1;
			if (wr64(d, HDR(data_size), n))
				return -errno;
		}
	}
	return 0;
}

/* Save @a whole (stop-and-copy), resume @b with resume_bounded(), compare. */
static int migrate_bounded(struct dev *a, struct dev *b, struct stream *s, bool use_mmap)
{
	uint64_t x, y;

	CHECK(set_state(a, VFMIG_V1_STATE_SAVING) == 0 && save_rounds(a, s, -1, use_mmap) == 0,
	      "save");
	CHECK(set_state(b, VFMIG_V1_STATE_RESUMING) == 0 && resume_bounded(b, s, use_mmap) == 0 &&
	      set_state(b, VFMIG_V1_STATE_STOP) == 0, "resume");
	CHECK(st_knob_u64(a->uuid, "checksum", &x) == 0 &&
	      st_knob_u64(b->uuid, "checksum", &y) == 0 && x == y,
	      "checksums %016llx != %016llx", (unsigned long long)x, (unsigned long long)y);
	return TAP_PASS;
}

/*
 * chunk_offload, resuming: a page sent with data and later, in the same
 * stream, as a zero page (the source reseeded during pre-copy, so its zero
 * pages moved) ends zero.  The destination's worker is slowed (the
 * slow_worker fault), so the first chunk's copies are still queued when
 * the second chunk's zero pages are parsed: their clears must land after.
 */
static int zero_after_copy(unsigned int n)
{
	const char *setup[] = { "state_size", "2097152", "mmap_layout", "whole",
				"data_size", "8388608", "chunk_offload", "1", "fill", "zero:60",
				"dirty_rate", "0", NULL };
	static struct stream s;
	struct vfmig_err err = { 0 };
	uint64_t x, y, copies;
	char v[32];
	struct dev a, b;

	CHECK(dev_open(&a, "vfmig-large", n, setup) == 0 &&
	      dev_open(&b, "vfmig-large", n + 1, setup) == 0, "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "7", &err) == 0 &&
	      vfmig_knob_write(b.uuid, "seed", "8", &err) == 0, "seed");
	CHECK(vfmig_vfio_map_migration(&a.v, true, &err) == 0 &&
	      vfmig_vfio_map_migration(&b.v, true, &err) == 0, "map");
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0 &&
	      save_rounds(&a, &s, 1, true) == 0 && s.n == 1 && s.c[0].size > 0, "first chunk");
	/* Every page again, 60% of them zero but mostly others than before. */
	CHECK(vfmig_knob_write(a.uuid, "seed", "9", &err) == 0, "reseed while saving");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0 && save_rounds(&a, &s, -1, true) == 0 &&
	      set_state(&a, VFMIG_V1_STATE_STOP) == 0, "stop-and-copy");
	CHECK(s.n > 1, "one chunk only");
	CHECK(vfmig_knob_write(b.uuid, "fault", "slow_worker", &err) == 0 &&
	      set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming, worker slowed");
	CHECK(vfmig_knob_read(b.uuid, "fault", v, sizeof(v), &err) == 0 && !strcmp(v, "none"),
	      "slow_worker did not fire at the session start: %s", v);
	CHECK(resume(&b, &s, true) == 0 && set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume");
	CHECK(st_knob_u64(b.uuid, "stat_chunk_copies", &copies) == 0 && copies > 0,
	      "no chunk copy queued on the destination");
	CHECK(st_knob_u64(a.uuid, "checksum", &x) == 0 &&
	      st_knob_u64(b.uuid, "checksum", &y) == 0 && x == y,
	      "checksums %016llx != %016llx", (unsigned long long)x, (unsigned long long)y);
	pair_free(&s, &a, &b);
	return TAP_PASS;
}

/*
 * chunk_offload=1: v1 chunks copied on the device's worker, one ahead of
 * user space, in slots of the data section.  The knob takes booleans only;
 * the layout and policy matrix migrates with it on both ends, live too;
 * a save hands chunks out of more than one slot (it is on); either end
 * may have it off (the destination's slots are smaller than the source's
 * chunks, and a piece written from the first slot on covers the ones the
 * worker may still be reading: it must wait, or the END digest fails);
 * zero pages are cleared on the worker's queue, behind the copies (a
 * partly zero state onto a destination whose data pages lie elsewhere, so
 * that clears and copies alternate); a damaged payload is caught, zero
 * pages too; a page sent with data and then as a zero page ends zero
 * however far the worker lags; and a session closed with copies queued,
 * its device then removed, leaves nothing behind.
 */
static int test_chunk_offload(void)
{
	static const struct offload_geo geo[] = {
		{ "none", "fixed" }, { "whole", "fixed" }, { "sparse:4", "rotate" },
		{ "sparse:4", "straddle" }, { "none", "gap" },
		/* Three slots: the slot index cycles through a count that is no power of two. */
		{ "sparse:3", "rotate" },
	};
	const char *on[] = { "state_size", "4194304", "mmap_layout", "whole",
			     "data_size", "65536", "chunk_offload", "1", NULL };
	const char *off[] = { "state_size", "4194304", "mmap_layout", "whole",
			      "data_size", "65536", NULL };
	const char *big[] = { "state_size", "33554432", "mmap_layout", "whole",
			      "data_size", "8388608", "chunk_offload", "1", NULL };
	const char *on_zero[] = { "state_size", "4194304", "mmap_layout", "whole",
				  "data_size", "65536", "chunk_offload", "1", "fill", "zero:60",
				  NULL };
	static struct stream s;
	struct vfmig_err err = { 0 };
	uint64_t slots[4], saved = 0, total = 0, copies = 0;
	unsigned int nslots = 0, n = 140;
	struct dev a, b;
	int ret;

	ret = check_bool_knob("chunk_offload", n++);
	if (ret != TAP_PASS)
		return ret;

	chunk_offload = "1";
	ret = offload_matrix(geo, sizeof(geo) / sizeof(geo[0]), &n);
	/* 60% zero pages, the destination's own 60% elsewhere (its other seed). */
	fill = "zero:60";
	if (ret == TAP_PASS)
		ret = offload_matrix(geo, 3, &n);
	fill = "random";
	chunk_offload = "0";
	if (ret != TAP_PASS)
		return ret;

	/* On at the source: chunks from the four quarters of the one window. */
	CHECK(dev_open(&a, "vfmig-large", n++, on) == 0 && dev_open(&b, "vfmig-large", n++, off) == 0,
	      "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "13", &err) == 0, "seed");
	ret = migrate_bounded(&a, &b, &s, true);
	if (ret != TAP_PASS)
		return ret;
	for (unsigned int i = 0; i < s.n; i++) {
		unsigned int k;

		total += s.c[i].size;
		CHECK(s.c[i].size <= 16384, "chunk %u of %llu bytes, a quarter is 16384", i,
		      (unsigned long long)s.c[i].size);
		for (k = 0; k < nslots && slots[k] != s.c[i].off; k++)
			;
		if (k == nslots && nslots < 4)
			slots[nslots++] = s.c[i].off;
	}
	CHECK(nslots == 4, "chunks came from %u slots", nslots);
	CHECK(st_knob_u64(a.uuid, "stat_bytes_saved", &saved) == 0 && saved == total,
	      "stat_bytes_saved %llu, chunks %llu", (unsigned long long)saved,
	      (unsigned long long)total);
	/* The worker copied the source's chunks; the destination's own thread its. */
	CHECK(st_knob_u64(a.uuid, "stat_chunk_copies", &copies) == 0 && copies > 0,
	      "no chunk copy queued on the source");
	CHECK(st_knob_u64(b.uuid, "stat_chunk_copies", &copies) == 0 && copies == 0,
	      "%llu chunk copies queued with the knob off", (unsigned long long)copies);
	pair_free(&s, &a, &b);

	/* On at the destination only, pread and mmap: whole 64 KiB chunks into 16 KiB slots. */
	for (int m = 0; m < 2; m++) {
		CHECK(dev_open(&a, "vfmig-large", n++, off) == 0 &&
		      dev_open(&b, "vfmig-large", n++, on) == 0, "open");
		CHECK(vfmig_knob_write(a.uuid, "seed", "14", &err) == 0, "seed");
		ret = migrate_bounded(&a, &b, &s, m);
		if (ret != TAP_PASS)
			return ret;
		CHECK(st_knob_u64(b.uuid, "stat_chunk_copies", &copies) == 0 && copies > 0,
		      "no chunk copy queued on the destination");
		pair_free(&s, &a, &b);
	}

	/* A damaged payload is caught, and a clean stream then resumes. */
	CHECK(dev_open(&a, "vfmig-large", n++, on) == 0 && dev_open(&b, "vfmig-large", n++, on) == 0,
	      "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "15", &err) == 0 && save_stream(&a, &s) == 0,
	      "save");
	ret = resume_damaged_then_clean(&a, &b, &s, 2);
	if (ret != TAP_PASS)
		return ret;
	pair_free(&s, &a, &b);
	CHECK(dev_open(&a, "vfmig-large", n++, on_zero) == 0 &&
	      dev_open(&b, "vfmig-large", n++, on_zero) == 0, "open");
	CHECK(vfmig_knob_write(a.uuid, "seed", "16", &err) == 0 &&
	      vfmig_knob_write(b.uuid, "seed", "17", &err) == 0 && save_stream(&a, &s) == 0,
	      "save");
	ret = resume_damaged_then_clean(&a, &b, &s, 2);
	if (ret != TAP_PASS)
		return ret;
	pair_free(&s, &a, &b);

	ret = zero_after_copy(n);
	n += 2;
	if (ret != TAP_PASS)
		return ret;

	/* 2 MiB copies queued on both ends, closed right after, then removed. */
	return close_with_work_queued(big, n);
}

static int test_mmap_checks(void)
{
	struct dev d;
	const struct vfmig_region_desc *m;
	void *p;

	CHECK(dev_open(&d, "vfmig-large", 40, NULL) == 0, "open");
	m = &d.v.mig;
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, d.v.device, d.base);
	CHECK(p == MAP_FAILED && errno == EINVAL, "header page mapped");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, d.v.device, d.base + m->areas[0].offset + m->areas[0].size);
	CHECK(p == MAP_FAILED && errno == EINVAL, "gap mapped");
	p = mmap(NULL, m->areas[0].size + 4096, PROT_READ, MAP_SHARED, d.v.device,
		 d.base + m->areas[0].offset);
	CHECK(p == MAP_FAILED && errno == EINVAL, "mapping past an area end");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, d.v.device, d.base + m->areas[1].offset);
	CHECK(p == MAP_FAILED && errno == EINVAL, "private mapping");
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_SHARED, d.v.device, d.base + m->areas[1].offset);
	CHECK(p == MAP_FAILED && errno == EPERM, "executable mapping");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, d.v.device, d.base + m->areas[1].offset);
	CHECK(p != MAP_FAILED, "read-only mapping inside area 1");
	CHECK(mprotect(p, 4096, PROT_READ | PROT_EXEC) == -1 && errno == EACCES,
	      "mprotect to executable");
	munmap(p, 4096);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, d.v.device,
		 d.base + m->areas[1].offset + 4096);
	CHECK(p != MAP_FAILED, "mapping inside area 1");
	munmap(p, 8192);
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

static int test_faults_and_reset(void)
{
	struct vfmig_err err = { 0 };
	uint64_t v;
	struct dev d;

	CHECK(dev_open(&d, "vfmig-small", 50, NULL) == 0, "open");
	CHECK(vfmig_knob_write(d.uuid, "fault", "transition", &err) == 0, "arm");
	CHECK(set_state(&d, 3) == -EIO, "injected transition failure");
	CHECK(state_of(&d) == VFMIG_V1_STATE_ERROR, "error state after internal failure");
	CHECK(set_state(&d, 1) == -EINVAL, "leaving error without reset");
	CHECK(dev_reset(&d) == 0 && state_of(&d) == 1, "reset recovers");

	CHECK(vfmig_knob_write(d.uuid, "fault", "save_chunk", &err) == 0, "arm");
	CHECK(set_state(&d, 3) == 0 && rd64(&d, HDR(pending_bytes), &v) == 0 && v > 0, "pre-copy");
	CHECK(rd64(&d, HDR(data_offset), &v) == -EIO, "injected chunk failure");
	CHECK(set_state(&d, 1) == 0, "back to running after a failed save");
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

static void *remove_later(void *uuid)
{
	vfmig_mdev_remove(st_ctx(), uuid);
	return NULL;
}

static int test_remove_while_open(void)
{
	char path[128];
	struct dev d;
	pthread_t t;

	CHECK(dev_open(&d, "vfmig-small", 60, NULL) == 0, "open");
	snprintf(path, sizeof(path), VFMIG_SYSFS_MDEVS "/%s", d.uuid);
	CHECK(set_state(&d, 3) == 0, "pre-copy");
	CHECK(pthread_create(&t, NULL, remove_later, d.uuid) == 0, "thread");
	sleep(1);
	/* remove blocks until the fd is closed; the device still answers. */
	CHECK(state_of(&d) == 3, "device gone while open");
	dev_close(&d);
	pthread_join(t, NULL);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT, "device not removed after close");
	return TAP_PASS;
}

/* Where dynamic debug is switched (Documentation/device.md, "Watching a device"). */
static const char *dyndbg_control(void)
{
	static const char *const paths[] = {
		"/proc/dynamic_debug/control",
		"/sys/kernel/debug/dynamic_debug/control",
	};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (access(paths[i], W_OK) == 0)
			return paths[i];
	return NULL;
}

/* The kernel's log buffer (klogctl's READ_ALL = 3, SIZE_BUFFER = 10). */
static char *kernel_log(void)
{
	int size = klogctl(10, NULL, 0);
	char *buf;
	int n;

	if (size <= 0 || !(buf = malloc(size + 1)))
		return NULL;
	n = klogctl(3, buf, size);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/*
 * Dynamic debug: with "module vfmig +p", transitions, staged chunks, resume
 * verdicts and closes show in the kernel log, naming the device.
 */
static int test_dynamic_debug(void)
{
	const char *ctl = dyndbg_control();
	char *log;
	uint64_t v;
	struct dev d;

	if (!ctl)
		SKIP("no dynamic debug control file (CONFIG_DYNAMIC_DEBUG off)");
	/* Only this test switches it on: every vfmig line of this device is ours. */
	CHECK(dev_open(&d, "vfmig-small", 70, NULL) == 0, "open");
	CHECK(st_write(ctl, "module vfmig +p") == 0, "enable dynamic debug");
	CHECK(set_state(&d, VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RUNNING) == 0, "pre-copy");
	CHECK(rd64(&d, HDR(pending_bytes), &v) == 0 && rd64(&d, HDR(data_offset), &v) == 0,
	      "stage a chunk");
	CHECK(set_state(&d, 7) == -EINVAL, "invalid state refused");
	dev_close(&d);
	CHECK(st_write(ctl, "module vfmig -p") == 0, "disable dynamic debug");
	log = kernel_log();
	CHECK(log, "read the kernel log");
	CHECK(strstr(log, d.uuid), "no line names the device");
	CHECK(strstr(log, "device_state running -> pre-copy"), "no transition line");
	CHECK(strstr(log, "staged "), "no staging line");
	CHECK(strstr(log, "refused: -22"), "no refusal line");
	CHECK(strstr(log, "closed: pre-copy -> running"), "no close line");
	free(log);
	return TAP_PASS;
}

static const struct tap_test tests[] = {
	TAP_TEST(test_load),
	TAP_TEST(test_region_info),
	TAP_TEST(test_transitions_8x8),
	TAP_TEST(test_field_access),
	TAP_TEST_TIMEOUT(test_save_resume_matrix, 600),
	TAP_TEST(test_bad_config_refused),
	TAP_TEST(test_resume_refuses_bad_streams),
	TAP_TEST(test_resume_corrupt_record),
	TAP_TEST(test_hash_offload),
	TAP_TEST_TIMEOUT(test_chunk_offload, 300),
	TAP_TEST(test_mmap_checks),
	TAP_TEST(test_faults_and_reset),
	TAP_TEST(test_remove_while_open),
	TAP_TEST(test_dynamic_debug),
	{ "test_unload", st_test_unload, 0 },
};

int main(void)
{
	return tap_run("migration", tests, TAP_COUNT(tests));
}
