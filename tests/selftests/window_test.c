// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "window": the direct data window (sysfs data_window=direct,
 * kernel/window.c), driven through the v1 region by hand.  A save hands
 * each PAGES payload out as a chunk of device memory at the region's end,
 * and a resume takes it there; the suite checks the checksums across
 * layouts, data section sizes, pread and mmap, dirtying, staged and direct
 * ends mixed; that a save's chunk cannot be written (pwrite: EINVAL, a store
 * through the mapping: SIGBUS) and a resume's cannot be read; that no
 * mapping of a chunk outlives it (a store after its data_size lands in
 * staging memory, not in the state); and that a data_size beyond the chunk
 * is refused and poisons the session; and that v1 chunks and v2 file reads
 * taking turns on one save leave the device sound.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#define KiB	1024ULL
#define MiB	(1024 * KiB)
#define WIN	(4 * MiB)	/* VFMIG_PAYLOAD_MAX_RUN_PAGES pages */

static uint64_t knob(struct dev *d, const char *name)
{
	return st_knob(d->uuid, name);
}

/* The window: the data section's last 4 MiB (all of a smaller one). */
static uint64_t window_start(const struct dev *d, uint64_t data_size)
{
	return d->v.mig.size - (data_size < WIN ? data_size : WIN);
}

/* The mapping of region offset @off, or NULL (not mapped). */
static uint8_t *mapped(struct dev *d, uint64_t off)
{
	for (unsigned int i = 0; i < d->v.region.nr_areas; i++) {
		const struct vfmig_region_area *a = &d->v.region.areas[i];

		if (a->map && off >= a->offset && off < a->offset + a->size)
			return (uint8_t *)a->map + (off - a->offset);
	}
	return NULL;
}

/*
 * Save chunks until pending_bytes reads 0 (or @max chunks, -1: no limit);
 * *run_bytes adds the bytes of chunks that were device memory (they end at
 * the region's end, inside the window).
 */
static int save_chunks(struct dev *d, struct st_stream *s, bool use_mmap, int max,
		       uint64_t wstart, uint64_t *run_bytes)
{
	uint64_t pending, off, size;
	uint8_t *buf;

	for (int i = 0; max < 0 || i < max; i++) {
		if (rd64(d, HDR(pending_bytes), &pending))
			return -1;
		if (!pending)
			return 0;
		if (rd64(d, HDR(data_offset), &off) || rd64(d, HDR(data_size), &size))
			return -1;
		if (!size)
			continue;
		if (st_stream_add(s, size, &buf) || xfer(d, off, buf, size, use_mmap, false))
			return -1;
		if (off >= wstart && off + size == d->v.mig.size && size >= 4096)
			*run_bytes += size;
	}
	return 0;
}

/*
 * Devices n (source, seeded) and n + 1 of vfmig-large with their knobs,
 * opened and mapped (@use_mmap).  0 or -1 with a diagnostic.
 */
static int open_pair(struct dev *a, struct dev *b, unsigned int n, const char *src_setup[],
		     const char *dst_setup[], const char *seed, bool use_mmap)
{
	if (dev_open(a, "vfmig-large", n, src_setup) || dev_open(b, "vfmig-large", n + 1, dst_setup) ||
	    st_knob_write_raw(a->uuid, "seed", seed) ||
	    vfmig_vfio_map_migration(&a->v, use_mmap, &(struct vfmig_err){ 0 }) ||
	    vfmig_vfio_map_migration(&b->v, use_mmap, &(struct vfmig_err){ 0 })) {
		tap_diag("open and map devices %u and %u failed", n, n + 1);
		return -1;
	}
	return 0;
}

/*
 * Resume the chunks of @s into @d, each whole at data_offset, until a
 * data_offset lands in the window (a chunk bound there); *i is that chunk's
 * index and *off the offset.  0, or -1 if no chunk was bound.
 */
static int feed_until_bound(struct dev *d, const struct st_stream *s, uint64_t wstart,
			    unsigned int *i, uint64_t *off)
{
	for (*i = 0; *i < s->n; (*i)++) {
		if (rd64(d, HDR(data_offset), off))
			return -1;
		if (*off >= wstart)
			return 0;
		if (s->c[*i].size > d->v.mig.size - *off ||
		    xfer(d, *off, s->c[*i].data, s->c[*i].size, true, true) ||
		    wr64(d, HDR(data_size), s->c[*i].size))
			return -1;
	}
	return -1;
}

static int test_load(void)
{
	st_remove_all();
	CHECK(st_load_module("max_devices=8") == 0, "load");
	return TAP_PASS;
}

/* The knob, what it refuses, and the region it gives. */
static int test_knob_and_region(void)
{
	const char *setup[] = { "state_size", "1048576", "data_size", "8388608",
				"mmap_layout", "sparse:4", "data_window", "direct", NULL };
	char uuid[VFMIG_UUID_LEN + 1], buf[32];
	uint64_t end = 0;
	struct dev d;

	CHECK(st_create("vfmig-large", 1, uuid) == 0, "create");
	CHECK(st_knob_read_raw(uuid, "data_window", buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "staged"), "default %s", buf);
	CHECK(st_knob_write_raw(uuid, "data_window", "bogus") == -EINVAL, "bogus accepted");
	/* The last of 16 areas gives way to the window. */
	CHECK(st_knob_write_raw(uuid, "data_size", "67108864") == 0 &&
	      st_knob_write_raw(uuid, "mmap_layout", "sparse:16") == 0 &&
	      st_knob_write_raw(uuid, "data_window", "direct") == 0, "sparse:16 with direct");
	CHECK(st_knob_read_raw(uuid, "data_window", buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "direct"), "reads %s", buf);
	st_remove_all();

	CHECK(dev_open(&d, "vfmig-large", 2, setup) == 0, "open");
	CHECK(st_knob_write_raw(d.uuid, "data_window", "staged") == -EBUSY, "changed while open");
	CHECK(d.v.mig.nr_areas == 3, "%u areas, not 2 cut short and the window", d.v.mig.nr_areas);
	for (unsigned int i = 0; i < d.v.mig.nr_areas; i++) {
		CHECK(d.v.mig.areas[i].offset >= end && d.v.mig.areas[i].size,
		      "area %u [0x%llx, +0x%llx) overlaps", i,
		      (unsigned long long)d.v.mig.areas[i].offset,
		      (unsigned long long)d.v.mig.areas[i].size);
		end = d.v.mig.areas[i].offset + d.v.mig.areas[i].size;
	}
	CHECK(d.v.mig.areas[2].offset == d.v.mig.size - WIN && d.v.mig.areas[2].size == WIN,
	      "window at 0x%llx size 0x%llx, region 0x%llx",
	      (unsigned long long)d.v.mig.areas[2].offset,
	      (unsigned long long)d.v.mig.areas[2].size, (unsigned long long)d.v.mig.size);
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/*
 * One migration between devices of one configuration: pre-copy (with the
 * dirty generator at @rate), stop-and-copy, resume cut at the region end as
 * QEMU cuts it.  Equal checksums, every PAGES payload moved as device
 * memory, statistics that add up.
 */
static int migrate_direct(const char *data_size, const char *layout, bool use_mmap,
			  const char *rate, unsigned int n)
{
	const char *setup[] = { "state_size", "1048576", "data_size", data_size,
				"mmap_layout", layout, "dirty_rate", rate,
				"data_window", "direct", NULL };
	struct st_stream s = { 0 };
	uint64_t runs = 0, wstart;
	struct dev a, b;
	long writes;

	CHECK(open_pair(&a, &b, n, setup, setup, "7", use_mmap) == 0, "%s/%s", data_size, layout);
	wstart = window_start(&a, strtoull(data_size, NULL, 0));
	CHECK(set_state(&a, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "pre-copy");
	CHECK(save_chunks(&a, &s, use_mmap, 40, wstart, &runs) == 0, "pre-copy chunks");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(save_chunks(&a, &s, use_mmap, -1, wstart, &runs) == 0, "stop-and-copy chunks");
	CHECK(set_state(&a, VFMIG_V1_STATE_STOP) == 0, "stop");
	/* A random 1 MiB state is all PAGES: at least that much as device memory. */
	CHECK(runs >= MiB, "%s/%s: %llu bytes as device memory", data_size, layout,
	      (unsigned long long)runs);
	CHECK(knob(&a, "stat_bytes_saved") == s.bytes, "stat_bytes_saved %llu of %llu",
	      (unsigned long long)knob(&a, "stat_bytes_saved"), (unsigned long long)s.bytes);

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	writes = st_resume_split(&b, &s, use_mmap, NULL);
	CHECK(writes >= (long)s.n, "resume %s/%s mmap=%d: %ld", data_size, layout, use_mmap,
	      writes);
	CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume verified");
	CHECK(knob(&a, "checksum") == knob(&b, "checksum"),
	      "%s/%s mmap=%d rate=%s: checksums %016llx != %016llx (%u chunks)", data_size,
	      layout, use_mmap, rate, (unsigned long long)knob(&a, "checksum"),
	      (unsigned long long)knob(&b, "checksum"), s.n);
	CHECK(knob(&b, "stat_bytes_restored") == s.bytes, "stat_bytes_restored %llu of %llu",
	      (unsigned long long)knob(&b, "stat_bytes_restored"), (unsigned long long)s.bytes);
	st_stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

static int test_matrix(void)
{
	static const char *const sizes[] = { "65536", "8388608" };
	static const char *const layouts[] = { "none", "whole", "sparse:4" };
	unsigned int n = 10, runs = 0;

	for (int z = 0; z < 2; z++)
		for (int l = 0; l < 3; l++)
			for (int m = 0; m < 2; m++) {
				int ret = migrate_direct(sizes[z], layouts[l], m,
							 (l + m) % 2 ? "4194304" : "0", n);

				if (ret != TAP_PASS)
					return ret;
				n += 2;
				runs++;
			}
	tap_diag("%u migrations through the direct window, checksums equal", runs);
	return TAP_PASS;
}

/* Save from one configuration, resume into another, QEMU's way. */
static int mixed_once(const char *src_setup[], const char *dst_setup[], unsigned int n)
{
	struct st_stream s = { 0 };
	uint64_t runs = 0;
	struct dev a, b;

	CHECK(open_pair(&a, &b, n, src_setup, dst_setup, "11", true) == 0, "open");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(save_chunks(&a, &s, true, -1, 0, &runs) == 0, "save");
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	CHECK(st_resume_split(&b, &s, true, NULL) >= (long)s.n, "resume");
	CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume verified");
	CHECK(knob(&a, "checksum") == knob(&b, "checksum"), "checksums %016llx != %016llx",
	      (unsigned long long)knob(&a, "checksum"), (unsigned long long)knob(&b, "checksum"));
	st_stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

static int test_mixed_ends(void)
{
	const char *direct_big[] = { "state_size", "1048576", "data_size", "8388608",
				     "mmap_layout", "whole", "data_window", "direct", NULL };
	const char *direct_tiny[] = { "state_size", "1048576", "mmap_layout", "none",
				      "data_size", "8192", "data_window", "direct", NULL };
	const char *direct_sparse[] = { "state_size", "1048576", "data_size", "8388608",
					 "mmap_layout", "sparse:4", "data_offset_policy", "rotate",
					 "data_window", "direct", NULL };
	const char *staged_small[] = { "state_size", "1048576", "mmap_layout", "none",
				       "data_size", "16384", NULL };
	const char *staged_whole[] = { "state_size", "1048576", "data_size", "65536",
				       "mmap_layout", "whole", NULL };
	int ret;

	ret = mixed_once(direct_big, staged_small, 20);
	if (ret == TAP_PASS)
		ret = mixed_once(staged_whole, direct_tiny, 22);
	if (ret == TAP_PASS)
		ret = mixed_once(staged_whole, direct_sparse, 24);
	if (ret == TAP_PASS)
		ret = mixed_once(direct_big, direct_tiny, 26);
	return ret;
}

/* Stage chunks of a save until one is device memory; its offset and size. */
static int next_run_chunk(struct dev *d, uint64_t wstart, uint64_t *off, uint64_t *size)
{
	uint64_t pending;
	uint8_t *buf = malloc(WIN);
	int ret = -1;

	for (int i = 0; buf && i < 64; i++) {
		if (rd64(d, HDR(pending_bytes), &pending) || !pending ||
		    rd64(d, HDR(data_offset), off) || rd64(d, HDR(data_size), size))
			break;
		if (*off >= wstart && *off + *size == d->v.mig.size) {
			ret = 0;
			break;
		}
		if (*size > WIN || pread(d->v.device, buf, *size, d->base + *off) != (ssize_t)*size)
			break;
	}
	free(buf);
	return ret;
}

/* In a child: store to @p; the signal that ended it (0: none). */
static int store_in_child(volatile uint8_t *p)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		*p = 0x5a;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* A save's chunk of device memory is read-only, and the state stays as it was. */
static int test_save_chunk_read_only(void)
{
	const char *setup[] = { "state_size", "1048576", "data_size", "8388608",
				"mmap_layout", "whole", "data_window", "direct", NULL };
	uint64_t off, size, before, v = 0;
	struct st_stream s = { 0 };
	uint64_t runs = 0;
	uint8_t *p, buf[16];
	struct dev d;

	CHECK(dev_open(&d, "vfmig-large", 30, setup) == 0, "open");
	CHECK(st_knob_write_raw(d.uuid, "seed", "5") == 0, "seed");
	CHECK(vfmig_vfio_map_migration(&d.v, true, &(struct vfmig_err){ 0 }) == 0, "map");
	before = knob(&d, "checksum");
	CHECK(set_state(&d, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	CHECK(next_run_chunk(&d, window_start(&d, 8 * MiB), &off, &size) == 0, "no run chunk");
	p = mapped(&d, off);
	CHECK(p, "chunk at 0x%llx not mapped", (unsigned long long)off);
	CHECK(pread(d.v.device, buf, sizeof(buf), d.base + off) == sizeof(buf) &&
	      !memcmp(buf, p, sizeof(buf)), "pread and the mapping differ");
	CHECK(pwrite(d.v.device, &v, sizeof(v), d.base + off) < 0 && errno == EINVAL,
	      "pwrite into a save's chunk: %s", strerror(errno));
	CHECK(store_in_child(p) == SIGBUS, "a store into a save's chunk was not refused");
	CHECK(store_in_child(p + size - 1) == SIGBUS, "a store at the chunk's end was not refused");
	CHECK(save_chunks(&d, &s, true, -1, 0, &runs) == 0, "rest of the save");
	CHECK(set_state(&d, VFMIG_V1_STATE_STOP) == 0 && knob(&d, "checksum") == before,
	      "the state changed: %016llx, was %016llx", (unsigned long long)knob(&d, "checksum"),
	      (unsigned long long)before);
	st_stream_free(&s);
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/*
 * A resume through the window: a bound chunk cannot be read; after each
 * data_size write the whole window is scribbled over through the mapping,
 * which must reach staging memory only: the state still verifies and
 * matches the source.  Then a data_size beyond the chunk: EINVAL, and the
 * session stays refused.
 */
static int test_resume_chunk_revoked(void)
{
	const char *setup[] = { "state_size", "1048576", "data_size", "8388608",
				"mmap_layout", "whole", "data_window", "direct", NULL };
	uint64_t runs = 0, wstart, off, n, v;
	unsigned int scribbles = 0, i;
	struct st_stream s = { 0 };
	struct dev a, b;
	uint8_t *w;

	CHECK(open_pair(&a, &b, 40, setup, setup, "9", true) == 0, "open");
	wstart = window_start(&b, 8 * MiB);
	w = mapped(&b, wstart);
	CHECK(w, "window not mapped");
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0 &&
	      save_chunks(&a, &s, true, -1, wstart, &runs) == 0, "save");

	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	for (i = 0; i < s.n; i++) {
		for (uint64_t done = 0; done < s.c[i].size; done += n) {
			CHECK(rd64(&b, HDR(data_offset), &off) == 0, "data_offset");
			n = b.v.mig.size - off;
			if (n > s.c[i].size - done)
				n = s.c[i].size - done;
			if (off >= wstart)
				CHECK(pread(b.v.device, &v, sizeof(v), b.base + off) < 0 &&
				      errno == EINVAL, "a resume's chunk was readable");
			CHECK(xfer(&b, off, s.c[i].data + done, n, true, true) == 0, "write");
			CHECK(wr64(&b, HDR(data_size), n) == 0, "data_size %llu",
			      (unsigned long long)n);
			if (off >= wstart) {
				memset(w, 0xa5, WIN);
				scribbles++;
			}
		}
	}
	CHECK(scribbles > 0, "no chunk went through the window");
	CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "resume verified");
	CHECK(knob(&a, "checksum") == knob(&b, "checksum"),
	      "scribbles reached the state: %016llx != %016llx",
	      (unsigned long long)knob(&a, "checksum"), (unsigned long long)knob(&b, "checksum"));

	/* data_size past the bound chunk: refused, and nothing runs. */
	CHECK(set_state(&b, VFMIG_V1_STATE_RESUMING) == 0, "resuming again");
	CHECK(feed_until_bound(&b, &s, wstart, &i, &off) == 0, "no chunk bound");
	CHECK(wr64(&b, HDR(data_size), b.v.mig.size - off + 1) == -EINVAL,
	      "data_size past the chunk accepted");
	CHECK(rd64(&b, HDR(data_offset), &off) == -EINVAL, "a refused session goes on");
	CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == -EINVAL, "an unverified state ran");
	CHECK(dev_reset(&b) == 0 && state_of(&b) == VFMIG_V1_STATE_RUNNING, "reset");
	st_stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

/*
 * A device offering both protocols: v1 chunks of a direct window and reads
 * of the v2 saving file take turns on one save, so a 4 MiB record built by
 * reference for the window is continued (and copied into the save's own
 * buffer) by the file.  The stream is cut between two readers and means
 * nothing; what counts is that the device stays sound: every call answers,
 * the save ends, a reset gives RUNNING with the state untouched (and, on the
 * debug kernel, KASAN has nothing to say).
 */
static int test_v1_v2_interleaved(void)
{
	const char *setup[] = { "protocol", "both", "state_size", "8388608",
				"data_size", "8388608", "mmap_layout", "whole",
				"data_window", "direct", NULL };
	uint64_t pending, off, size, before, steps = 0;
	uint8_t *buf = malloc(WIN);
	bool v1_done = false, v2_done = false;
	struct dev d;
	int dfd = -1;

	CHECK(buf, "memory");
	CHECK(dev_open(&d, "vfmig-large", 50, setup) == 0, "open");
	CHECK(st_knob_write_raw(d.uuid, "seed", "13") == 0, "seed");
	CHECK(vfmig_vfio_map_migration(&d.v, true, &(struct vfmig_err){ 0 }) == 0, "map");
	before = knob(&d, "checksum");
	CHECK(v2_set(d.v.device, VFIO_DEVICE_STATE_STOP, NULL) == 0 &&
	      v2_set(d.v.device, VFIO_DEVICE_STATE_STOP_COPY, &dfd) == 0 && dfd >= 0,
	      "v2 STOP_COPY");
	CHECK(state_of(&d) == VFMIG_V1_STATE_SAVING, "v1 sees stop-and-copy: %#x", state_of(&d));
	while ((!v1_done || !v2_done) && steps < 4096) {
		steps++;
		if (!v1_done && (v2_done || steps % 2)) {
			CHECK(rd64(&d, HDR(pending_bytes), &pending) == 0, "pending_bytes");
			if (!pending) {
				v1_done = true;
				continue;
			}
			CHECK(rd64(&d, HDR(data_offset), &off) == 0 &&
			      rd64(&d, HDR(data_size), &size) == 0 && size <= WIN &&
			      xfer(&d, off, buf, size, true, false) == 0, "v1 chunk %llu",
			      (unsigned long long)steps);
		} else if (!v2_done) {
			ssize_t n = read(dfd, buf, 1 + (steps * 7919) % WIN);

			CHECK(n >= 0, "v2 read: %s", strerror(errno));
			v2_done = !n;
		}
	}
	CHECK(v1_done && v2_done, "the save did not end in %llu steps", (unsigned long long)steps);
	close(dfd);
	CHECK(dev_reset(&d) == 0 && state_of(&d) == VFMIG_V1_STATE_RUNNING, "reset");
	CHECK(knob(&d, "checksum") == before, "the state changed");
	free(buf);
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/*
 * On a `both` device, bytes written to the v2 resuming file while a v1
 * data_offset has bound a chunk end that binding: the v1 data_size that
 * follows is refused (the parser has moved on), and nothing written
 * through the window afterwards can reach a page already hashed.
 */
static int test_v2_write_ends_v1_binding(void)
{
	const char *setup[] = { "protocol", "both", "state_size", "1048576",
				"data_size", "8388608", "mmap_layout", "whole",
				"data_window", "direct", NULL };
	struct st_stream s = { 0 };
	uint64_t runs = 0, wstart, off;
	struct dev a, b;
	unsigned int i;
	int dfd = -1;
	uint8_t *w;

	CHECK(open_pair(&a, &b, 60, setup, setup, "17", true) == 0, "open");
	wstart = window_start(&b, 8 * MiB);
	CHECK(set_state(&a, VFMIG_V1_STATE_SAVING) == 0 &&
	      save_chunks(&a, &s, true, -1, wstart, &runs) == 0 && runs, "save");
	CHECK(v2_set(b.v.device, VFIO_DEVICE_STATE_STOP, NULL) == 0 &&
	      v2_set(b.v.device, VFIO_DEVICE_STATE_RESUMING, &dfd) == 0 && dfd >= 0,
	      "v2 RESUMING");
	CHECK(state_of(&b) == VFMIG_V1_STATE_RESUMING, "v1 sees resuming");
	CHECK(feed_until_bound(&b, &s, wstart, &i, &off) == 0, "no chunk bound");
	/*
	 * The client starts the chunk through the mapping (its pages now mapped
	 * writable), then the whole rest of the stream goes through the file.
	 */
	w = mapped(&b, off);
	CHECK(w, "bound chunk not mapped");
	memcpy(w, s.c[i].data, 4096);
	for (; i < s.n; i++)
		CHECK(write(dfd, s.c[i].data, s.c[i].size) == (ssize_t)s.c[i].size,
		      "v2 write of chunk %u: %s", i, strerror(errno));
	/* The file ended the binding: these stores reach staging memory only. */
	memset(mapped(&b, wstart), 0xa5, WIN);
	CHECK(wr64(&b, HDR(data_size), 4096) == -EINVAL,
	      "v1 data_size after the file moved the parser was accepted");
	CHECK(set_state(&b, VFMIG_V1_STATE_STOP) == 0, "the verified state stops");
	CHECK(knob(&a, "checksum") == knob(&b, "checksum"),
	      "stores after the file's bytes reached the state: %016llx != %016llx",
	      (unsigned long long)knob(&a, "checksum"), (unsigned long long)knob(&b, "checksum"));
	close(dfd);
	CHECK(dev_reset(&b) == 0 && state_of(&b) == VFMIG_V1_STATE_RUNNING, "reset");
	st_stream_free(&s);
	dev_close(&a);
	dev_close(&b);
	st_remove_all();
	return TAP_PASS;
}

static const struct tap_test tests[] = {
	TAP_TEST(test_load),
	TAP_TEST(test_knob_and_region),
	TAP_TEST_TIMEOUT(test_matrix, 300),
	TAP_TEST(test_mixed_ends),
	TAP_TEST(test_save_chunk_read_only),
	TAP_TEST(test_resume_chunk_revoked),
	TAP_TEST(test_v1_v2_interleaved),
	TAP_TEST(test_v2_write_ends_v1_binding),
	{ "test_unload", st_test_unload, 0 },
};

int main(void)
{
	return tap_run("window", tests, TAP_COUNT(tests));
}
