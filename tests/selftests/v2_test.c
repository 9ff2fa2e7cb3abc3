// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "v2": the device's VFIO migration protocol v2, driven by hand as
 * include/uapi/linux/vfio.h describes it: the protocol knob and what each
 * value offers, every arc the core's FSM can request, save and resume
 * through the data files with equal checksums, v1 to v2 and v2 to v1 at
 * device level, PRE_COPY with PRECOPY_INFO and dirty generation (6.2+
 * kernels only), refused streams, faults, -ENOMSG and the data files'
 * lifetimes.
 */
#define _GNU_SOURCE	/* splice, F_SETPIPE_SZ */
#include <fcntl.h>
#include <linux/vfio.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "util.h"

#define ST_ERROR	VFIO_DEVICE_STATE_ERROR
#define ST_STOP		VFIO_DEVICE_STATE_STOP
#define ST_RUNNING	VFIO_DEVICE_STATE_RUNNING
#define ST_STOP_COPY	VFIO_DEVICE_STATE_STOP_COPY
#define ST_RESUMING	VFIO_DEVICE_STATE_RESUMING
#define ST_RUNNING_P2P	VFIO_DEVICE_STATE_RUNNING_P2P
#define ST_PRE_COPY	VFIO_DEVICE_STATE_PRE_COPY
#define ST_PRE_COPY_P2P	VFIO_DEVICE_STATE_PRE_COPY_P2P

/* The END record: header plus generation, seed, scratch, digest. */
#define END_REC_LEN	(VFMIG_REC_HDR_LEN + 32)

static bool have_pre_copy;	/* kernel 6.2 or later; set before the tests fork */

struct v2dev {
	char uuid[VFMIG_UUID_LEN + 1];
	struct vfmig_vfio_dev v;
};

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static int v2_open(struct v2dev *d, const char *type, unsigned int n, const char *proto,
		   const char *setup[])
{
	struct vfmig_err err = { 0 };

	if (st_create(type, n, d->uuid))
		return -1;
	if (vfmig_knob_write(d->uuid, "protocol", proto, &err)) {
		tap_diag("%s", err.msg);
		return -1;
	}
	for (int i = 0; setup && setup[i]; i += 2) {
		if (vfmig_knob_write(d->uuid, setup[i], setup[i + 1], &err)) {
			tap_diag("%s", err.msg);
			return -1;
		}
	}
	if (vfmig_vfio_open(&d->v, d->uuid, &err)) {
		tap_diag("open %s: %s", d->uuid, err.msg);
		return -1;
	}
	return 0;
}

static void v2_close(struct v2dev *d)
{
	vfmig_vfio_close(&d->v);
}

static int reset(struct v2dev *d)
{
	return ioctl(d->v.device, VFIO_DEVICE_RESET) ? -errno : 0;
}

static int mig_set(struct v2dev *d, uint32_t state, int *data_fd)
{
	return v2_set(d->v.device, state, data_fd);
}

static uint32_t mig_get(struct v2dev *d)
{
	return v2_get(d->v.device);
}

static int buf_grow(struct buf *b, size_t need)
{
	if (b->len + need <= b->cap)
		return 0;
	b->cap = (b->len + need) * 2;
	b->p = realloc(b->p, b->cap);
	return b->p ? 0 : -ENOMEM;
}

/*
 * Read the saving file in @piece-byte reads until end of stream (0) or,
 * in pre-copy, the temporary end (-ENOMSG, returned).  0 at the real end.
 */
static int read_stream(int fd, struct buf *b, size_t piece)
{
	for (;;) {
		ssize_t n;

		if (buf_grow(b, piece))
			return -ENOMEM;
		n = read(fd, b->p + b->len, piece);
		if (n < 0)
			return -errno;
		if (!n)
			return 0;
		b->len += n;
	}
}

/* Write @len bytes in @piece-byte writes; 0 or the first -errno. */
static int write_stream(int fd, const uint8_t *p, size_t len, size_t piece)
{
	while (len) {
		ssize_t n = write(fd, p, len < piece ? len : piece);

		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

static int checksum(struct v2dev *d, uint64_t *sum)
{
	return st_knob_u64(d->uuid, "checksum", sum);
}

/* Save a stopped device through v2 into @b: RUNNING -> STOP_COPY -> read -> STOP. */
static int v2_save(struct v2dev *d, struct buf *b, size_t piece)
{
	int fd, ret;

	ret = mig_set(d, ST_STOP_COPY, &fd);
	if (ret)
		return ret;
	if (fd < 0)
		return -EBADF;
	ret = read_stream(fd, b, piece);
	close(fd);
	return ret ? ret : mig_set(d, ST_STOP, NULL);
}

/* Resume @b through v2 and run the device. */
static int v2_resume(struct v2dev *d, const struct buf *b, size_t piece)
{
	int fd, ret;

	ret = mig_set(d, ST_RESUMING, &fd);
	if (ret)
		return ret;
	if (fd < 0)
		return -EBADF;
	ret = write_stream(fd, b->p, b->len, piece);
	close(fd);
	return ret ? ret : mig_set(d, ST_RUNNING, NULL);
}

/* The v1 region's save loop, into one flat stream. */
static int v1_save(struct dev *d, struct buf *b)
{
	uint64_t pending, off, size;

	if (set_state(d, VFMIG_V1_STATE_SAVING))
		return -1;
	for (;;) {
		if (rd64(d, HDR(pending_bytes), &pending))
			return -1;
		if (!pending)
			break;
		if (rd64(d, HDR(data_offset), &off) || rd64(d, HDR(data_size), &size) ||
		    buf_grow(b, size) || xfer(d, off, b->p + b->len, size, false, false))
			return -1;
		b->len += size;
	}
	return set_state(d, VFMIG_V1_STATE_STOP);
}

/* The v1 region's resume loop, in 4 KiB chunks whatever the source's were. */
static int v1_resume(struct dev *d, const struct buf *b)
{
	uint64_t off;

	if (set_state(d, VFMIG_V1_STATE_RESUMING))
		return -1;
	for (size_t pos = 0; pos < b->len; pos += 4096) {
		uint64_t n = b->len - pos < 4096 ? b->len - pos : 4096;

		if (rd64(d, HDR(data_offset), &off) ||
		    xfer(d, off, b->p + pos, n, false, true) || wr64(d, HDR(data_size), n))
			return -1;
	}
	return set_state(d, VFMIG_V1_STATE_RUNNING);
}

static int test_load(void)
{
	tap_diag("PRE_COPY %s", have_pre_copy ? "expected" : "absent (kernel before 6.2)");
	st_remove_all();
	CHECK(st_load_module("max_devices=8") == 0, "load");
	return TAP_PASS;
}

/* protocol: values, refusals, and what each value offers. */
static int test_protocol_knob(void)
{
	static const char *const protos[] = { "v1", "v2", "both" };
	uint64_t want = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P |
			(have_pre_copy ? VFIO_MIGRATION_PRE_COPY : 0);
	struct vfmig_err err = { 0 };
	char path[256], val[16];
	struct v2dev d;

	CHECK(st_create("vfmig-small", 1, d.uuid) == 0, "create");
	CHECK(vfmig_knob_read(d.uuid, "protocol", val, sizeof(val), &err) == 0 &&
	      !strcmp(val, "v1"), "default '%s'", val);
	snprintf(path, sizeof(path), "/sys/bus/mdev/devices/%s/vfmig/protocol", d.uuid);
	CHECK(st_write(path, "v3") == -EINVAL, "v3 accepted");
	CHECK(st_write(path, "v") == -EINVAL, "'v' accepted");
	CHECK(st_write(path, "v2x") == -EINVAL, "v2x accepted");
	for (unsigned int i = 0; i < 3; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = 9 };
		bool v1 = i != 1, v2 = i != 0;
		uint64_t flags = 0;
		uint32_t st;
		int ret;

		CHECK(st_write(path, protos[i]) == 0, "set %s", protos[i]);
		CHECK(vfmig_knob_read(d.uuid, "protocol", val, sizeof(val), &err) == 0 &&
		      !strcmp(val, protos[i]), "read back '%s'", val);
		CHECK(vfmig_vfio_open(&d.v, d.uuid, &err) == 0, "open: %s", err.msg);
		CHECK(st_write(path, "v1") == -EBUSY, "%s: knob writable while open", protos[i]);
		CHECK(d.v.num_regions == (v1 ? 10u : 9u), "%s: %u regions", protos[i],
		      d.v.num_regions);
		CHECK((d.v.mig_index == 9) == v1, "%s: migration region %d", protos[i],
		      d.v.mig_index);
		ret = ioctl(d.v.device, VFIO_DEVICE_GET_REGION_INFO, &ri) ? -errno : 0;
		CHECK(ret == (v1 ? 0 : -EINVAL), "%s: region 9 info %d", protos[i], ret);
		ret = pread(d.v.device, &st, 4, VFMIG_REGION_OFFSET(9)) == 4 ? 0 : -errno;
		CHECK(ret == (v1 ? 0 : -EINVAL), "%s: region 9 read %d", protos[i], ret);
		ret = v2_flags(d.v.device, &flags);
		CHECK(ret == (v2 ? 0 : -ENOTTY), "%s: MIGRATION feature %d", protos[i], ret);
		CHECK(!v2 || flags == want, "%s: flags 0x%llx, want 0x%llx", protos[i],
		      (unsigned long long)flags, (unsigned long long)want);
		if (v2)
			CHECK(mig_get(&d) == ST_RUNNING, "%s: initial state", protos[i]);
		else
			CHECK(mig_set(&d, ST_STOP, NULL) == -ENOTTY, "v1: SET reached v2");
		vfmig_vfio_close(&d.v);
	}
	CHECK(st_write(path, "v1") == 0, "writable again once closed");
	st_remove_all();
	return TAP_PASS;
}

/* Drive a reset device from RUNNING to @s (any state the FSM reaches). */
static int reach(struct v2dev *d, uint32_t s)
{
	if (reset(d))
		return -1;
	return mig_set(d, s, NULL);
}

static bool saving_group(uint32_t s)
{
	return s == ST_STOP_COPY || s == ST_PRE_COPY || s == ST_PRE_COPY_P2P;
}

/* Every (from, to) pair of supported states: verdict, data fd, end state. */
static int test_every_arc(void)
{
	uint32_t states[] = { ST_STOP, ST_RUNNING, ST_STOP_COPY, ST_RESUMING, ST_RUNNING_P2P,
			      ST_PRE_COPY, ST_PRE_COPY_P2P };
	unsigned int nstates = have_pre_copy ? 7 : 5, pairs = 0;
	struct v2dev d;

	CHECK(v2_open(&d, "vfmig-small", 2, "v2", NULL) == 0, "open");
	for (unsigned int i = 0; i < nstates; i++) {
		for (unsigned int j = 0; j < nstates; j++) {
			uint32_t from = states[i], to = states[j];
			bool refused = (from == ST_STOP_COPY && (to == ST_PRE_COPY ||
								 to == ST_PRE_COPY_P2P)) ||
				       (from == ST_RESUMING && to != ST_RESUMING);
			bool new_fd = from != to && !refused &&
				      ((saving_group(to) && !saving_group(from)) ||
				       to == ST_RESUMING);
			int fd, ret;

			CHECK(reach(&d, from) == 0 && mig_get(&d) == from, "reach %u", from);
			ret = mig_set(&d, to, &fd);
			/* RESUMING with no verified state may not be left. */
			CHECK(ret == (refused ? -EINVAL : 0), "%u -> %u: %d", from, to, ret);
			CHECK((fd >= 0) == new_fd, "%u -> %u: data fd %d", from, to, fd);
			CHECK(mig_get(&d) == (refused ? from : to), "%u -> %u: now %u", from, to,
			      mig_get(&d));
			if (fd >= 0)
				close(fd);
			pairs++;
		}
	}
	tap_diag("%u arcs checked", pairs);
	/* ERROR and out-of-range targets, and ERROR as a source. */
	CHECK(reset(&d) == 0, "reset");
	CHECK(mig_set(&d, ST_ERROR, NULL) == -EINVAL, "ERROR as a target");
	CHECK(mig_set(&d, 8, NULL) == -EINVAL && mig_set(&d, 0xffffffff, NULL) == -EINVAL,
	      "state 8 / ~0 accepted");
	if (!have_pre_copy)
		CHECK(mig_set(&d, ST_PRE_COPY, NULL) == -EINVAL, "PRE_COPY accepted on 6.1");
	CHECK(mig_get(&d) == ST_RUNNING, "still running");
	{
		struct vfmig_err err = { 0 };

		CHECK(vfmig_knob_write(d.uuid, "fault", "error", &err) == 0, "%s", err.msg);
	}
	CHECK(mig_get(&d) == ST_ERROR, "error state: %u", mig_get(&d));
	CHECK(mig_set(&d, ST_RUNNING, NULL) == -EINVAL && mig_set(&d, ST_STOP, NULL) == -EINVAL,
	      "left ERROR without reset");
	CHECK(reset(&d) == 0 && mig_get(&d) == ST_RUNNING, "reset leaves ERROR");
	v2_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/* Save and resume through v2 for both types and several read/write sizes. */
static int test_save_resume(void)
{
	static const struct { const char *type; size_t rd, wr; } cases[] = {
		{ "vfmig-small", 4096, 4096 }, { "vfmig-small", 7, 1000 },
		{ "vfmig-large", 1 << 20, 1 << 20 }, { "vfmig-large", 65536, 333333 },
	};

	for (unsigned int i = 0; i < TAP_COUNT(cases); i++) {
		const char *setup[] = { "seed", "77", NULL };
		uint64_t s1, s2, saved, restored, est = 0;
		struct buf b = { 0 };
		struct v2dev a, z;
		double t0, t1, t2;
		char one;
		int fd;

		CHECK(v2_open(&a, cases[i].type, 10 + 2 * i, "v2", setup) == 0, "open src");
		CHECK(v2_open(&z, cases[i].type, 11 + 2 * i, "v2", NULL) == 0, "open dst");
		if (have_pre_copy) {
			CHECK(v2_data_size(a.v.device, &est) == 0, "MIG_DATA_SIZE");
		}
		t0 = now_s();
		CHECK(mig_set(&a, ST_STOP_COPY, &fd) == 0 && fd >= 0, "STOP_COPY");
		CHECK(read_stream(fd, &b, cases[i].rd) == 0, "read to end");
		t1 = now_s();
		CHECK(read(fd, &one, 1) == 0, "end of stream is permanent");
		{
			struct pollfd p = { .fd = fd, .events = POLLIN };

			CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "EOF not readable");
		}
		if (have_pre_copy)
			CHECK(est == b.len, "%s: MIG_DATA_SIZE %llu, stream %zu", cases[i].type,
			      (unsigned long long)est, b.len);
		CHECK(write(fd, "x", 1) < 0 && errno == EBADF, "saving file writable");
		CHECK(mig_set(&a, ST_STOP, NULL) == 0, "STOP");
		CHECK(read(fd, &one, 1) < 0 && errno == ENODEV, "read after STOP: %s",
		      strerror(errno));
		close(fd);
		CHECK(b.len > 0 && rec_magic_ok(b.p), "stream starts with a record");
		t2 = now_s();
		CHECK(v2_resume(&z, &b, cases[i].wr) == 0, "resume");
		tap_diag("%s, reads of %zu, writes of %zu: %zu bytes saved in %.3f s, resumed in %.3f s",
			 cases[i].type, cases[i].rd, cases[i].wr, b.len, t1 - t0, now_s() - t2);
		CHECK(checksum(&a, &s1) == 0 && checksum(&z, &s2) == 0 && s1 == s2,
		      "%s rd %zu wr %zu: checksums %016llx != %016llx", cases[i].type,
		      cases[i].rd, cases[i].wr, (unsigned long long)s1, (unsigned long long)s2);
		CHECK(st_knob_u64(a.uuid, "stat_bytes_saved", &saved) == 0 && saved == b.len,
		      "bytes_saved %llu, stream %zu", (unsigned long long)saved, b.len);
		CHECK(st_knob_u64(z.uuid, "stat_bytes_restored", &restored) == 0 &&
		      restored == b.len, "bytes_restored %llu", (unsigned long long)restored);
		CHECK(mig_get(&z) == ST_RUNNING, "dst running");
		free(b.p);
		v2_close(&a);
		v2_close(&z);
		st_remove_all();
	}
	return TAP_PASS;
}

/* Exactly @len bytes from @fd (a pipe) into @p. */
static int read_full(int fd, uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = read(fd, p, len);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/*
 * splice(2) on the data files: saving file -> pipe gives the bytes read(2)
 * gives (reads of 64 KiB go through the staging record, of 1 MiB straight
 * from device memory: the same bytes too), pipe -> resuming file resumes,
 * in pieces that split records; a cut-off file answers ENODEV.  Device
 * memory is lent, not copied (stat_bytes_lent), also with a fault armed
 * that lives elsewhere (slow_worker); a read-path fault (save_chunk) makes
 * that splice copy, and so fire.
 */
static int test_splice(void)
{
	const char *setup[] = { "seed", "99", NULL };
	struct buf small = { 0 }, big = { 0 }, sp = { 0 };
	uint64_t s1, s2, restored, lent0, lent1;
	struct vfmig_err err = { 0 };
	struct v2dev a, z;
	int fd, p[2];
	ssize_t n;

	CHECK(pipe(p) == 0, "pipe");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= 0, "F_SETPIPE_SZ: %s", strerror(errno));
	CHECK(v2_open(&a, "vfmig-large", 40, "v2", setup) == 0, "open src");
	CHECK(v2_open(&z, "vfmig-large", 41, "v2", NULL) == 0, "open dst");
	CHECK(v2_save(&a, &small, 1 << 16) == 0, "save, reads of 64 KiB");
	CHECK(v2_save(&a, &big, 1 << 20) == 0, "save, reads of 1 MiB");
	CHECK(big.len == small.len && !memcmp(big.p, small.p, big.len),
	      "reads of 1 MiB give other bytes (%zu, %zu)", big.len, small.len);
	CHECK(vfmig_knob_write(a.uuid, "fault", "slow_worker", &err) == 0, "arm: %s", err.msg);
	CHECK(st_knob_u64(a.uuid, "stat_bytes_lent", &lent0) == 0 && lent0 == 0,
	      "bytes lent by read(): %llu", (unsigned long long)lent0);
	CHECK(mig_set(&a, ST_STOP_COPY, &fd) == 0 && fd >= 0, "STOP_COPY");
	while ((n = splice(fd, NULL, p[1], NULL, 1 << 20, 0)) > 0) {
		CHECK(buf_grow(&sp, n) == 0, "out of memory");
		CHECK(read_full(p[0], sp.p + sp.len, n) == 0, "pipe read");
		sp.len += n;
	}
	CHECK(n == 0, "splice from the saving file: %s", strerror(errno));
	CHECK(sp.len == small.len && !memcmp(sp.p, small.p, sp.len),
	      "splice gives other bytes (%zu, %zu)", sp.len, small.len);
	CHECK(st_knob_u64(a.uuid, "stat_bytes_lent", &lent1) == 0 && lent1 > sp.len / 2,
	      "splice lent %llu of %zu bytes", (unsigned long long)lent1, sp.len);
	CHECK(mig_set(&a, ST_STOP, NULL) == 0, "STOP");
	CHECK(splice(fd, NULL, p[1], NULL, 4096, 0) < 0 && errno == ENODEV,
	      "splice from a cut-off saving file: %s", strerror(errno));
	close(fd);

	CHECK(mig_set(&z, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING");
	for (size_t off = 0, k; off < sp.len; off += k) {
		k = sp.len - off < 333333 ? sp.len - off : 333333;
		CHECK(write_stream(p[1], sp.p + off, k, k) == 0, "pipe write");
		for (size_t left = k; left; left -= n) {
			n = splice(p[0], NULL, fd, NULL, left, 0);
			CHECK(n > 0, "splice into the resuming file at %zu: %s", off + k - left,
			      n < 0 ? strerror(errno) : "no progress");
		}
	}
	close(fd);
	CHECK(mig_set(&z, ST_RUNNING, NULL) == 0, "RUNNING after a spliced resume");
	CHECK(checksum(&a, &s1) == 0 && checksum(&z, &s2) == 0 && s1 == s2,
	      "checksums %016llx != %016llx", (unsigned long long)s1, (unsigned long long)s2);
	CHECK(st_knob_u64(z.uuid, "stat_bytes_restored", &restored) == 0 && restored == sp.len,
	      "bytes_restored %llu, stream %zu", (unsigned long long)restored, sp.len);

	CHECK(vfmig_knob_write(a.uuid, "fault", "save_chunk", &err) == 0, "arm: %s", err.msg);
	CHECK(mig_set(&a, ST_STOP_COPY, &fd) == 0 && fd >= 0, "STOP_COPY again");
	CHECK(splice(fd, NULL, p[1], NULL, 1 << 20, 0) < 0 && errno == EIO,
	      "splice with save_chunk armed: %s", strerror(errno));
	CHECK(st_knob_u64(a.uuid, "stat_bytes_lent", &lent0) == 0 && lent0 == lent1,
	      "a failed splice lent %llu bytes", (unsigned long long)(lent0 - lent1));
	n = splice(fd, NULL, p[1], NULL, 1 << 20, 0);
	CHECK(n > 0 && st_knob_u64(a.uuid, "stat_bytes_lent", &lent1) == 0 && lent1 > lent0,
	      "splice after the fault: %zd, lent %llu", n, (unsigned long long)(lent1 - lent0));
	close(fd);
	free(small.p);
	free(big.p);
	free(sp.p);
	close(p[0]);
	close(p[1]);
	v2_close(&a);
	v2_close(&z);
	st_remove_all();
	return TAP_PASS;
}

/* Resume @b into the closed @z and stop it there: a held state again. */
static int hold_again(struct v2dev *z, const struct buf *b)
{
	int fd, ret;

	if (vfmig_vfio_open(&z->v, z->uuid, NULL))
		return -1;
	ret = mig_set(z, ST_RESUMING, &fd);
	if (!ret && fd >= 0) {
		ret = write_stream(fd, b->p, b->len, 4096);
		close(fd);
	}
	if (!ret)
		ret = mig_set(z, ST_STOP, NULL);
	v2_close(z);
	return ret ? -1 : 0;
}

/*
 * resume_held: a verified v2 resume stopped instead of run (RESUMING ->
 * STOP) holds its source's state.  The knob says so across close, and
 * vfmig_recover() refuses to start it unless VFMIG_OPT_RECOVER_HELD; once
 * it runs the mark is gone.  A reset clears a held state instead of running
 * it; a seed write replaces it.
 */
static int test_resume_held(void)
{
	const char *setup[] = { "seed", "77", NULL };
	struct buf b = { 0 };
	uint64_t held, st, s1, s2;
	struct v2dev a, z;
	char summary[256];
	int fd;

	CHECK(v2_open(&a, "vfmig-small", 60, "v2", setup) == 0, "open src");
	CHECK(v2_open(&z, "vfmig-small", 61, "v2", NULL) == 0, "open dst");
	CHECK(v2_save(&a, &b, 4096) == 0, "save");
	CHECK(st_knob_u64(z.uuid, "resume_held", &held) == 0 && held == 0, "held before: %llu",
	      (unsigned long long)held);
	CHECK(mig_set(&z, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING");
	CHECK(write_stream(fd, b.p, b.len, 4096) == 0, "write the stream");
	close(fd);
	CHECK(mig_set(&z, ST_STOP, NULL) == 0, "STOP after the resume");
	CHECK(st_knob_u64(z.uuid, "resume_held", &held) == 0 && held == 1, "held after STOP");
	v2_close(&z);
	CHECK(st_knob_u64(z.uuid, "resume_held", &held) == 0 && held == 1, "held after close");
	CHECK(vfmig_recover(st_ctx(), z.uuid, summary, sizeof(summary)) == -EPERM,
	      "recover of a held destination: %s", st_err());
	CHECK(strstr(st_err(), "never ran"), "refusal: %s", st_err());
	CHECK(st_knob_u64(z.uuid, "device_state", &st) == 0 && st == 0, "refused but state %llu",
	      (unsigned long long)st);
	CHECK(vfmig_set_option(st_ctx(), VFMIG_OPT_RECOVER_HELD, 1) == 0, "option");
	CHECK(vfmig_recover(st_ctx(), z.uuid, summary, sizeof(summary)) == 0, "recover, held allowed: %s",
	      st_err());
	vfmig_set_option(st_ctx(), VFMIG_OPT_RECOVER_HELD, 0);
	CHECK(st_knob_u64(z.uuid, "device_state", &st) == 0 && st == 1, "state %llu after recover",
	      (unsigned long long)st);
	CHECK(st_knob_u64(z.uuid, "resume_held", &held) == 0 && held == 0, "held after running");
	CHECK(st_knob_u64(a.uuid, "checksum", &s1) == 0 && st_knob_u64(z.uuid, "checksum", &s2) == 0 &&
	      s1 == s2, "checksums %016llx != %016llx", (unsigned long long)s1,
	      (unsigned long long)s2);
	/* Held again, then a reset: running, but not the source's state. */
	CHECK(hold_again(&z, &b) == 0, "held again");
	CHECK(vfmig_vfio_open(&z.v, z.uuid, NULL) == 0, "reopen dst for the reset");
	CHECK(vfmig_vfio_reset(&z.v, NULL) == 0, "reset");
	v2_close(&z);
	CHECK(st_knob_u64(z.uuid, "device_state", &st) == 0 && st == 1, "state %llu after reset",
	      (unsigned long long)st);
	CHECK(st_knob_u64(z.uuid, "resume_held", &held) == 0 && held == 0, "held after a reset");
	CHECK(st_knob_u64(z.uuid, "checksum", &s2) == 0 && s2 != s1,
	      "a reset ran the held state (checksum %016llx)", (unsigned long long)s2);
	/* Held again, then a seed: memory replaced, nothing held. */
	CHECK(hold_again(&z, &b) == 0, "held once more");
	CHECK(vfmig_knob_write(z.uuid, "seed", "5", NULL) == 0, "seed");
	CHECK(st_knob_u64(z.uuid, "resume_held", &held) == 0 && held == 0, "held after a seed");
	CHECK(vfmig_recover(st_ctx(), z.uuid, summary, sizeof(summary)) == 0, "recover: %s",
	      st_err());
	free(b.p);
	v2_close(&a);
	st_remove_all();
	return TAP_PASS;
}

/* The same payload both ways: v1 save -> v2 resume and v2 save -> v1 resume. */
static int test_cross_protocol(void)
{
	const char *setup[] = { "seed", "4242", NULL };
	struct buf b1 = { 0 }, b2 = { 0 };
	uint64_t s1, s2;
	struct v2dev a2, z2;
	struct dev a1, z1;

	CHECK(dev_open(&a1, "vfmig-large", 20, setup) == 0, "open v1 src");
	CHECK(v2_open(&z2, "vfmig-large", 21, "v2", NULL) == 0, "open v2 dst");
	CHECK(v1_save(&a1, &b1) == 0, "v1 save");
	CHECK(v2_resume(&z2, &b1, 1 << 20) == 0, "v2 resume of a v1 stream");
	CHECK(st_knob_u64(a1.uuid, "checksum", &s1) == 0 && checksum(&z2, &s2) == 0 && s1 == s2,
	      "v1 -> v2: %016llx != %016llx", (unsigned long long)s1, (unsigned long long)s2);

	CHECK(v2_open(&a2, "vfmig-large", 22, "both", setup) == 0, "open both src");
	CHECK(dev_open(&z1, "vfmig-large", 23, NULL) == 0, "open v1 dst");
	CHECK(v2_save(&a2, &b2, 1 << 16) == 0, "v2 save");
	CHECK(v1_resume(&z1, &b2) == 0, "v1 resume of a v2 stream");
	CHECK(checksum(&a2, &s1) == 0 && st_knob_u64(z1.uuid, "checksum", &s2) == 0 && s1 == s2,
	      "v2 -> v1: %016llx != %016llx", (unsigned long long)s1, (unsigned long long)s2);
	/* Same state, same stream: the two protocols emit identical bytes. */
	CHECK(b1.len == b2.len && !memcmp(b1.p, b2.p, b1.len), "streams differ (%zu, %zu)",
	      b1.len, b2.len);
	free(b1.p);
	free(b2.p);
	dev_close(&a1);
	dev_close(&z1);
	v2_close(&a2);
	v2_close(&z2);
	st_remove_all();
	return TAP_PASS;
}

/*
 * A zero:90 state through v2 data files: the stream is under a fifth of the
 * 16 MiB state (zero pages are named, not sent), MIG_DATA_SIZE is an upper
 * bound for it (6.2+), and the state arrives with equal checksums in a v2
 * and in a v1 destination whose own memory was random.
 */
static int test_zero_fill(void)
{
	const char *setup[] = { "fill", "zero:90", "seed", "31", NULL };
	const char *dst_setup[] = { "seed", "32", NULL };
	uint64_t s1, s2, s3, est = 0;
	struct buf b = { 0 };
	struct v2dev a, z;
	struct dev z1;
	double t0;

	CHECK(v2_open(&a, "vfmig-large", 30, "v2", setup) == 0, "open src");
	CHECK(v2_open(&z, "vfmig-large", 31, "v2", dst_setup) == 0, "open dst");
	CHECK(dev_open(&z1, "vfmig-large", 32, dst_setup) == 0, "open v1 dst");
	if (have_pre_copy)
		CHECK(v2_data_size(a.v.device, &est) == 0, "MIG_DATA_SIZE");
	t0 = now_s();
	CHECK(v2_save(&a, &b, 1 << 20) == 0, "save");
	tap_diag("zero:90, 16 MiB: %zu bytes saved in %.3f s (MIG_DATA_SIZE said %llu)", b.len,
		 now_s() - t0, (unsigned long long)est);
	CHECK(b.len * 5 < 16 << 20, "%zu bytes for a 16 MiB zero:90 state", b.len);
	if (have_pre_copy)
		CHECK(est >= b.len, "MIG_DATA_SIZE %llu below the stream's %zu",
		      (unsigned long long)est, b.len);
	CHECK(v2_resume(&z, &b, 65536) == 0, "v2 resume");
	CHECK(v1_resume(&z1, &b) == 0, "v1 resume");
	CHECK(checksum(&a, &s1) == 0 && checksum(&z, &s2) == 0 &&
	      st_knob_u64(z1.uuid, "checksum", &s3) == 0 && s1 == s2 && s1 == s3,
	      "checksums %016llx, %016llx (v2), %016llx (v1)", (unsigned long long)s1,
	      (unsigned long long)s2, (unsigned long long)s3);
	free(b.p);
	v2_close(&a);
	v2_close(&z);
	dev_close(&z1);
	st_remove_all();
	return TAP_PASS;
}

/* PRE_COPY: PRECOPY_INFO, -ENOMSG, poll and dirty generation (6.2+ only). */
static int test_precopy(void)
{
	const char *setup[] = { "seed", "5", NULL };
	uint64_t initial = 0, dirty = 0, initial0 = 0, est = 0, s1, s2, iters;
	struct buf b = { 0 };
	struct pollfd p;
	struct v2dev a, z;
	char one;
	int fd, rfd;

	if (!have_pre_copy)
		SKIP("this kernel's VFIO has no PRE_COPY (added in 6.2)");
	CHECK(v2_open(&a, "vfmig-large", 30, "v2", setup) == 0, "open src");
	CHECK(v2_open(&z, "vfmig-large", 31, "v2", NULL) == 0, "open dst");
	CHECK(v2_data_size(a.v.device, &est) == 0, "MIG_DATA_SIZE");
	CHECK(mig_set(&a, ST_PRE_COPY, &fd) == 0 && fd >= 0, "PRE_COPY");
	CHECK(v2_precopy_info(fd, &initial0, &dirty) == 0, "PRECOPY_INFO");
	CHECK(initial0 == est - END_REC_LEN && dirty == 0, "initial %llu (stop-copy %llu) dirty %llu",
	      (unsigned long long)initial0, (unsigned long long)est, (unsigned long long)dirty);
	/* Half of it: initial goes down by what was read (reads may be short). */
	CHECK(buf_grow(&b, initial0 / 2) == 0, "alloc");
	while (b.len < initial0 / 2) {
		ssize_t n = read(fd, b.p + b.len, initial0 / 2 - b.len);

		CHECK(n > 0, "half read: %zd", n);
		b.len += n;
	}
	CHECK(v2_precopy_info(fd, &initial, &dirty) == 0 && initial == initial0 - b.len && dirty == 0,
	      "after half: initial %llu dirty %llu", (unsigned long long)initial,
	      (unsigned long long)dirty);
	CHECK(read_stream(fd, &b, 65536) == -ENOMSG, "temporary end is ENOMSG");
	CHECK(b.len == initial0, "pre-copy gave %zu, initial was %llu", b.len,
	      (unsigned long long)initial0);
	CHECK(v2_precopy_info(fd, &initial, &dirty) == 0 && initial == 0 && dirty == 0,
	      "drained: initial %llu dirty %llu", (unsigned long long)initial,
	      (unsigned long long)dirty);
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 0, "drained stream polls readable");
	/* Dirty generation: dirty_bytes grows, poll wakes, data flows again. */
	CHECK(vfmig_knob_write(a.uuid, "dirty_rate", "4194304", NULL) == 0, "dirty_rate");
	CHECK(poll(&p, 1, 5000) == 1 && (p.revents & POLLIN), "no wakeup on dirtying");
	sleep_ms(100);
	CHECK(v2_precopy_info(fd, &initial, &dirty) == 0 && initial == 0 && dirty > 0,
	      "dirtying: initial %llu dirty %llu", (unsigned long long)initial,
	      (unsigned long long)dirty);
	for (int i = 0; i < 5; i++) {
		int ret = read_stream(fd, &b, 65536);

		CHECK(ret == -ENOMSG, "iteration %d: %d", i, ret);
		sleep_ms(20);
	}
	/* Rate 0: the iterations converge to nothing pending. */
	CHECK(vfmig_knob_write(a.uuid, "dirty_rate", "0", NULL) == 0, "rate 0");
	sleep_ms(50);
	CHECK(read_stream(fd, &b, 65536) == -ENOMSG, "last pre-copy round");
	CHECK(v2_precopy_info(fd, &initial, &dirty) == 0 && initial == 0 && dirty == 0,
	      "converged: initial %llu dirty %llu", (unsigned long long)initial,
	      (unsigned long long)dirty);
	CHECK(st_knob_u64(a.uuid, "stat_iterations", &iters) == 0 && iters >= 2,
	      "iterations %llu", (unsigned long long)iters);
	/* PRE_COPY -> STOP_COPY keeps the file; then the END record and EOF. */
	CHECK(mig_set(&a, ST_STOP_COPY, &rfd) == 0 && rfd < 0, "STOP_COPY from PRE_COPY");
	CHECK(v2_precopy_info(fd, &initial, &dirty) == -EINVAL, "PRECOPY_INFO in STOP_COPY");
	CHECK(read_stream(fd, &b, 65536) == 0, "stop-copy to the end (never ENOMSG)");
	CHECK(read(fd, &one, 1) == 0, "end is permanent");
	close(fd);
	CHECK(mig_set(&a, ST_STOP, NULL) == 0, "STOP");
	CHECK(mig_set(&z, ST_RESUMING, &rfd) == 0 && rfd >= 0, "RESUMING");
	CHECK(v2_precopy_info(rfd, &initial, &dirty) == -EINVAL, "PRECOPY_INFO on resuming file");
	CHECK(write_stream(rfd, b.p, b.len, 1 << 20) == 0, "write");
	close(rfd);
	CHECK(mig_set(&z, ST_RUNNING, NULL) == 0, "run dst");
	CHECK(checksum(&a, &s1) == 0 && checksum(&z, &s2) == 0 && s1 == s2,
	      "checksums %016llx != %016llx", (unsigned long long)s1, (unsigned long long)s2);
	/* PRE_COPY_P2P is a pre-copy too; leaving the group ends the file. */
	CHECK(mig_set(&a, ST_RUNNING, NULL) == 0, "run src");
	CHECK(mig_set(&a, ST_PRE_COPY_P2P, &fd) == 0 && fd >= 0, "PRE_COPY_P2P");
	CHECK(v2_precopy_info(fd, &initial, &dirty) == 0 && initial > 0, "info in PRE_COPY_P2P");
	CHECK(mig_set(&a, ST_RUNNING, NULL) == 0, "back to RUNNING");
	CHECK(v2_precopy_info(fd, &initial, &dirty) == -ENODEV, "info on an ended file");
	CHECK(read(fd, &one, 1) < 0 && errno == ENODEV, "read on an ended file");
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)), "ended file polls");
	close(fd);
	free(b.p);
	v2_close(&a);
	v2_close(&z);
	st_remove_all();
	return TAP_PASS;
}

/* A damaged stream is refused: the write fails, the device is in ERROR. */
static int test_corrupt_stream(void)
{
	const char *setup[] = { "seed", "9", NULL };
	uint64_t zero_sum, sum;
	struct buf b = { 0 };
	struct v2dev a, z;
	char one = 0;
	int fd, ret;

	CHECK(v2_open(&a, "vfmig-small", 40, "v2", setup) == 0, "open src");
	CHECK(v2_open(&z, "vfmig-small", 41, "v2", NULL) == 0, "open dst");
	CHECK(checksum(&z, &zero_sum) == 0, "checksum");
	CHECK(v2_save(&a, &b, 4096) == 0, "save");

	/* A payload byte: found by the END digest, the last write fails. */
	b.p[VFMIG_REC_HDR_LEN + 40 + 100] ^= 1;
	CHECK(mig_set(&z, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING");
	CHECK(write_stream(fd, b.p, b.len - END_REC_LEN, 4096) == 0, "records before END");
	ret = write_stream(fd, b.p + b.len - END_REC_LEN, END_REC_LEN, 4096);
	CHECK(ret == -EINVAL, "damaged payload: END write %d", ret);
	CHECK(mig_get(&z) == ST_ERROR, "state %u after a refused write", mig_get(&z));
	CHECK(write(fd, &one, 1) < 0 && errno == ENODEV, "file still writable: %s",
	      strerror(errno));
	CHECK(mig_set(&z, ST_RUNNING, NULL) == -EINVAL, "ERROR left without reset");
	CHECK(checksum(&z, &sum) == 0 && sum == zero_sum, "memory not cleared");
	close(fd);
	CHECK(reset(&z) == 0 && mig_get(&z) == ST_RUNNING, "reset");
	b.p[VFMIG_REC_HDR_LEN + 40 + 100] ^= 1;

	/* A record header byte: refused at once by the header crc. */
	b.p[4] ^= 0x40;
	CHECK(mig_set(&z, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING");
	CHECK(write_stream(fd, b.p, b.len, 4096) == -EINVAL, "damaged header accepted");
	CHECK(mig_get(&z) == ST_ERROR, "state %u", mig_get(&z));
	close(fd);
	CHECK(reset(&z) == 0, "reset");
	b.p[4] ^= 0x40;

	/* Truncated (no END): writes succeed, leaving RESUMING does not. */
	CHECK(mig_set(&z, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING");
	CHECK(write_stream(fd, b.p, b.len - END_REC_LEN, 4096) == 0, "write");
	CHECK(mig_set(&z, ST_RUNNING, NULL) == -EINVAL, "incomplete state ran");
	CHECK(mig_get(&z) == ST_RESUMING, "state %u", mig_get(&z));
	/* The rest arrives: now it may run. */
	CHECK(write_stream(fd, b.p + b.len - END_REC_LEN, END_REC_LEN, 4096) == 0, "END");
	CHECK(mig_set(&z, ST_RUNNING, NULL) == 0, "complete state refused");
	close(fd);
	CHECK(checksum(&a, &zero_sum) == 0 && checksum(&z, &sum) == 0 && sum == zero_sum,
	      "checksums differ");
	free(b.p);
	v2_close(&a);
	v2_close(&z);
	st_remove_all();
	return TAP_PASS;
}

/* The fault knob under v2. */
static int test_faults(void)
{
	const char *setup[] = { "seed", "3", NULL };
	struct buf b = { 0 }, c = { 0 };
	uint64_t s1, s2;
	struct v2dev a, z;
	char one;
	int fd;

	CHECK(v2_open(&a, "vfmig-small", 50, "v2", setup) == 0, "open src");
	CHECK(v2_open(&z, "vfmig-small", 51, "v2", NULL) == 0, "open dst");
	/* transition: the next arc fails with EIO into ERROR. */
	CHECK(vfmig_knob_write(a.uuid, "fault", "transition", NULL) == 0, "arm");
	CHECK(mig_set(&a, ST_STOP, NULL) == -EIO, "transition fault");
	CHECK(mig_get(&a) == ST_ERROR, "state %u", mig_get(&a));
	CHECK(reset(&a) == 0, "reset");
	/* save_chunk: one read fails, nothing is lost. */
	CHECK(vfmig_knob_write(a.uuid, "fault", "save_chunk", NULL) == 0, "arm");
	CHECK(mig_set(&a, ST_STOP_COPY, &fd) == 0 && fd >= 0, "STOP_COPY");
	CHECK(read(fd, &one, 1) < 0 && errno == EIO, "save_chunk fault");
	CHECK(read_stream(fd, &b, 4096) == 0, "read on");
	close(fd);
	CHECK(mig_set(&a, ST_STOP, NULL) == 0, "STOP");
	CHECK(v2_resume(&z, &b, 4096) == 0, "stream after save_chunk resumes");
	CHECK(checksum(&a, &s1) == 0 && checksum(&z, &s2) == 0 && s1 == s2, "checksums");
	/* short_chunk: 16 bytes lost, the destination refuses the stream. */
	CHECK(reset(&a) == 0 && reset(&z) == 0, "reset");
	CHECK(vfmig_knob_write(a.uuid, "fault", "short_chunk", NULL) == 0, "arm");
	CHECK(v2_save(&a, &c, 4096) == 0, "save");
	CHECK(c.len == b.len - 16, "short chunk: %zu vs %zu", c.len, b.len);
	CHECK(v2_resume(&z, &c, 4096) == -EINVAL, "stream missing bytes resumed");
	CHECK(mig_get(&z) == ST_ERROR, "state %u", mig_get(&z));
	/* resume_chunk: the next write fails with EIO into ERROR. */
	CHECK(reset(&z) == 0, "reset");
	CHECK(vfmig_knob_write(z.uuid, "fault", "resume_chunk", NULL) == 0, "arm");
	CHECK(v2_resume(&z, &b, 4096) == -EIO, "resume_chunk fault");
	CHECK(mig_get(&z) == ST_ERROR, "state %u", mig_get(&z));
	CHECK(reset(&z) == 0 && v2_resume(&z, &b, 4096) == 0, "resume after reset");
	CHECK(checksum(&z, &s2) == 0 && s1 == s2, "checksums after reset");
	free(b.p);
	free(c.p);
	v2_close(&a);
	v2_close(&z);
	st_remove_all();
	return TAP_PASS;
}

/* A "both" device: one state machine, whichever protocol moves it. */
static int test_both_interplay(void)
{
	struct vfio_precopy_info info = { .argsz = 8 };
	struct pollfd p;
	struct v2dev d;
	struct dev v1;
	uint64_t i, dd;
	char one, junk[64];
	int fd, ret;

	CHECK(v2_open(&d, "vfmig-small", 70, "both", NULL) == 0, "open");
	v1.v = d.v;
	memcpy(v1.uuid, d.uuid, sizeof(v1.uuid));
	v1.base = d.v.mig.offset;
	/* v1 pre-copy seen from v2: PRE_COPY on 6.2+, no v2 name (EBUSY) on 6.1. */
	CHECK(set_state(&v1, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0, "v1 pre-copy");
	ret = mig_set(&d, ST_RUNNING, NULL);
	if (have_pre_copy) {
		CHECK(ret == 0 && state_of(&v1) == VFMIG_V1_STATE_RUNNING, "v2 RUNNING: %d, v1 %u",
		      ret, state_of(&v1));
	} else {
		CHECK(ret == -EBUSY && mig_get(&d) == 0xdead, "6.1: v2 in v1 pre-copy: %d", ret);
		CHECK(set_state(&v1, VFMIG_V1_STATE_RUNNING) == 0, "v1 back to running");
	}
	/* RUNNING_P2P shows as v1 running; a v1 write drops the P2P flag. */
	CHECK(mig_set(&d, ST_RUNNING_P2P, NULL) == 0 && state_of(&v1) == VFMIG_V1_STATE_RUNNING,
	      "P2P is v1 running");
	CHECK(set_state(&v1, VFMIG_V1_STATE_RUNNING) == 0 && mig_get(&d) == ST_RUNNING,
	      "v1 write kept P2P: %u", mig_get(&d));
	/* A v1 transition that ends the session cuts the v2 file off. */
	CHECK(mig_set(&d, ST_STOP_COPY, &fd) == 0 && fd >= 0, "STOP_COPY");
	CHECK(state_of(&v1) == VFMIG_V1_STATE_SAVING, "v1 sees %u", state_of(&v1));
	CHECK(read(fd, &one, 1) == 1, "read");
	CHECK(read(fd, &one, 1) == 1 && v2_precopy_info(fd, &i, &dd) ==
	      (have_pre_copy ? -EINVAL : -ENOTTY), "PRECOPY_INFO in STOP_COPY");
	CHECK(write(fd, &one, 1) < 0 && errno == EBADF, "saving file is read-only");
	CHECK(set_state(&v1, VFMIG_V1_STATE_STOP) == 0, "v1 stop");
	CHECK(read(fd, &one, 1) < 0 && errno == ENODEV, "file alive after v1 ended the save");
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP) && (p.revents & POLLERR), "poll %#x",
	      p.revents);
	close(fd);
	/* The resuming file: writable, polls POLLOUT, short PRECOPY_INFO argsz refused. */
	CHECK(mig_set(&d, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING");
	p = (struct pollfd){ .fd = fd, .events = POLLIN | POLLOUT };
	CHECK(poll(&p, 1, 0) == 1 && p.revents == POLLOUT, "resuming poll %#x", p.revents);
	CHECK(read(fd, &one, 1) < 0 && errno == EBADF, "resuming file is write-only");
	ret = ioctl(fd, VFIO_MIG_GET_PRECOPY_INFO, &info) ? -errno : 0;
	CHECK(ret == (have_pre_copy ? -EINVAL : -ENOTTY), "short argsz: %d", ret);
	CHECK(state_of(&v1) == VFMIG_V1_STATE_RESUMING, "v1 sees %u", state_of(&v1));
	CHECK(reset(&d) == 0 && mig_get(&d) == ST_RUNNING, "reset");
	CHECK(write(fd, &one, 1) < 0 && errno == ENODEV, "resuming file alive after reset");
	close(fd);
	/*
	 * Garbage through the v1 region poisons the session (v1 stays in
	 * RESUMING); a write to the v2 file then is refused as v2 refuses
	 * any: EINVAL, the error state, the file cut off.
	 */
	CHECK(mig_set(&d, ST_RESUMING, &fd) == 0 && fd >= 0, "RESUMING again");
	memset(junk, 0xa5, sizeof(junk));
	CHECK(rd64(&v1, HDR(data_offset), &i) == 0 &&
	      pwrite(v1.v.device, junk, sizeof(junk), v1.base + i) == (ssize_t)sizeof(junk),
	      "v1 data write");
	CHECK(wr64(&v1, HDR(data_size), sizeof(junk)) == -EINVAL &&
	      state_of(&v1) == VFMIG_V1_STATE_RESUMING, "v1 garbage: state %u", state_of(&v1));
	CHECK(write(fd, junk, sizeof(junk)) < 0 && errno == EINVAL &&
	      mig_get(&d) == ST_ERROR, "v2 write into the poisoned session: state %u",
	      mig_get(&d));
	CHECK(write(fd, junk, sizeof(junk)) < 0 && errno == ENODEV, "file alive in ERROR");
	CHECK(reset(&d) == 0 && mig_get(&d) == ST_RUNNING, "reset from ERROR");
	close(fd);
	v2_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/* Data files outlive the device fd and the mdev; they pin the module. */
static int test_file_lifetimes(void)
{
	struct v2dev a;
	char one;
	int sfd, ret;

	/* Device fd closed under an open saving file. */
	CHECK(v2_open(&a, "vfmig-small", 60, "v2", NULL) == 0, "open");
	CHECK(mig_set(&a, ST_STOP_COPY, &sfd) == 0 && sfd >= 0, "STOP_COPY");
	v2_close(&a);
	CHECK(read(sfd, &one, 1) < 0 && errno == ENODEV, "read after device close: %s",
	      strerror(errno));
	/* The mdev removed under it. */
	CHECK(vfmig_mdev_remove(st_ctx(), a.uuid) == 0, "remove");
	CHECK(read(sfd, &one, 1) < 0 && errno == ENODEV, "read after remove");
	/* The module cannot go while the file is open. */
	ret = vfmig_module_unload(st_ctx());
	CHECK(ret == -EBUSY, "module unload under an open data file: %d", ret);
	close(sfd);
	/* Resuming file closed after the device fd. */
	CHECK(v2_open(&a, "vfmig-small", 61, "both", NULL) == 0, "open");
	CHECK(mig_set(&a, ST_RESUMING, &sfd) == 0 && sfd >= 0, "RESUMING");
	v2_close(&a);
	CHECK(write(sfd, "x", 1) < 0 && errno == ENODEV, "write after device close");
	close(sfd);
	st_remove_all();
	return TAP_PASS;
}

/*
 * splice lends device memory to the pipe (kernel/save_splice.c): those
 * pages outlive the saving file, the device fd and the mdev itself, and
 * the pipe still gives the bytes the stream had (the debug kernel's KASAN
 * would report a page freed under it).
 */
static int test_lent_pages_outlive(void)
{
	const char *setup[] = { "seed", "63", NULL };
	struct buf ref = { 0 };
	struct v2dev a;
	uint8_t *got = NULL;
	int sfd, p[2];
	ssize_t n;

	CHECK(pipe(p) == 0, "pipe");
	CHECK(fcntl(p[1], F_SETPIPE_SZ, 1 << 20) >= 0, "F_SETPIPE_SZ: %s", strerror(errno));
	CHECK(v2_open(&a, "vfmig-small", 62, "v2", setup) == 0, "open");
	CHECK(v2_save(&a, &ref, 1 << 16) == 0, "save by read(2)");
	CHECK(mig_set(&a, ST_STOP_COPY, &sfd) == 0 && sfd >= 0, "STOP_COPY");
	n = splice(sfd, NULL, p[1], NULL, ref.len, 0);
	CHECK(n > 4096 && (size_t)n <= ref.len, "splice from the saving file: %zd: %s", n,
	      strerror(errno));
	close(sfd);
	v2_close(&a);
	CHECK(vfmig_mdev_remove(st_ctx(), a.uuid) == 0, "remove");
	got = malloc(n);
	CHECK(got && read_full(p[0], got, n) == 0, "pipe read after the mdev went");
	CHECK(!memcmp(got, ref.p, n), "the pipe's %zd bytes differ from the stream's", n);
	free(got);
	free(ref.p);
	close(p[0]);
	close(p[1]);
	st_remove_all();
	return TAP_PASS;
}

static const struct tap_test tests[] = {
	TAP_TEST(test_load),
	TAP_TEST(test_protocol_knob),
	TAP_TEST(test_every_arc),
	TAP_TEST_TIMEOUT(test_save_resume, 300),
	TAP_TEST_TIMEOUT(test_cross_protocol, 300),
	TAP_TEST_TIMEOUT(test_splice, 300),
	TAP_TEST_TIMEOUT(test_precopy, 300),
	TAP_TEST_TIMEOUT(test_zero_fill, 300),
	TAP_TEST(test_corrupt_stream),
	TAP_TEST(test_faults),
	TAP_TEST(test_resume_held),
	TAP_TEST(test_both_interplay),
	TAP_TEST(test_file_lifetimes),
	TAP_TEST(test_lent_pages_outlive),
	{ "test_unload", st_test_unload, 0 },
};

int main(void)
{
	have_pre_copy = v2_kernel_has_pre_copy();
	return tap_run("v2", tests, TAP_COUNT(tests));
}
