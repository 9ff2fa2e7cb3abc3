// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "lifetime": the knob x situation table of Documentation/device.md
 * ("Knobs against situations"), walked cell by cell, and the regression
 * tests for the lifetime bugs of issue 10.
 *
 * The walk drives one vfmig-small device (64 KiB) into each situation from
 * scratch (open, reset, seed, then states and partial save/resume streams),
 * writes one knob with a valid and with an invalid value, and checks the
 * answer (0 or the exact errno), the device_state and the checksum the table
 * gives afterwards.  A mismatch is reported per cell and the walk goes on, so
 * one run lists every cell where the kernel and the table disagree.
 *
 * The v2 situations drive a "both" device through VFIO_DEVICE_FEATURE with a
 * data file open (PRE_COPY only where the kernel has it); after each cell a
 * data file whose session is over (device closed, error) must answer ENODEV.
 *
 * Rules the table follows (see device.md): no migration session outlives the
 * last close of the device fd; a refused or abandoned resume that had applied
 * anything leaves the device cleared (all-zero memory and registers, the
 * checksum of a fresh device), one that had applied nothing leaves the
 * previous state; a device never runs with a mix.
 */
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

#define KiB		1024ULL
#define MiB		(1024 * KiB)
#define ST_ERROR	VFMIG_V1_STATE_ERROR
#define ST_PRECOPY	(VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING)

/* ---- helpers ---------------------------------------------------------- */

static uint64_t sum_of(const char *uuid)
{
	return st_knob_value(uuid, "checksum");
}

static uint32_t sysfs_state(const char *uuid)
{
	return (uint32_t)st_knob_value(uuid, "device_state");
}

/* live_objects and live_bytes, waiting briefly for a last reference to drop. */
static int live_zero(long *objects, long *bytes)
{
	for (int i = 0; i < 30; i++) {
		if (st_read_param("live_objects", objects) || st_read_param("live_bytes", bytes))
			return 0;
		if (!*objects && !*bytes)
			return 1;
		sleep_ms(100);
	}
	return 0;
}

static int remove_dev(const char *uuid)
{
	return vfmig_mdev_remove(st_ctx(), uuid);
}

/* A saved stream, flat, with its record boundaries. */
struct stream {
	uint8_t *buf;
	uint64_t len, cap;
	unsigned int nrec;
	uint64_t rec[64];	/* start of each record */
	uint16_t kind[64];
};

static int stream_put(struct stream *s, const uint8_t *p, uint64_t n)
{
	if (s->len + n > s->cap) {
		uint64_t cap = (s->len + n) * 2;
		uint8_t *b = realloc(s->buf, cap);

		if (!b)
			return -1;
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static int stream_index(struct stream *s)
{
	uint64_t pos = 0;

	s->nrec = 0;
	while (pos + VFMIG_REC_HDR_LEN <= s->len && s->nrec < 64) {
		uint32_t len;

		if (!rec_magic_ok(s->buf + pos))
			return -1;
		memcpy(&s->kind[s->nrec], s->buf + pos + offsetof(struct vfmig_rec_hdr, kind), 2);
		memcpy(&len, s->buf + pos + offsetof(struct vfmig_rec_hdr, len), 4);
		s->rec[s->nrec++] = pos;
		pos += VFMIG_REC_HDR_LEN + len;
	}
	return pos == s->len ? 0 : -1;
}

static void stream_free(struct stream *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

/* Read one chunk of a running save into @s (if non-NULL); *pending as read. */
static int save_chunk(struct dev *d, struct stream *s, uint64_t *pending)
{
	uint64_t off, size;
	uint8_t *tmp;
	int ret = 0;

	if (rd64(d, HDR(pending_bytes), pending))
		return -1;
	if (!*pending)
		return 0;
	if (rd64(d, HDR(data_offset), &off) || rd64(d, HDR(data_size), &size))
		return -1;
	if (!size)
		return 0;
	tmp = malloc(size);
	if (!tmp)
		return -1;
	if (xfer(d, off, tmp, size, false, false) || (s && stream_put(s, tmp, size)))
		ret = -1;
	free(tmp);
	return ret;
}

/* Stop-and-copy a whole stream out of @d (left in STOP). */
static int save_all(struct dev *d, struct stream *s)
{
	uint64_t pending;

	if (set_state(d, VFMIG_V1_STATE_SAVING))
		return -1;
	do {
		if (save_chunk(d, s, &pending))
			return -1;
	} while (pending);
	if (set_state(d, VFMIG_V1_STATE_STOP))
		return -1;
	return stream_index(s);
}

/*
 * Feed @len bytes at @p to a resuming device, in pieces that fit the window
 * data_offset names (as QEMU splits chunks).  0 or -errno of the first
 * refused data_size write.
 */
static int feed(struct dev *d, const uint8_t *p, uint64_t len)
{
	while (len) {
		uint64_t off, n;

		if (rd64(d, HDR(data_offset), &off))
			return -errno;
		n = d->v.mig.size - off;
		if (n > 16 * KiB)
			n = 16 * KiB;
		if (n > len)
			n = len;
		if (xfer(d, off, (uint8_t *)p, n, false, true))
			return -EFAULT;
		if (wr64(d, HDR(data_size), n))
			return -errno;
		p += n;
		len -= n;
	}
	return 0;
}

/* Offset of the END record of @s; the stream up to it is HEADER + PAGES. */
static uint64_t end_rec(const struct stream *s)
{
	return s->rec[s->nrec - 1];
}

/* Create a device of @type (state_size @size if non-zero), closed. */
static int make_dev(struct dev *d, const char *type, unsigned int n, const char *size)
{
	memset(d, 0, sizeof(*d));
	d->v.device = -1;
	if (st_create(type, n, d->uuid))
		return -1;
	if (size && st_knob_write_raw(d->uuid, "state_size", size)) {
		tap_diag("state_size %s refused on a new device", size);
		return -1;
	}
	return 0;
}

/* ---- the table -------------------------------------------------------- */

enum sit {
	S_IDLE,			/* created, closed, RUNNING */
	S_RUNNING,		/* open, RUNNING, dirty_rate 0 */
	S_DIRTY,		/* open, RUNNING, dirty generation on */
	S_STOP,			/* open, STOP, no session */
	S_PRECOPY,		/* open, pre-copy, one chunk read */
	S_STOPCOPY,		/* open, stop-and-copy, one chunk read */
	S_RESUMING,		/* open, RESUMING, HEADER + PAGES applied, no END */
	S_RESUME_FAILED,	/* open, RESUMING, END digest refused */
	S_RESUMED,		/* open, RESUMING, END verified, not started */
	S_ERROR,		/* open, error state */
	S_V2_P2P,		/* v2: open, RUNNING_P2P */
	S_V2_PRECOPY,		/* v2: PRE_COPY, saving file open, one read (6.2+) */
	S_V2_STOPCOPY,		/* v2: STOP_COPY, saving file open, one read */
	S_V2_RESUMING,		/* v2: RESUMING, HEADER + PAGES written, no END */
	S_V2_RESUME_FAILED,	/* v2: END digest refused: the device is in ERROR */
	S_V2_RESUMED,		/* v2: RESUMING, END verified, not started */
	S_C_PRECOPY,		/* closed in pre-copy */
	S_C_STOPCOPY,		/* closed in stop-and-copy */
	S_C_RESUMING,		/* closed with a partial resume */
	S_C_RESUMED,		/* closed with a verified resume not started */
	S_C_ERROR,		/* closed in the error state */
	S_C_V2_STOPCOPY,	/* v2: closed in STOP_COPY, saving file still open */
	S_C_V2_RESUMING,	/* v2: closed with a partial resume, its file open */
	S_C_V2_RESUMED,		/* v2: closed with a verified resume, its file open */
	S_COUNT,
};

static const char *const sit_name[S_COUNT] = {
	"idle", "open-running", "running+dirty", "open-stop", "pre-copy", "stop-and-copy",
	"resuming", "resume-refused", "resume-complete", "error", "v2-running-p2p",
	"v2-pre-copy", "v2-stop-copy", "v2-resuming", "v2-resume-refused", "v2-resume-complete",
	"closed-after-pre-copy", "closed-after-stop-and-copy", "closed-after-partial-resume",
	"closed-after-complete-resume", "closed-in-error", "v2-closed-in-stop-copy",
	"v2-closed-after-partial-resume", "v2-closed-after-complete-resume",
};

static bool sit_open(enum sit s)
{
	return s >= S_RUNNING && s <= S_V2_RESUMED;
}

static bool sit_v2(enum sit s)
{
	return (s >= S_V2_P2P && s <= S_V2_RESUMED) || s >= S_C_V2_STOPCOPY;
}

/* device_state each situation shows (after close: the contract's rules). */
static const uint32_t sit_state[S_COUNT] = {
	[S_IDLE] = 1, [S_RUNNING] = 1, [S_DIRTY] = 1, [S_STOP] = 0, [S_PRECOPY] = 3,
	[S_STOPCOPY] = 2, [S_RESUMING] = 4, [S_RESUME_FAILED] = 4, [S_RESUMED] = 4,
	[S_ERROR] = 6, [S_V2_P2P] = 1, [S_V2_PRECOPY] = 3, [S_V2_STOPCOPY] = 2,
	[S_V2_RESUMING] = 4, [S_V2_RESUME_FAILED] = 6, [S_V2_RESUMED] = 4,
	[S_C_PRECOPY] = 1, [S_C_STOPCOPY] = 0, [S_C_RESUMING] = 0,
	[S_C_RESUMED] = 0, [S_C_ERROR] = 6, [S_C_V2_STOPCOPY] = 0, [S_C_V2_RESUMING] = 0,
	[S_C_V2_RESUMED] = 0,
};

/* Checksums: the device's own seeded state, the source's, a cleared device's. */
enum sum { SUM_ANY, SUM_OWN, SUM_SRC, SUM_ZERO, SUM_SEED7, SUM_ENTRY };

static const enum sum sit_sum[S_COUNT] = {
	[S_IDLE] = SUM_OWN, [S_RUNNING] = SUM_OWN, [S_DIRTY] = SUM_ANY, [S_STOP] = SUM_OWN,
	[S_PRECOPY] = SUM_OWN, [S_STOPCOPY] = SUM_OWN, [S_RESUMING] = SUM_ANY,
	[S_RESUME_FAILED] = SUM_ZERO, [S_RESUMED] = SUM_SRC, [S_ERROR] = SUM_OWN,
	[S_V2_P2P] = SUM_OWN, [S_V2_PRECOPY] = SUM_OWN, [S_V2_STOPCOPY] = SUM_OWN,
	[S_V2_RESUMING] = SUM_ANY, [S_V2_RESUME_FAILED] = SUM_ZERO, [S_V2_RESUMED] = SUM_SRC,
	[S_C_PRECOPY] = SUM_OWN, [S_C_STOPCOPY] = SUM_OWN, [S_C_RESUMING] = SUM_ZERO,
	[S_C_RESUMED] = SUM_SRC, [S_C_ERROR] = SUM_OWN, [S_C_V2_STOPCOPY] = SUM_OWN,
	[S_C_V2_RESUMING] = SUM_ZERO, [S_C_V2_RESUMED] = SUM_SRC,
};

struct walk {
	struct dev t;		/* the device under test, vfmig-small 64 KiB */
	bool open;
	int dfd;		/* a v2 data file, or -1 */
	struct stream s;	/* a whole stream of the source */
	uint64_t own, src, zero, seed7;
	unsigned int cells, bad;
};

static uint64_t sum_want(const struct walk *w, enum sum k, uint64_t entry)
{
	switch (k) {
	case SUM_OWN: return w->own;
	case SUM_SRC: return w->src;
	case SUM_ZERO: return w->zero;
	case SUM_SEED7: return w->seed7;
	case SUM_ENTRY: return entry;
	default: return 0;
	}
}

static void wclose(struct walk *w)
{
	if (w->open)
		dev_close(&w->t);
	w->open = false;
}

static void wclose_data(struct walk *w)
{
	if (w->dfd >= 0)
		close(w->dfd);
	w->dfd = -1;
}

/* Write @len bytes to the v2 resuming file; 0 or the first -errno. */
static int feed2(int fd, const uint8_t *p, uint64_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return n ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Drive the open "both" device into v2 situation @s, its data file in w->dfd. */
static int enter_v2(struct walk *w, enum sit s)
{
	int fd = w->t.v.device, ret;
	uint64_t endr = end_rec(&w->s);
	uint8_t one, *bad;

	switch (s) {
	case S_V2_P2P:
		return v2_set(fd, VFIO_DEVICE_STATE_RUNNING_P2P, NULL);
	case S_V2_PRECOPY:
		ret = v2_set(fd, VFIO_DEVICE_STATE_PRE_COPY, &w->dfd);
		return ret || read(w->dfd, &one, 1) != 1;
	case S_V2_STOPCOPY:
	case S_C_V2_STOPCOPY:
		ret = v2_set(fd, VFIO_DEVICE_STATE_STOP_COPY, &w->dfd);
		return ret || read(w->dfd, &one, 1) != 1;
	case S_V2_RESUMING:
	case S_C_V2_RESUMING:
		ret = v2_set(fd, VFIO_DEVICE_STATE_RESUMING, &w->dfd);
		return ret || feed2(w->dfd, w->s.buf, endr);
	case S_V2_RESUME_FAILED:
		bad = malloc(w->s.len - endr);
		if (!bad)
			return -1;
		memcpy(bad, w->s.buf + endr, w->s.len - endr);
		bad[w->s.len - endr - 1] ^= 0x01;	/* the END digest */
		ret = v2_set(fd, VFIO_DEVICE_STATE_RESUMING, &w->dfd) ||
		      feed2(w->dfd, w->s.buf, endr) || feed2(w->dfd, bad, w->s.len - endr) != -EINVAL;
		free(bad);
		return ret;
	case S_V2_RESUMED:
	case S_C_V2_RESUMED:
		ret = v2_set(fd, VFIO_DEVICE_STATE_RESUMING, &w->dfd);
		return ret || feed2(w->dfd, w->s.buf, w->s.len);
	default:
		return -1;
	}
}

/* Drive the device under test into @s from whatever it was left in. */
static int enter(struct walk *w, enum sit s)
{
	struct dev *d = &w->t;
	uint64_t pending, endr = end_rec(&w->s);
	uint8_t *bad;
	int ret;

	wclose_data(w);
	wclose(w);
	if (st_knob_write_raw(d->uuid, "data_size", "16384") ||
	    st_knob_write_raw(d->uuid, "mmap_layout", "none") ||
	    st_knob_write_raw(d->uuid, "data_offset_policy", "fixed") ||
	    st_knob_write_raw(d->uuid, "protocol", sit_v2(s) ? "both" : "v1") ||
	    st_knob_write_raw(d->uuid, "fill", "random")) {
		tap_diag("%s: restoring the layout knobs failed", sit_name[s]);
		return -1;
	}
	if (dev_attach(d))
		return -1;
	w->open = true;
	/*
	 * Every other situation runs its session with page hashes on the
	 * worker, and every other pair of them with chunk copies there too.
	 */
	if (dev_reset(d) || st_knob_write_raw(d->uuid, "dirty_rate", "0") || st_knob_write_raw(d->uuid, "dirty_working_set", "0") ||
	    st_knob_write_raw(d->uuid, "hash_offload", s % 2 ? "1" : "0") ||
	    st_knob_write_raw(d->uuid, "chunk_offload", s / 2 % 2 ? "1" : "0") ||
	    st_knob_write_raw(d->uuid, "seed", "5")) {
		tap_diag("%s: reset + seed failed", sit_name[s]);
		return -1;
	}
	if (sit_v2(s)) {
		ret = enter_v2(w, s);
		if (!ret && !sit_open(s))
			wclose(w);	/* the data file stays open */
		return ret;
	}
	switch (s) {
	case S_IDLE:
		wclose(w);
		return 0;
	case S_RUNNING:
		return 0;
	case S_DIRTY:
		ret = st_knob_write_raw(d->uuid, "dirty_rate", "1048576");
		sleep_ms(30);
		return ret;
	case S_STOP:
		return set_state(d, VFMIG_V1_STATE_STOP);
	case S_PRECOPY:
	case S_C_PRECOPY:
		ret = set_state(d, ST_PRECOPY) || save_chunk(d, NULL, &pending);
		break;
	case S_STOPCOPY:
	case S_C_STOPCOPY:
		ret = set_state(d, VFMIG_V1_STATE_SAVING) || save_chunk(d, NULL, &pending);
		break;
	case S_RESUMING:
	case S_C_RESUMING:
		ret = set_state(d, VFMIG_V1_STATE_RESUMING) || feed(d, w->s.buf, endr);
		break;
	case S_RESUME_FAILED:
		bad = malloc(w->s.len - endr);
		if (!bad)
			return -1;
		memcpy(bad, w->s.buf + endr, w->s.len - endr);
		bad[w->s.len - endr - 1] ^= 0x01;	/* the END digest */
		ret = set_state(d, VFMIG_V1_STATE_RESUMING) || feed(d, w->s.buf, endr) ||
		      feed(d, bad, w->s.len - endr) != -EINVAL;
		free(bad);
		return ret;
	case S_RESUMED:
	case S_C_RESUMED:
		ret = set_state(d, VFMIG_V1_STATE_RESUMING) || feed(d, w->s.buf, w->s.len);
		break;
	case S_ERROR:
	case S_C_ERROR:
		ret = st_knob_write_raw(d->uuid, "fault", "error");
		break;
	default:
		return -1;
	}
	if (!ret && s >= S_C_PRECOPY)
		wclose(w);
	return ret;
}

/* One row of the table: a knob write and what the table says it does. */
enum row_kind {
	R_CONFIG,		/* data_size, mmap_layout, data_offset_policy, protocol, fill */
	R_STATE_SIZE,
	R_SEED,
	R_DIRTY,		/* dirty_rate, dirty_working_set */
	R_FAULT,		/* arming a one-shot fault */
	R_FAULT_ERROR,
	R_TUNING,		/* hash_offload, chunk_offload: for the sessions that start later */
	R_RO,			/* read-only attribute */
};

struct row {
	const char *knob, *value;
	bool valid;
	enum row_kind kind;
};

static const struct row rows[] = {
	{ "data_size", "32768", true, R_CONFIG },
	{ "data_size", "4097", false, R_CONFIG },
	{ "mmap_layout", "whole", true, R_CONFIG },
	{ "mmap_layout", "sparse:1", false, R_CONFIG },
	{ "data_offset_policy", "rotate", true, R_CONFIG },
	{ "data_offset_policy", "bogus", false, R_CONFIG },
	{ "protocol", "v2", true, R_CONFIG },
	{ "protocol", "both", true, R_CONFIG },
	{ "protocol", "v3", false, R_CONFIG },
	{ "fill", "zero:90", true, R_CONFIG },
	{ "fill", "pattern:0x", false, R_CONFIG },
	{ "state_size", "65536", true, R_STATE_SIZE },
	{ "state_size", "4095", false, R_STATE_SIZE },
	{ "state_size", "x", false, R_STATE_SIZE },
	{ "seed", "7", true, R_SEED },
	{ "seed", "x7", false, R_SEED },
	{ "dirty_rate", "1048576", true, R_DIRTY },
	{ "dirty_rate", "68719476737", false, R_DIRTY },
	{ "dirty_working_set", "8192", true, R_DIRTY },
	{ "dirty_working_set", "x", false, R_DIRTY },
	{ "fault", "none", true, R_FAULT },
	{ "fault", "transition", true, R_FAULT },
	{ "fault", "save_chunk", true, R_FAULT },
	{ "fault", "short_chunk", true, R_FAULT },
	{ "fault", "resume_chunk", true, R_FAULT },
	{ "fault", "slow_worker", true, R_FAULT },
	{ "fault", "bogus", false, R_FAULT },
	{ "fault", "error", true, R_FAULT_ERROR },
	{ "hash_offload", "1", true, R_TUNING },
	{ "hash_offload", "2", false, R_TUNING },
	{ "chunk_offload", "1", true, R_TUNING },
	{ "chunk_offload", "x", false, R_TUNING },
	{ "checksum", "0", false, R_RO },
	{ "generation", "0", false, R_RO },
	{ "device_state", "1", false, R_RO },
	{ "pending_bytes", "0", false, R_RO },
	{ "stat_bytes_dirtied", "0", false, R_RO },
	{ "stat_bytes_saved", "0", false, R_RO },
	{ "stat_bytes_restored", "0", false, R_RO },
	{ "stat_chunks_saved", "0", false, R_RO },
	{ "stat_chunks_restored", "0", false, R_RO },
	{ "stat_iterations", "0", false, R_RO },
	{ "stat_hash_spans", "0", false, R_RO },
	{ "stat_chunk_copies", "0", false, R_RO },
	{ "stat_bytes_lent", "0", false, R_RO },
	{ "resume_held", "0", false, R_RO },
};

/* What the table says: the answer, the state and checksum afterwards. */
static void expect(enum sit s, const struct row *r, int *ret, uint32_t *state, enum sum *sum)
{
	bool open = sit_open(s);
	uint32_t st = sit_state[s];
	bool running = open && (st & VFMIG_V1_STATE_RUNNING) && s != S_DIRTY;

	*state = st;
	*sum = s == S_DIRTY ? SUM_ANY : SUM_ENTRY;
	switch (r->kind) {
	case R_CONFIG:
		*ret = open ? -EBUSY : r->valid ? 0 : -EINVAL;
		break;
	case R_STATE_SIZE:
		/* A value that is no number fails to parse before anything else. */
		if (!strcmp(r->value, "x"))
			*ret = -EINVAL;
		else
			*ret = open ? -EBUSY : r->valid ? 0 : -EINVAL;
		if (!*ret)
			*sum = SUM_ZERO;
		break;
	case R_SEED:
		if (!r->valid)
			*ret = -EINVAL;
		else if (st == VFMIG_V1_STATE_SAVING || (st & VFMIG_V1_STATE_RESUMING))
			*ret = -EBUSY;	/* stop-and-copy, RESUMING, error */
		else
			*ret = 0;
		if (!*ret && s != S_DIRTY)
			*sum = SUM_SEED7;
		break;
	case R_DIRTY:
		*ret = r->valid ? 0 : -EINVAL;
		/* Accepted everywhere; it acts only while open and RUNNING. */
		if (!*ret && running)
			*sum = SUM_ANY;
		break;
	case R_FAULT:
	case R_TUNING:
		*ret = r->valid ? 0 : -EINVAL;
		break;
	case R_FAULT_ERROR:
		*ret = 0;
		*state = ST_ERROR;
		/*
		 * An abandoned resume is cleared, a verified one that never ran
		 * too: the error state aborts the migration.
		 */
		if (s == S_RESUMING || s == S_RESUMED || s == S_V2_RESUMING || s == S_V2_RESUMED)
			*sum = SUM_ZERO;
		break;
	case R_RO:
		*ret = -EACCES;
		break;
	}
}

static void cell_bad(struct walk *w, enum sit s, const struct row *r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void cell_bad(struct walk *w, enum sit s, const struct row *r, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tap_diag("MISMATCH %s: %s=%s: %s", sit_name[s], r->knob, r->value, msg);
	w->bad++;
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "accepted";
	case -EBUSY: return "EBUSY";
	case -EINVAL: return "EINVAL";
	case -EACCES: return "EACCES";
	case -ENOENT: return "ENOENT";
	case -EIO: return "EIO";
	case -EPERM: return "EPERM";
	default: return "other";
	}
}

static int walk_cell(struct walk *w, enum sit s, const struct row *r)
{
	uint64_t entry = 0, got_sum;
	uint32_t want_state, got_state;
	enum sum want_sum;
	int want, got;

	if (s == S_V2_PRECOPY && !v2_kernel_has_pre_copy())
		return 0;	/* 6.1: no PRE_COPY */
	if (enter(w, s)) {
		cell_bad(w, s, r, "could not enter the situation");
		return -1;
	}
	w->cells++;
	got_state = sysfs_state(w->t.uuid);
	if (got_state != sit_state[s]) {
		cell_bad(w, s, r, "situation shows device_state %u, table says %u", got_state,
			 sit_state[s]);
		return 0;
	}
	if (sit_sum[s] != SUM_ANY) {
		entry = sum_of(w->t.uuid);
		if (entry != sum_want(w, sit_sum[s], 0)) {
			cell_bad(w, s, r, "situation has checksum %016llx, table says %016llx",
				 (unsigned long long)entry,
				 (unsigned long long)sum_want(w, sit_sum[s], 0));
			return 0;
		}
	} else {
		entry = sum_of(w->t.uuid);
	}
	expect(s, r, &want, &want_state, &want_sum);
	got = st_knob_write_raw(w->t.uuid, r->knob, r->value);
	if (got != want)
		cell_bad(w, s, r, "answered %s (%d), table says %s", err_name(got), got,
			 err_name(want));
	got_state = sysfs_state(w->t.uuid);
	if (got_state != want_state)
		cell_bad(w, s, r, "device_state %u afterwards, table says %u", got_state, want_state);
	if (want_sum != SUM_ANY) {
		/* A deferred knob must not act while it may not: give it a tick or two. */
		if (r->kind == R_DIRTY)
			sleep_ms(30);
		got_sum = sum_of(w->t.uuid);
		if (got_sum != sum_want(w, want_sum, entry))
			cell_bad(w, s, r, "checksum %016llx afterwards, table says %016llx",
				 (unsigned long long)got_sum,
				 (unsigned long long)sum_want(w, want_sum, entry));
	}
	/* A data file outlives its session only as a dead end. */
	if (w->dfd >= 0 && (!sit_open(s) || got_state == ST_ERROR)) {
		uint8_t one = 0;
		ssize_t n = s == S_V2_PRECOPY || s == S_V2_STOPCOPY || s == S_C_V2_STOPCOPY ?
			    read(w->dfd, &one, 1) : write(w->dfd, &one, 1);

		if (n != -1 || errno != ENODEV)
			cell_bad(w, s, r, "data file answered %zd (%s), table says ENODEV", n,
				 n < 0 ? strerror(errno) : "data");
	}
	if (r->kind == R_FAULT && !got) {
		char f[32] = "";

		if (st_knob_read_raw(w->t.uuid, "fault", f, sizeof(f)) || strcmp(f, r->value))
			cell_bad(w, s, r, "fault reads '%s' afterwards", f);
	}
	return 0;
}

static int walk_setup(struct walk *w)
{
	struct dev a;

	memset(w, 0, sizeof(*w));
	w->dfd = -1;
	st_remove_all();
	if (make_dev(&w->t, "vfmig-small", 1, NULL))
		return -1;
	w->zero = sum_of(w->t.uuid);	/* a fresh device: zero memory and registers */
	if (make_dev(&a, "vfmig-small", 2, NULL) || st_knob_write_raw(a.uuid, "seed", "7"))
		return -1;
	w->seed7 = sum_of(a.uuid);
	if (st_knob_write_raw(a.uuid, "seed", "9") || dev_attach(&a) || save_all(&a, &w->s))
		return -1;
	w->src = sum_of(a.uuid);
	dev_close(&a);
	remove_dev(a.uuid);
	if (w->s.nrec != 3 || w->s.kind[1] != VFMIG_REC_PAGES || w->s.kind[2] != VFMIG_REC_END) {
		tap_diag("unexpected stream: %u records", w->s.nrec);
		return -1;
	}
	if (st_knob_write_raw(w->t.uuid, "seed", "5"))
		return -1;
	w->own = sum_of(w->t.uuid);
	if (w->zero == w->own || w->own == w->src || w->src == w->zero || w->seed7 == w->own) {
		tap_diag("reference checksums are not distinct");
		return -1;
	}
	return 0;
}

static int walk_situations(enum sit first, enum sit last)
{
	struct walk w;
	double t0 = now_s();

	CHECK(walk_setup(&w) == 0, "setup");
	for (enum sit s = first; s <= last; s++)
		for (size_t i = 0; i < TAP_COUNT(rows); i++)
			walk_cell(&w, s, &rows[i]);
	wclose_data(&w);
	wclose(&w);
	stream_free(&w.s);
	st_remove_all();
	tap_diag("%u cells from %s to %s in %.1f s, %u mismatches", w.cells, sit_name[first],
		 sit_name[last], now_s() - t0, w.bad);
	CHECK(w.bad == 0, "%u cells disagree with the table", w.bad);
	return TAP_PASS;
}

static int test_table_open(void)
{
	return walk_situations(S_IDLE, S_STOPCOPY);
}

static int test_table_resume(void)
{
	return walk_situations(S_RESUMING, S_ERROR);
}

static int test_table_v2(void)
{
	return walk_situations(S_V2_P2P, S_V2_RESUMED);
}

static int test_table_closed(void)
{
	return walk_situations(S_C_PRECOPY, S_C_V2_RESUMED);
}

/* The device being removed: remove blocks until close; the knobs are gone. */
static void *remove_thread(void *arg)
{
	return (void *)(long)remove_dev(arg);
}

static int test_table_removing(void)
{
	char dir[256], path[256], buf[64];
	unsigned int bad = 0;
	pthread_t th;
	void *res;
	struct dev d;
	int i;

	st_remove_all();
	CHECK(make_dev(&d, "vfmig-small", 3, NULL) == 0 && dev_attach(&d) == 0, "open");
	CHECK(st_knob_write_raw(d.uuid, "seed", "5") == 0, "seed");
	snprintf(dir, sizeof(dir), VFMIG_SYSFS_MDEVS "/%s/vfmig", d.uuid);
	CHECK(pthread_create(&th, NULL, remove_thread, d.uuid) == 0, "thread");
	for (i = 0; i < 100 && access(dir, F_OK) == 0; i++)
		sleep_ms(50);
	CHECK(i < 100, "vfmig/ still there 2 s into the remove");
	for (size_t r = 0; r < TAP_COUNT(rows); r++) {
		int got = st_knob_write_raw(d.uuid, rows[r].knob, rows[r].value);

		if (got != -ENOENT) {
			tap_diag("MISMATCH being-removed: %s=%s answered %s (%d), table says ENOENT",
				 rows[r].knob, rows[r].value, err_name(got), got);
			bad++;
		}
	}
	st_knob_path(path, sizeof(path), d.uuid, "device_state");
	CHECK(vfmig_sysfs_read(path, buf, sizeof(buf)) == -ENOENT, "device_state readable");
	/* The open device still answers, in its state, until it is closed. */
	CHECK(state_of(&d) == VFMIG_V1_STATE_RUNNING, "state %#x while being removed",
	      state_of(&d));
	CHECK(set_state(&d, VFMIG_V1_STATE_STOP) == 0 && state_of(&d) == 0, "stop");
	dev_close(&d);
	pthread_join(th, &res);
	CHECK(res == NULL, "remove failed: %ld", (long)res);
	snprintf(dir, sizeof(dir), VFMIG_SYSFS_MDEVS "/%s", d.uuid);
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT, "device not removed after close");
	CHECK(bad == 0, "%u knob writes answered otherwise than ENOENT", bad);
	return TAP_PASS;
}

/* ---- regressions ------------------------------------------------------ */

static int test_load(void)
{
	long o, b;

	st_remove_all();
	if (vfmig_module_is_loaded())
		CHECK(vfmig_module_unload(st_ctx()) == 0, "unload first");
	CHECK(st_load_module("max_devices=8") == 0, "load");
	CHECK(live_zero(&o, &b), "live_objects %ld live_bytes %ld after load", o, b);
	return TAP_PASS;
}

/*
 * (a) RESUMING, close, resize, reset, remove: the accounting returns to 0
 * (it ended at -32640 and -129024 when the page-hash buffer was freed with a
 * size computed from the new memory size).
 */
static int resize_after_resuming(const char *size0, const char *size1, unsigned int n)
{
	long o = -1, b = -1;
	struct dev d;

	st_remove_all();
	CHECK(live_zero(&o, &b), "live_objects %ld live_bytes %ld before", o, b);
	CHECK(make_dev(&d, "vfmig-small", n, size0) == 0 && dev_attach(&d) == 0, "open");
	CHECK(set_state(&d, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	dev_close(&d);
	CHECK(sysfs_state(d.uuid) == VFMIG_V1_STATE_STOP, "closed RESUMING shows state %u",
	      sysfs_state(d.uuid));
	CHECK(st_knob_write_raw(d.uuid, "state_size", size1) == 0, "state_size %s after close", size1);
	CHECK(st_knob_value(d.uuid, "state_size") == strtoull(size1, NULL, 0), "state_size");
	CHECK(dev_attach(&d) == 0 && dev_reset(&d) == 0 && state_of(&d) == 1, "reopen + reset");
	dev_close(&d);
	CHECK(remove_dev(d.uuid) == 0, "remove");
	CHECK(live_zero(&o, &b), "%s -> %s: live_objects %ld live_bytes %ld after remove",
	      size0, size1, o, b);
	return TAP_PASS;
}

static int test_resize_after_resuming(void)
{
	if (resize_after_resuming("65536", "131072", 10) != TAP_PASS)
		return TAP_FAIL;
	return resize_after_resuming("1048576", "67108864", 11);
}

/*
 * (b) A whole stream loaded, the fd closed without leaving RESUMING: the
 * device holds the verified state in STOP and starts with it; a state_size
 * write then makes a fresh zero device, which is what starts, never the
 * zeroed memory passed off as the verified state.
 */
static int test_close_after_verified_resume(void)
{
	uint64_t src, zero128;
	struct stream s = { 0 };
	struct dev a, b, z;

	st_remove_all();
	CHECK(make_dev(&a, "vfmig-small", 20, NULL) == 0 && make_dev(&b, "vfmig-small", 21, NULL) == 0 &&
	      make_dev(&z, "vfmig-small", 22, "131072") == 0, "create");
	zero128 = sum_of(z.uuid);
	CHECK(st_knob_write_raw(a.uuid, "seed", "9") == 0 && st_knob_write_raw(b.uuid, "seed", "5") == 0, "seed");
	CHECK(dev_attach(&a) == 0 && save_all(&a, &s) == 0, "save");
	src = sum_of(a.uuid);
	dev_close(&a);

	/* Closed with the verified state: STOP, the source's checksum; it starts with it. */
	CHECK(dev_attach(&b) == 0 && set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 &&
	      feed(&b, s.buf, s.len) == 0, "resume");
	dev_close(&b);
	CHECK(sysfs_state(b.uuid) == VFMIG_V1_STATE_STOP, "state %u after close",
	      sysfs_state(b.uuid));
	CHECK(sum_of(b.uuid) == src, "verified state lost at close");
	CHECK(dev_attach(&b) == 0 && state_of(&b) == VFMIG_V1_STATE_STOP, "reopen: %#x",
	      state_of(&b));
	CHECK(set_state(&b, VFMIG_V1_STATE_RUNNING) == 0 && sum_of(b.uuid) == src,
	      "runs with other than the verified state");
	dev_close(&b);

	/* Again, then resized while closed: a fresh zero device, not the verified state. */
	CHECK(dev_attach(&b) == 0 && dev_reset(&b) == 0 && st_knob_write_raw(b.uuid, "seed", "5") == 0 &&
	      set_state(&b, VFMIG_V1_STATE_RESUMING) == 0 && feed(&b, s.buf, s.len) == 0,
	      "resume again");
	dev_close(&b);
	CHECK(st_knob_write_raw(b.uuid, "state_size", "131072") == 0, "state_size after close");
	CHECK(sysfs_state(b.uuid) == VFMIG_V1_STATE_STOP, "state %u", sysfs_state(b.uuid));
	CHECK(sum_of(b.uuid) == zero128, "resized device is not a fresh zero device");
	CHECK(st_knob_value(b.uuid, "seed") == 0 && st_knob_value(b.uuid, "generation") == 0, "registers not zeroed");
	CHECK(dev_attach(&b) == 0 && set_state(&b, VFMIG_V1_STATE_RUNNING) == 0, "start");
	CHECK(sum_of(b.uuid) == zero128 && sum_of(b.uuid) != src, "runs with %016llx",
	      (unsigned long long)sum_of(b.uuid));
	dev_close(&b);
	stream_free(&s);
	st_remove_all();
	return TAP_PASS;
}

/*
 * (c) A refused or abandoned resume never leaves a mix: after it (and a
 * reset) the destination holds its previous state if nothing was applied,
 * a cleared device if anything was; never the source's, never a mix.
 * 256 KiB devices: four PAGES records, so a mix is possible.
 */
enum how { H_CORRUPT_MID, H_BAD_DIGEST, H_FAULT_CHUNK, H_BAD_HEADER, H_CLOSE, H_RESET,
	   H_FAULT_ERROR, H_FAULT_TRANSITION, H_COUNT };

static const char *const how_name[H_COUNT] = {
	"corrupt record mid-stream", "wrong END digest", "fault resume_chunk",
	"damaged HEADER record", "abandoned by close", "abandoned by reset",
	"fault error while resuming", "fault transition while resuming",
};

static int refused_once(struct dev *b, const struct stream *s, enum how h, uint64_t own,
			uint64_t src, uint64_t zero)
{
	uint8_t *buf = malloc(s->len);
	uint64_t got, want = zero, cut = s->rec[3];	/* HEADER + two PAGES records */
	int ret = 0;

	CHECK(buf, "malloc");
	memcpy(buf, s->buf, s->len);
	CHECK(dev_attach(b) == 0 && dev_reset(b) == 0 && st_knob_write_raw(b->uuid, "seed", "5") == 0 &&
	      sum_of(b->uuid) == own, "%s: prepare", how_name[h]);
	CHECK(set_state(b, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	switch (h) {
	case H_CORRUPT_MID:
		buf[cut + 24] ^= 0x01;		/* the third PAGES record's header crc */
		ret = feed(b, buf, s->len);
		CHECK(ret == -EINVAL, "%s: answered %d", how_name[h], ret);
		break;
	case H_BAD_DIGEST:
		buf[s->len - 1] ^= 0x01;
		ret = feed(b, buf, s->len);
		CHECK(ret == -EINVAL, "%s: answered %d", how_name[h], ret);
		break;
	case H_FAULT_CHUNK:
		CHECK(feed(b, buf, cut) == 0, "first records");
		CHECK(st_knob_write_raw(b->uuid, "fault", "resume_chunk") == 0, "arm");
		ret = feed(b, buf + cut, s->len - cut);
		CHECK(ret == -EIO, "%s: answered %d", how_name[h], ret);
		break;
	case H_BAD_HEADER:
		buf[VFMIG_REC_HDR_LEN + 12] ^= 0x01;	/* HEADER payload: type code */
		ret = feed(b, buf, s->len);
		CHECK(ret == -EINVAL, "%s: answered %d", how_name[h], ret);
		want = own;
		break;
	case H_CLOSE:
		CHECK(feed(b, buf, cut) == 0, "first records");
		dev_close(b);
		CHECK(sysfs_state(b->uuid) == VFMIG_V1_STATE_STOP, "%s: state %u", how_name[h],
		      sysfs_state(b->uuid));
		CHECK(sum_of(b->uuid) == zero, "%s: closed with %016llx", how_name[h],
		      (unsigned long long)sum_of(b->uuid));
		CHECK(dev_attach(b) == 0 && state_of(b) == VFMIG_V1_STATE_STOP, "reopen");
		break;
	case H_RESET:
		CHECK(feed(b, buf, cut) == 0, "first records");
		break;
	case H_FAULT_ERROR:
		CHECK(feed(b, buf, cut) == 0, "first records");
		CHECK(st_knob_write_raw(b->uuid, "fault", "error") == 0 && state_of(b) == ST_ERROR, "error");
		break;
	case H_FAULT_TRANSITION:
		CHECK(feed(b, buf, cut) == 0, "first records");
		CHECK(st_knob_write_raw(b->uuid, "fault", "transition") == 0, "arm");
		CHECK(set_state(b, VFMIG_V1_STATE_RUNNING) == -EIO && state_of(b) == ST_ERROR,
		      "transition fault");
		break;
	default:
		break;
	}
	free(buf);
	if (h != H_CLOSE && h != H_RESET && h != H_FAULT_ERROR && h != H_FAULT_TRANSITION) {
		/* A failed resume stays in RESUMING and refuses to run. */
		CHECK(state_of(b) == VFMIG_V1_STATE_RESUMING, "%s: state %#x", how_name[h],
		      state_of(b));
		CHECK(set_state(b, VFMIG_V1_STATE_RUNNING) == -EINVAL, "%s: runs", how_name[h]);
		/* Cleared (or kept) at the moment of the refusal, not only at reset. */
		got = sum_of(b->uuid);
		CHECK(got == want, "%s: holds %016llx right after the refusal (own %016llx, "
		      "source %016llx, cleared %016llx)", how_name[h], (unsigned long long)got,
		      (unsigned long long)own, (unsigned long long)src,
		      (unsigned long long)zero);
	}
	if (h != H_CLOSE)
		CHECK(dev_reset(b) == 0 && state_of(b) == VFMIG_V1_STATE_RUNNING, "reset");
	else
		CHECK(set_state(b, VFMIG_V1_STATE_RUNNING) == 0, "start after close");
	got = sum_of(b->uuid);
	CHECK(got != src, "%s: the destination runs with the source's state", how_name[h]);
	CHECK(got == want, "%s: runs with %016llx, want %016llx (own %016llx, cleared %016llx)%s",
	      how_name[h], (unsigned long long)got, (unsigned long long)want,
	      (unsigned long long)own, (unsigned long long)zero,
	      got != own && got != zero ? ": a MIX" : "");
	dev_close(b);
	return TAP_PASS;
}

static int test_refused_resume_never_mixes(void)
{
	uint64_t own, src, zero;
	struct stream s = { 0 };
	struct dev a, b, z;
	unsigned int bad = 0;

	st_remove_all();
	CHECK(make_dev(&a, "vfmig-small", 30, "262144") == 0 &&
	      make_dev(&b, "vfmig-small", 31, "262144") == 0 &&
	      make_dev(&z, "vfmig-small", 32, "262144") == 0, "create");
	zero = sum_of(z.uuid);
	CHECK(st_knob_write_raw(a.uuid, "seed", "9") == 0 && st_knob_write_raw(b.uuid, "seed", "5") == 0, "seed");
	own = sum_of(b.uuid);
	CHECK(dev_attach(&a) == 0 && save_all(&a, &s) == 0, "save");
	src = sum_of(a.uuid);
	dev_close(&a);
	CHECK(s.nrec == 6 && s.kind[3] == VFMIG_REC_PAGES && s.kind[5] == VFMIG_REC_END,
	      "stream of %u records", s.nrec);
	for (enum how h = 0; h < H_COUNT; h++) {
		pid_t pid = fork();
		int status;

		/* Each case in a child, so one failure does not hide the others. */
		if (!pid)
			_exit(refused_once(&b, &s, h, own, src, zero));
		CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork");
		if (!WIFEXITED(status) || WEXITSTATUS(status) != TAP_PASS) {
			tap_diag("case '%s' failed", how_name[h]);
			bad++;
		}
	}
	stream_free(&s);
	st_remove_all();
	CHECK(bad == 0, "%u of %u cases failed", bad, H_COUNT);
	return TAP_PASS;
}

/* (d) dirty_rate is bounded: above 2^36 refused, 2^36 accepted, open or not. */
static int test_dirty_rate_bounds(void)
{
	static const char *const bad[] = { "18446744073709551615", "68719476737", "-1" };
	struct dev d;

	st_remove_all();
	CHECK(make_dev(&d, "vfmig-small", 40, NULL) == 0, "create");
	for (int open = 0; open < 2; open++) {
		for (size_t i = 0; i < TAP_COUNT(bad); i++)
			CHECK(st_knob_write_raw(d.uuid, "dirty_rate", bad[i]) == -EINVAL, "dirty_rate %s (%s)",
			      bad[i], open ? "open" : "closed");
		/* No u64 at all: the parser's answer. */
		CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "18446744073709551616") == -ERANGE, "2^64");
		CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "68719476736") == 0 &&
		      st_knob_value(d.uuid, "dirty_rate") == 68719476736ULL, "2^36 (%s)",
		      open ? "open" : "closed");
		CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "0") == 0, "0");
		if (!open)
			CHECK(dev_attach(&d) == 0, "open");
	}
	/* Running at the bound for a moment: it dirties, nothing traps. */
	CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "68719476736") == 0, "2^36");
	sleep_ms(200);
	CHECK(st_knob_value(d.uuid, "generation") > 0, "nothing dirtied at 2^36 B/s");
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

struct fill {
	const char *uuid;
	const char *seed;
	atomic_int done;
	int ret;
	double t0, t1;
};

static void *fill_thread(void *arg)
{
	struct fill *f = arg;

	f->t0 = now_s();
	f->ret = st_knob_write_raw(f->uuid, "seed", f->seed);
	f->t1 = now_s();
	atomic_store(&f->done, 1);
	return NULL;
}

/*
 * (d) A 1 GiB seed fill with the generator at 2^36 B/s on the same device:
 * device_state reads stay responsive (the fill drops the lock between 4 MiB
 * steps) and, while the fill runs, a second seed, a device_state write and
 * (closed) a state_size write are refused with EBUSY.  The runner checks the
 * kernel log for any oops.
 */
static int test_seed_fill_responsive(void)
{
	struct fill f = { 0 };
	double worst = 0, t;
	unsigned int reads = 0;
	int seed_busy = 1, state_busy = 1, size_busy = 1, bad_size_busy = 1;
	int rate_ok = 1, none_ok = 1, layout_ok = 1;
	bool probed = false;
	pthread_t th;
	struct dev d;

	st_remove_all();
	CHECK(make_dev(&d, "vfmig-large", 50, "1073741824") == 0 && dev_attach(&d) == 0,
	      "open a 1 GiB device");
	/*
	 * The generator at the bound, over 64 MiB: the fill, not the
	 * generator's own lock holds (test_generator_responsive), is measured.
	 */
	CHECK(st_knob_write_raw(d.uuid, "dirty_working_set", "67108864") == 0 &&
	      st_knob_write_raw(d.uuid, "dirty_rate", "68719476736") == 0, "dirty_rate 2^36");
	sleep_ms(100);
	/*
	 * The probes count only if the fill was still running after them; a
	 * fill that a quiet host finished first is run again (a new seed).
	 */
	for (unsigned int attempt = 0; attempt < 5 && !probed; attempt++) {
		memset(&f, 0, sizeof(f));
		f.uuid = d.uuid;
		f.seed = "77";
		CHECK(set_state(&d, VFMIG_V1_STATE_RUNNING) == 0, "running before the fill");
		CHECK(pthread_create(&th, NULL, fill_thread, &f) == 0, "thread");
		sleep_ms(50);
		while (!atomic_load(&f.done)) {
			t = now_s();
			if (sysfs_state(d.uuid) != VFMIG_V1_STATE_RUNNING)
				tap_diag("device_state read failed during the fill");
			t = now_s() - t;
			worst = t > worst ? t : worst;
			reads++;
			if (!probed) {
				seed_busy = st_knob_write_raw(d.uuid, "seed", "78");
				state_busy = set_state(&d, VFMIG_V1_STATE_STOP);
				rate_ok = st_knob_write_raw(d.uuid, "dirty_rate", "68719476736");
				none_ok = st_knob_write_raw(d.uuid, "fault", "none");
				probed = !atomic_load(&f.done);
			}
			sleep_ms(50);
		}
		pthread_join(th, NULL);
		/*
		 * On a loaded host the probe's seed write can reach the device
		 * before the fill thread's: the probe then filled, the thread got
		 * EBUSY, and nothing was measured.  Run it again.
		 */
		if (f.ret == -EBUSY && seed_busy == 0) {
			tap_diag("the probe's seed write came before the fill's; again");
			probed = false;
			continue;
		}
		CHECK(f.ret == 0, "seed fill answered %d", f.ret);
	}
	tap_diag("1 GiB seed fill at dirty_rate 2^36: %.2f s; %u device_state reads during it, "
		 "slowest %.3f s", f.t1 - f.t0, reads, worst);
	CHECK(probed, "every fill ended before the probes (last %.2f s)", f.t1 - f.t0);
	CHECK(reads > 0 && worst < 2.0, "device_state read took %.3f s during the fill", worst);
	CHECK(seed_busy == -EBUSY, "second seed during a fill answered %d", seed_busy);
	CHECK(state_busy == -EBUSY, "device_state write during a fill answered %d", state_busy);
	CHECK(rate_ok == 0 && none_ok == 0, "dirty_rate %d, fault=none %d during a fill", rate_ok,
	      none_ok);
	CHECK(state_of(&d) == VFMIG_V1_STATE_RUNNING && st_knob_value(d.uuid, "seed") == 77, "after fill");
	CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "0") == 0, "dirty_rate 0");
	/* For the record: a checksum read hashes the whole 1 GiB under the device lock. */
	t = now_s();
	sum_of(d.uuid);
	tap_diag("checksum of 1 GiB: %.2f s", now_s() - t);
	dev_close(&d);

	/*
	 * Closed: a state_size write during a fill.  An invalid size is the
	 * harmless probe that tells when the fill runs (EBUSY, not EINVAL):
	 * a fixed wait missed fills that took under 50 ms on a fast host.
	 * Again if the fill ended before the probes were done.
	 */
	probed = false;
	for (unsigned int attempt = 0; attempt < 5 && !probed; attempt++) {
		memset(&f, 0, sizeof(f));
		f.uuid = d.uuid;
		f.seed = "79";
		size_busy = 1;
		CHECK(pthread_create(&th, NULL, fill_thread, &f) == 0, "thread");
		do
			bad_size_busy = st_knob_write_raw(d.uuid, "state_size", "4095");
		while (bad_size_busy != -EBUSY && !atomic_load(&f.done));
		if (bad_size_busy == -EBUSY) {
			size_busy = st_knob_write_raw(d.uuid, "state_size", "1048576");
			layout_ok = st_knob_write_raw(d.uuid, "data_size", "32768");
			probed = !atomic_load(&f.done);
		}
		pthread_join(th, NULL);
		/* The fill ended before the resize: the size changed, put it back. */
		if (size_busy == 0) {
			CHECK(st_knob_write_raw(d.uuid, "state_size", "1073741824") == 0,
			      "state_size back to 1 GiB");
			probed = false;
		}
	}
	CHECK(f.ret == 0 && probed, "closed fill %d, probed %d", f.ret, probed);
	CHECK(size_busy == -EBUSY && bad_size_busy == -EBUSY,
	      "state_size during a fill answered %d, %d", size_busy, bad_size_busy);
	CHECK(layout_ok == 0, "data_size on a closed device during a fill answered %d", layout_ok);
	CHECK(st_knob_value(d.uuid, "state_size") == 1073741824ULL, "state_size changed under the fill");
	st_remove_all();
	return TAP_PASS;
}

/*
 * (d) The generator alone at 2^36 B/s over a whole 1 GiB working set: no
 * work item may hold the device lock for seconds, so device_state reads,
 * back to back for 3 s, each return in under 2 s (generous for TCG).
 */
static int test_generator_responsive(void)
{
	double worst = 0, t, t0;
	unsigned int reads = 0;
	uint64_t g;
	struct dev d;

	st_remove_all();
	CHECK(make_dev(&d, "vfmig-large", 51, "1073741824") == 0 && dev_attach(&d) == 0,
	      "open a 1 GiB device");
	CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "68719476736") == 0, "dirty_rate 2^36");
	t0 = now_s();
	while (now_s() - t0 < 3.0) {
		t = now_s();
		if (sysfs_state(d.uuid) != VFMIG_V1_STATE_RUNNING)
			tap_diag("device_state read failed");
		t = now_s() - t;
		worst = t > worst ? t : worst;
		reads++;
	}
	g = st_knob_value(d.uuid, "generation");
	tap_diag("generator at 2^36 B/s on 1 GiB: %u device_state reads in 3 s, slowest %.3f s; "
		 "%llu pages changed", reads, worst, (unsigned long long)g);
	CHECK(g > 0, "the generator changed nothing");
	CHECK(worst < 2.0, "a device_state read waited %.3f s behind the generator", worst);
	CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "0") == 0, "dirty_rate 0");
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/* (e) Module unload with a device open: EBUSY, and the device still works. */
static int test_unload_while_open(void)
{
	uint64_t sum;
	struct dev d;
	int ret;

	st_remove_all();
	CHECK(make_dev(&d, "vfmig-small", 60, NULL) == 0 && st_knob_write_raw(d.uuid, "seed", "3") == 0 &&
	      dev_attach(&d) == 0, "open");
	sum = sum_of(d.uuid);
	ret = vfmig_module_unload(st_ctx());
	CHECK(ret == -EBUSY, "unload with a device open answered %d: %s", ret, st_err());
	CHECK(vfmig_module_is_loaded(), "module gone");
	CHECK(state_of(&d) == VFMIG_V1_STATE_RUNNING && set_state(&d, VFMIG_V1_STATE_STOP) == 0 &&
	      state_of(&d) == VFMIG_V1_STATE_STOP && sum_of(d.uuid) == sum, "device after refusal");
	CHECK(st_knob_write_raw(d.uuid, "dirty_rate", "0") == 0, "knobs after refusal");
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

/*
 * (f) A mapping outlives its fd: it holds the device file, so the device
 * stays open.  Pages keep working after close(); data_size and state_size
 * are refused (EBUSY), unload too, and remove blocks until munmap.  Once the
 * mapping is gone a new data section is what a new mapping sees, never a
 * stale page of the old one.
 */
static int test_mapping_outlives_fd(void)
{
	uint64_t len, word = 0x6d6170706564ULL, got = 0;
	char dir[256];
	volatile uint64_t *map;
	int ret, status = 0;
	bool done, ok;
	struct dev d;
	pid_t pid;

	st_remove_all();
	CHECK(make_dev(&d, "vfmig-large", 61, "1048576") == 0 &&
	      st_knob_write_raw(d.uuid, "data_size", "262144") == 0 &&
	      st_knob_write_raw(d.uuid, "mmap_layout", "whole") == 0 && dev_attach(&d) == 0,
	      "open");
	len = d.v.mig.areas[0].size;
	CHECK(d.v.mig.nr_areas == 1 && len == 256 * KiB, "one 256 KiB area");
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, d.v.device,
		   (off_t)(d.base + d.v.mig.areas[0].offset));
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	map[1] = word;
	dev_close(&d);
	CHECK(map[1] == word, "touched page after close");
	map[len / 8 - 1] = word;	/* an untouched page faults in after close */
	CHECK(map[len / 8 - 1] == word, "page first touched after close");
	ret = st_knob_write_raw(d.uuid, "data_size", "131072");
	CHECK(ret == -EBUSY, "data_size with a mapping left answered %d", ret);
	ret = st_knob_write_raw(d.uuid, "state_size", "2097152");
	CHECK(ret == -EBUSY, "state_size with a mapping left answered %d", ret);
	ret = vfmig_module_unload(st_ctx());
	CHECK(ret == -EBUSY, "unload with a mapping left answered %d: %s", ret, st_err());
	CHECK(st_knob_write_raw(d.uuid, "data_size", "524288") == -EBUSY, "still open");

	/*
	 * Remove from another process: a thread of this one would deadlock
	 * on failure (its exit waits for the remove, which waits for this
	 * mm's teardown).  The device directory stays until the remove ends.
	 */
	snprintf(dir, sizeof(dir), "/sys/class/mdev_bus/" VFMIG_PARENT_NAME "/%s", d.uuid);
	CHECK(access(dir, F_OK) == 0, "%s: %s", dir, strerror(errno));
	pid = fork();
	if (pid == 0) {
		munmap((void *)map, len);	/* the child's copy holds the file too */
		_exit(remove_dev(d.uuid) ? 1 : 0);
	}
	sleep_ms(500);
	done = pid < 0 || waitpid(pid, &status, WNOHANG) != 0;
	ok = map[1] == word;
	munmap((void *)map, len);
	CHECK(pid > 0 && !done, "remove returned with the mapping left (%d)", (int)pid);
	CHECK(ok, "mapping during the blocked remove");
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	      "remove after munmap failed (status %#x)", status);
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT, "device not removed after munmap");

	/* A new section: a new mapping reads zeros where the old one held data. */
	CHECK(make_dev(&d, "vfmig-large", 62, "1048576") == 0 &&
	      st_knob_write_raw(d.uuid, "data_size", "262144") == 0 &&
	      st_knob_write_raw(d.uuid, "mmap_layout", "whole") == 0 && dev_attach(&d) == 0,
	      "open again");
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, d.v.device,
		   (off_t)(d.base + d.v.mig.areas[0].offset));
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	map[1] = word;
	munmap((void *)map, len);
	dev_close(&d);
	CHECK(st_knob_write_raw(d.uuid, "data_size", "524288") == 0, "data_size after munmap");
	CHECK(dev_attach(&d) == 0 && d.v.mig.areas[0].size == 512 * KiB, "reopen, 512 KiB area");
	map = mmap(NULL, 512 * KiB, PROT_READ, MAP_SHARED, d.v.device,
		   (off_t)(d.base + d.v.mig.areas[0].offset));
	CHECK(map != MAP_FAILED, "mmap: %s", strerror(errno));
	got = map[1];
	CHECK(got == 0 && map[512 * KiB / 8 - 1] == 0, "new section reads %#llx",
	      (unsigned long long)got);
	munmap((void *)map, 512 * KiB);
	dev_close(&d);
	st_remove_all();
	return TAP_PASS;
}

static int test_accounting_zero(void)
{
	long o = -1, b = -1;

	st_remove_all();
	CHECK(live_zero(&o, &b), "after every device was removed: live_objects %ld, live_bytes %ld",
	      o, b);
	return TAP_PASS;
}

static const struct tap_test tests[] = {
	TAP_TEST(test_load),
	TAP_TEST_TIMEOUT(test_table_open, 120),
	TAP_TEST_TIMEOUT(test_table_resume, 120),
	TAP_TEST_TIMEOUT(test_table_v2, 120),
	TAP_TEST_TIMEOUT(test_table_closed, 120),
	TAP_TEST(test_table_removing),
	TAP_TEST(test_resize_after_resuming),
	TAP_TEST(test_close_after_verified_resume),
	TAP_TEST(test_refused_resume_never_mixes),
	TAP_TEST(test_dirty_rate_bounds),
	TAP_TEST_TIMEOUT(test_seed_fill_responsive, 240),
	TAP_TEST_TIMEOUT(test_generator_responsive, 120),
	TAP_TEST(test_unload_while_open),
	TAP_TEST(test_mapping_outlives_fd),
	TAP_TEST(test_accounting_zero),
	{ "test_unload", st_test_unload, 0 },
};

int main(void)
{
	return tap_run("lifetime", tests, TAP_COUNT(tests));
}
