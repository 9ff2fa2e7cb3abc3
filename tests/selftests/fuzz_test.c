// SPDX-License-Identifier: GPL-2.0
/*
 * VM suite "fuzz": the device's user-facing interface driven the way a
 * hostile or buggy client would, from a seed.
 *
 * A single-threaded phase runs VFMIG_FUZZ_OPS operations (default 10,000)
 * over four devices (two vfmig-small, two vfmig-large with a small state):
 * region reads and writes at random offsets and widths on every region index
 * (config, BAR0, the unimplemented ones, migration, bogus), device_state
 * writes with garbage high bits, data_size writes while RESUMING, mmap/munmap
 * of random ranges and touching mapped pages in every state, the VFIO ioctls
 * with bad argsz and indexes, random writes to every vfmig/ knob (garbage,
 * huge, negative, empty), the module's parameters, device remove while fds
 * and mappings are open (from a thread: remove blocks until close), module
 * unload attempts while in use, open/close, fork with fds and mappings
 * inherited, real saved streams (sometimes damaged) fed to resuming devices,
 * and real migrations between the fuzzed devices with equal checksums.  The
 * devices offer both protocols ("protocol" both): v2 operations set and get
 * the migration state through VFIO_DEVICE_FEATURE, read, write, poll and
 * close its data files (garbage and real streams), ask PRECOPY_INFO, and
 * keep data files open across close, remove and unload attempts.  The
 * devices switch between the staged and the direct data window
 * (data_window): a direct window's pages are device memory bound one chunk
 * at a time, so accesses there may fail with EINVAL and touches with
 * SIGBUS (a save's chunk is read-only, nothing else of a bound window is
 * mapped); such a SIGBUS is caught, any other still ends the run.  The
 * operation sequence is a function of the seed alone (it has its own PRNG
 * stream, which outcomes never shift): VFMIG_FUZZ_SEED=<n> VFMIG_FUZZ_OPS=<n>
 * repeat a run, and the phase prints a digest of its sequence.
 *
 * A second single-threaded phase (a quarter as many operations) runs the same
 * mix on devices that offer v1 only, with chunk_offload set at creation
 * (and then fuzzed like every knob): their saves and resumes copy chunks on
 * the device's worker, one ahead of user space, which a device offering
 * both protocols never does.  Every v2 call there must fail with ENOTTY,
 * and the phase fails unless the workers copied chunks at all.
 *
 * A concurrent phase (a quarter as many operations) runs short bursts of five
 * threads on one device, with a remove started in the middle of some; a
 * third of the bursts race the worker's chunk copies the same way.
 *
 * Each operation checks what the device promises where Documentation/
 * device.md and the lifetime rules fix it (valid accesses succeed, invalid
 * ones fail, the state read back is the state written or refused, reset
 * gives RUNNING, the last close ends sessions, a resume that ends without a
 * verified stream leaves the old state or a cleared one, dirty_rate is
 * bounded, unload is refused while in use).  Where they do not, any errno is
 * accepted, but never a hang: every operation runs under an alarm.  At the
 * end every device is removed, the allocation counters are back to 0, a
 * fresh pair still migrates with `vfmig migrate` and equal checksums, and
 * the module unloads.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/vfio.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#include "util.h"

#define PAGE		4096ULL
#define NSLOTS		4
#define MAXMAPS		8
#define OP_TIMEOUT	30	/* seconds any one operation may take */
#define DEFAULT_SEED	0x5eedf00dcafe2026ULL
#define DEFAULT_OPS	10000UL
#define DIRTY_RATE_MAX	(1ULL << 36)
#define UUID_BASE	0x2000
#define BUF_LEN		(2u << 20)

/* ---- PRNG: splitmix64, one stream per run or thread ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd64(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); n > 0. */
static uint64_t rnd(struct rng *r, uint64_t n)
{
	return rnd64(r) % n;
}

static bool chance(struct rng *r, unsigned int one_in)
{
	return rnd(r, one_in) == 0;
}

/* ---- operation kinds and their counters ---- */

enum op_kind {
	OP_RW, OP_STATE, OP_RESUME, OP_MMAP, OP_TOUCH, OP_MUNMAP, OP_IOCTL, OP_RESET,
	OP_KNOB, OP_KNOB_READ, OP_PARAM, OP_OPEN, OP_CLOSE, OP_REMOVE, OP_UNLOAD,
	OP_MIGRATE, OP_FORK, OP_V2, NR_OPS
};

static const char *const op_names[NR_OPS] = {
	"region-rw", "device_state", "resume-data_size", "mmap", "touch", "munmap", "ioctl",
	"reset", "knob-write", "knob-read", "module-param", "open", "close", "remove",
	"unload", "migrate", "fork", "v2",
};

/* Weights (per mille) of the single-threaded phase. */
static const unsigned int op_weight[NR_OPS] = {
	[OP_RW] = 250, [OP_STATE] = 110, [OP_RESUME] = 60, [OP_MMAP] = 60, [OP_TOUCH] = 50,
	[OP_MUNMAP] = 30, [OP_IOCTL] = 90, [OP_RESET] = 20, [OP_KNOB] = 180,
	[OP_KNOB_READ] = 30, [OP_PARAM] = 6, [OP_OPEN] = 20, [OP_CLOSE] = 30,
	[OP_REMOVE] = 4, [OP_UNLOAD] = 5, [OP_MIGRATE] = 5, [OP_FORK] = 5, [OP_V2] = 50,
};

static _Atomic unsigned long op_count[NR_OPS];
static _Atomic unsigned long findings;
/* Opens that found a direct data window; touches of one refused with SIGBUS. */
static _Atomic unsigned long window_opens, window_sigbus;
static _Atomic unsigned int finding_lines[4096];	/* by source line */

/*
 * A broken promise: counted by source line, the first three of each line
 * shown, the phase fails at its end with a count per line.
 */
#define FINDING(fmt, ...) do {							\
	unsigned int l_ = __LINE__ < 4096 ? __LINE__ : 0;			\
	atomic_fetch_add(&findings, 1);						\
	if (atomic_fetch_add(&finding_lines[l_], 1) < 3)			\
		tap_diag("FINDING %s:%d: " fmt, __FILE__, __LINE__, ##__VA_ARGS__); \
} while (0)

static void print_findings(const char *phase)
{
	for (unsigned int l = 0; l < 4096; l++) {
		unsigned int n = atomic_exchange(&finding_lines[l], 0);

		if (n)
			tap_diag("%s: %u findings at fuzz_test.c:%u", phase, n, l);
	}
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* ---- devices ---- */

struct map {
	uint8_t *p;
	size_t len;
	int prot;
	bool window;			/* overlaps a direct data window */
};

struct slot {
	const char *type;
	bool big;			/* keep vfmig-large's 16 MiB state */
	char uuid[VFMIG_UUID_LEN + 1];
	bool exists, open;
	struct dev d;
	uint64_t region_size;		/* migration region, as of the last open */
	uint64_t win_start;		/* its direct data window, 0: staged */
	struct map maps[MAXMAPS];
	unsigned int nmaps;
	/*
	 * Resume integrity (single-threaded phase): when a resume we watched
	 * begin ends without a verified stream, the memory is what it was when
	 * RESUMING began or cleared, never a mix; after a real stream, that
	 * stream's state.
	 */
	bool rbase;			/* entered RESUMING under our eyes */
	uint64_t base_ck;		/* checksum right after entering it */
	uint32_t base_scratch;		/* SCRATCH then, which a reset clears */
	bool replayed;			/* a real stream was fed since */
	uint64_t replay_ck;		/* its source's checksum */
	unsigned int replay_next;	/* next chunk of it to feed */
	/* A v2 data file; it may outlive the fd, the device and the slot's next device. */
	bool has_dfd;
	int dfd;
};

static bool have_pre_copy;	/* the kernel's VFIO has PRE_COPY (6.2+) */

/*
 * What the current single-threaded phase's devices offer: v1 and v2, or v1
 * only with chunk copies on the worker (chunk_offload needs a v1-only
 * device).  Chunk copies queued on those workers, from removed devices too.
 */
static bool phase_v1_only;
static uint64_t phase_chunk_copies;

static void drop_dfd(struct slot *s)
{
	if (s->has_dfd)
		close(s->dfd);
	s->has_dfd = false;
}

/* A data file whose device was closed or removed is a dead end: ENODEV. */
static void check_dfd_dead(struct slot *s, const char *after)
{
	uint8_t one = 0;

	if (!s->has_dfd)
		return;
	/* A saving file is O_RDONLY, a resuming one O_WRONLY: the other call is EBADF. */
	if (read(s->dfd, &one, 1) != -1 || (errno != ENODEV && errno != EBADF) ||
	    (errno == EBADF && (write(s->dfd, &one, 1) != -1 || errno != ENODEV)))
		FINDING("%s: data file still answers after %s: %s", s->uuid, after,
			strerror(errno));
}

static unsigned int uuid_counter;

/* Raw write of @len bytes to a sysfs file: 0 or -errno. */
static int raw_write(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/*
 * VFMIG_FUZZ_TRACE=<uuid>: every operation on that device, with its state
 * and checksum after it, and every knob written to it, as TAP comments:
 * the history behind a finding the seed reproduces.
 */
static const char *trace_uuid;

static bool traced(const char *uuid)
{
	return trace_uuid && !strcmp(uuid, trace_uuid);
}

static int knob_write(const char *uuid, const char *name, const char *v)
{
	char path[256];
	int ret;

	if (st_knob_path(path, sizeof(path), uuid, name))
		return -ENAMETOOLONG;
	ret = raw_write(path, v, strlen(v));
	if (traced(uuid))
		tap_diag("trace: knob %s = \"%.*s\": %s", name, (int)strcspn(v, "\n"), v,
			 ret ? strerror(-ret) : "ok");
	return ret;
}

static int knob_read(const char *uuid, const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	if (st_knob_path(path, sizeof(path), uuid, name))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int knob_u64(const char *uuid, const char *name, uint64_t *v)
{
	char buf[64];
	int ret = knob_read(uuid, name, buf, sizeof(buf));

	if (!ret)
		*v = strtoull(buf, NULL, strcmp(name, "checksum") ? 10 : 16);
	return ret;
}

static uint32_t sysfs_state(struct slot *s)
{
	uint64_t v = 0xdead;

	knob_u64(s->uuid, "device_state", &v);
	return (uint32_t)v;
}

static bool state_valid(uint32_t v)
{
	v &= VFMIG_V1_STATE_MASK;
	return v != 5 && v != 7;
}

/* Checksums of cleared devices (memory and registers zero), by state size. */
static struct {
	uint64_t size, ck;
} zero_ck[512];
static unsigned int nr_zero_ck;

/* A device that was just created or resized is cleared: learn its checksum. */
static void zero_learn(const char *uuid)
{
	uint64_t size, ck;

	if (knob_u64(uuid, "state_size", &size) || knob_u64(uuid, "checksum", &ck))
		return;
	for (unsigned int i = 0; i < nr_zero_ck; i++)
		if (zero_ck[i].size == size) {
			if (zero_ck[i].ck != ck)
				FINDING("%s: a cleared %" PRIu64 "-byte device has checksum %016"
					PRIx64 ", another had %016" PRIx64, uuid, size, ck,
					zero_ck[i].ck);
			return;
		}
	if (nr_zero_ck < 512) {
		zero_ck[nr_zero_ck].size = size;
		zero_ck[nr_zero_ck++].ck = ck;
	}
}

static bool zero_lookup(uint64_t size, uint64_t *ck)
{
	for (unsigned int i = 0; i < nr_zero_ck; i++)
		if (zero_ck[i].size == size) {
			*ck = zero_ck[i].ck;
			return true;
		}
	return false;
}

static _Atomic unsigned long resume_checks;

/* The SCRATCH register (BAR0), part of the checksum; a reset clears it. */
static int scratch_rw(struct slot *s, uint32_t *v, bool is_write)
{
	off_t at = VFMIG_REGION_OFFSET(VFIO_PCI_BAR0_REGION_INDEX) + VFMIG_REG_SCRATCH;
	ssize_t n = is_write ? pwrite(s->d.v.device, v, 4, at) : pread(s->d.v.device, v, 4, at);

	return n == 4 ? 0 : -1;
}

static void enter_resuming(struct slot *s)
{
	s->rbase = !knob_u64(s->uuid, "checksum", &s->base_ck) &&
		   !scratch_rw(s, &s->base_scratch, false);
	s->replayed = false;
	s->replay_next = 0;
}

/*
 * A resume ended by reset that kept memory holds the state before but for
 * SCRATCH, which the reset cleared (device.md): put it back and compare.
 */
static bool kept_but_scratch(struct slot *s, uint64_t *ck)
{
	uint32_t v = s->base_scratch;

	return v && !scratch_rw(s, &v, true) && !knob_u64(s->uuid, "checksum", ck) &&
	       *ck == s->base_ck;
}

/* A watched resume ended by @how without a verified stream: old state or cleared. */
static void check_resume_end(struct slot *s, const char *how)
{
	uint64_t ck, size, zero = 0, back = 0;
	bool known;

	if (!s->rbase)
		return;
	s->rbase = false;
	if (knob_u64(s->uuid, "checksum", &ck) || knob_u64(s->uuid, "state_size", &size)) {
		FINDING("%s: resume ended by %s: cannot read its checksum or state_size", s->uuid,
			how);
		return;
	}
	known = zero_lookup(size, &zero);
	if (ck == s->base_ck || (known && ck == zero) || (s->replayed && ck == s->replay_ck) ||
	    (!strcmp(how, "reset") && kept_but_scratch(s, &back))) {
		atomic_fetch_add(&resume_checks, 1);
		return;
	}
	if (known)
		FINDING("%s: resume ended by %s holds %016" PRIx64 ": neither its state before "
			"(%016" PRIx64 ") nor cleared (%016" PRIx64 ")%s", s->uuid, how, ck,
			s->base_ck, zero, s->replayed ? " nor the stream's" : "");
}

static int slot_create(struct slot *s)
{
	char want[VFMIG_UUID_LEN + 1];
	unsigned int n = UUID_BASE + uuid_counter++;
	int ret;

	snprintf(want, sizeof(want), "f1e0%04x-0000-4000-8000-%012x", n & 0xffff, n);
	ret = vfmig_mdev_create(st_ctx(), s->type, want, s->uuid);
	if (ret) {
		tap_diag("create %s: %s", s->type, st_err());
		return ret;
	}
	s->exists = true;
	s->rbase = false;
	if (knob_write(s->uuid, "protocol", phase_v1_only ? "v1" : "both") ||
	    (phase_v1_only && knob_write(s->uuid, "chunk_offload", "1")))
		return -EIO;
	/* vfmig-large: keep its 16 MiB default out of the way under TCG. */
	if (!strcmp(s->type, "vfmig-large") && !s->big &&
	    knob_write(s->uuid, "state_size", "262144"))
		return -EIO;
	zero_learn(s->uuid);
	return 0;
}

/* Where a direct data window starts (the last 4 MiB of the data section), 0: staged. */
static uint64_t window_start(const struct slot *s)
{
	char w[16] = "";
	uint64_t data;

	if (knob_read(s->uuid, "data_window", w, sizeof(w)) || strcmp(w, "direct\n") ||
	    knob_u64(s->uuid, "data_size", &data))
		return 0;
	return s->d.v.mig.size - (data < (4 << 20) ? data : (4 << 20));
}

static int slot_open(struct slot *s)
{
	struct vfmig_err err = { 0 };

	memset(&s->d.v, 0, sizeof(s->d.v));
	if (vfmig_vfio_open(&s->d.v, s->uuid, &err)) {
		/* A mapping alive without its fd keeps the group busy. */
		if (!s->nmaps)
			FINDING("open %s: %s", s->uuid, err.msg);
		return -1;
	}
	if (s->d.v.mig_index < 0) {
		FINDING("%s: no migration region", s->uuid);
		vfmig_vfio_close(&s->d.v);
		return -1;
	}
	memcpy(s->d.uuid, s->uuid, sizeof(s->d.uuid));
	s->d.base = s->d.v.mig.offset;
	s->region_size = s->d.v.mig.size;
	s->win_start = window_start(s);
	if (s->win_start)
		window_opens++;
	s->open = true;
	return 0;
}

static void unmap_all(struct slot *s)
{
	for (unsigned int i = 0; i < s->nmaps; i++)
		munmap(s->maps[i].p, s->maps[i].len);
	s->nmaps = 0;
}

/*
 * Lifetime rule 1: at the last close a save ends and a resume ends, so the
 * state is one of RUNNING, STOP or ERROR: 1->1, 3->1, 0->0, 2->0, 4->0, 6->6.
 */
static void check_after_last_close(struct slot *s, uint32_t before)
{
	static const int8_t expect[8] = { 0, 1, 0, 1, 0, -1, 6, -1 };
	uint32_t after = sysfs_state(s);
	int e = expect[before & VFMIG_V1_STATE_MASK];

	if (e >= 0 && after != (uint32_t)e)
		FINDING("%s: state %u at last close became %u, not %d", s->uuid,
			before & VFMIG_V1_STATE_MASK, after, e);
	if ((after & VFMIG_V1_STATE_MASK) != VFMIG_V1_STATE_RESUMING)
		check_resume_end(s, "close");
	check_dfd_dead(s, "the last close");
}

/* Close the fd (mappings may keep the device open). */
static void slot_close(struct slot *s)
{
	uint32_t before;

	if (!s->open)
		return;
	before = state_of(&s->d);
	dev_close(&s->d);
	s->open = false;
	if (!s->nmaps)
		check_after_last_close(s, before);
}

/* Nothing of ours holds the device any more. */
static void slot_release(struct slot *s)
{
	uint32_t before = s->open ? state_of(&s->d) : sysfs_state(s);
	bool held = s->open || s->nmaps;

	if (s->open) {
		dev_close(&s->d);
		s->open = false;
	}
	unmap_all(s);
	if (held)
		check_after_last_close(s, before);
	drop_dfd(s);
}

static bool slot_held(const struct slot *s)
{
	return s->open || s->nmaps;
}

/* ---- values for knobs ---- */

enum expect { EXPECT_ANY, EXPECT_OK, EXPECT_EINVAL, EXPECT_BUSY_IF_OPEN, EXPECT_SEED,
	      EXPECT_CONFIG, EXPECT_CONFIG_BAD };

static size_t gen_garbage(struct rng *r, char *buf, size_t cap)
{
	static const char *const fixed[] = {
		"", "\n", " ", "-1", "-4096", "-9223372036854775808", "18446744073709551615",
		"18446744073709551616", "0xffffffffffffffff", "0x", "1e6", "4096abc", "abc",
		"  4096  ", "+", "\n\n\n", "sparse:", "sparse:-1", "sparse:99999999999",
		"none\n\n", "whole ", "fixed\0junk", "error\n", "\xff\xfe\x00\x01", "%s%s%n",
		"99999999999999999999999999999999999999", "0x1p3", "0b101", "nan", "inf",
	};
	size_t n;

	switch (rnd(r, 4)) {
	case 0: {
		const char *f = fixed[rnd(r, sizeof(fixed) / sizeof(fixed[0]))];

		n = strlen(f);
		memcpy(buf, f, n);
		return n ? n : (size_t)chance(r, 2);	/* "" or one NUL byte */
	}
	case 1:	/* random bytes */
		n = 1 + rnd(r, 64);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)rnd64(r);
		return n;
	case 2:	/* longer than a page of digits */
		n = cap < 5000 ? cap : 5000;
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)('0' + rnd(r, 10));
		return n;
	default:	/* a random number, sometimes signed or in hex */
		return (size_t)snprintf(buf, cap, chance(r, 3) ? "-%" PRIu64 : chance(r, 2) ?
					"0x%" PRIx64 : "%" PRIu64, rnd64(r) >> rnd(r, 64));
	}
}

/* A value for knob @name into @buf; *exp says what must happen. */
static size_t gen_value(struct rng *r, const char *name, char *buf, size_t cap, enum expect *exp)
{
	static const char *const layouts[] = { "none", "whole", "sparse:2", "sparse:4",
					       "sparse:16", "sparse:17", "sparse:1", "sparse:0" };
	static const char *const policies[] = { "fixed", "rotate", "gap", "straddle", "fixe" };
	static const char *const faults[] = { "none", "transition", "save_chunk", "short_chunk",
					      "resume_chunk", "slow_worker", "error", "errors", "" };

	*exp = EXPECT_ANY;
	if (chance(r, 3))
		return gen_garbage(r, buf, cap);
	if (!strcmp(name, "state_size")) {
		*exp = EXPECT_BUSY_IF_OPEN;
		return (size_t)snprintf(buf, cap, "%llu\n", (1 + rnd(r, 256)) * PAGE);
	}
	if (!strcmp(name, "data_size"))
		return (size_t)snprintf(buf, cap, "%llu", (1 + rnd(r, 64)) * PAGE -
					(chance(r, 8) ? 1 : 0));
	if (!strcmp(name, "mmap_layout"))
		return (size_t)snprintf(buf, cap, "%s", layouts[rnd(r, 8)]);
	if (!strcmp(name, "data_offset_policy"))
		return (size_t)snprintf(buf, cap, "%s", policies[rnd(r, 5)]);
	if (!strcmp(name, "fault")) {
		unsigned int i = rnd(r, 9);

		*exp = i < 7 ? EXPECT_OK : EXPECT_ANY;
		return (size_t)snprintf(buf, cap, "%s\n", faults[i]);
	}
	if (!strcmp(name, "dirty_rate")) {
		uint64_t v;

		switch (rnd(r, 6)) {
		case 0:
			v = DIRTY_RATE_MAX + 1 + (rnd64(r) >> rnd(r, 30));
			if (v <= DIRTY_RATE_MAX)	/* wrapped */
				v = UINT64_MAX;
			break;
		case 1:
			v = DIRTY_RATE_MAX - rnd(r, 2);
			break;
		case 2:
			v = 0;
			break;
		default:
			v = rnd(r, 64ULL << 20);
			break;
		}
		*exp = v > DIRTY_RATE_MAX ? EXPECT_EINVAL : EXPECT_OK;
		return (size_t)snprintf(buf, cap, "%" PRIu64, v);
	}
	if (!strcmp(name, "dirty_working_set")) {
		*exp = EXPECT_OK;
		return (size_t)snprintf(buf, cap, "%" PRIu64, chance(r, 2) ? rnd(r, 1 << 21) :
					rnd64(r) >> rnd(r, 64));
	}
	if (!strcmp(name, "protocol")) {
		/* Only the phase's: anything else would leave some ops idle. */
		*exp = chance(r, 2) ? EXPECT_CONFIG : EXPECT_CONFIG_BAD;
		return (size_t)snprintf(buf, cap, "%s", *exp == EXPECT_CONFIG_BAD ? "v3" :
					phase_v1_only ? "v1" : "both\n");
	}
	if (!strcmp(name, "hash_offload") || !strcmp(name, "chunk_offload")) {
		/* kstrtobool's words: four on, two off (mostly on), two refused. */
		static const char *const bools[] = { "1", "y\n", "on", "Yes", "0\n", "off",
						     "2", "o" };
		unsigned int i = rnd(r, 8);

		*exp = i < 6 ? EXPECT_OK : EXPECT_EINVAL;
		return (size_t)snprintf(buf, cap, "%s", bools[i]);
	}
	if (!strcmp(name, "data_window")) {
		static const char *const windows[] = { "staged", "direct\n", "direkt", "directly" };
		unsigned int i = rnd(r, 4);

		*exp = i < 2 ? EXPECT_CONFIG : EXPECT_CONFIG_BAD;
		return (size_t)snprintf(buf, cap, "%s", windows[i]);
	}
	if (!strcmp(name, "fill")) {
		/* The first four valid: seeds then fill zero pages, patterns or random. */
		static const char *const fills[] = { "random", "zero\n", "zero:90",
						     "pattern:0x0123456789abcdef", "zero:101",
						     "pattern:0x", "zeros" };
		unsigned int i = rnd(r, 7);

		*exp = i < 4 ? EXPECT_CONFIG : EXPECT_CONFIG_BAD;
		return (size_t)snprintf(buf, cap, "%s", fills[i]);
	}
	if (!strcmp(name, "seed")) {
		*exp = EXPECT_SEED;
		return (size_t)snprintf(buf, cap, "%" PRIu64, rnd64(r));
	}
	/* Read-only knobs, or ones added later: a plausible number. */
	*exp = EXPECT_ANY;
	return (size_t)snprintf(buf, cap, "%" PRIu64, rnd(r, 1 << 20));
}

/* The knob names, read from the first device's directory. */
static char knob_names[64][48];
static unsigned int nr_knobs;

static int load_knob_names(const char *uuid)
{
	char path[256];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), VFMIG_SYSFS_MDEVS "/%s/vfmig", uuid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	nr_knobs = 0;
	while ((e = readdir(dir)) && nr_knobs < 64) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= sizeof(knob_names[0]))
			continue;
		strcpy(knob_names[nr_knobs++], e->d_name);
	}
	closedir(dir);
	/* readdir order is not guaranteed: sort for a reproducible choice. */
	qsort(knob_names, nr_knobs, sizeof(knob_names[0]),
	      (int (*)(const void *, const void *))strcmp);
	return nr_knobs ? 0 : -ENOENT;
}

/*
 * Write a random value to a random knob of @s and check what the rules
 * fix.  @open: whether the device is held open (fd or mapping), for the
 * configuration knobs' EBUSY.  @exact: single-threaded, so the state read
 * before the write is still the state when it lands.
 */
static void fuzz_knob(struct rng *r, struct slot *s, bool open, bool exact, char *buf, size_t cap)
{
	const char *name = knob_names[rnd(r, nr_knobs)];
	char path[256];
	enum expect exp;
	uint32_t state = exact ? sysfs_state(s) : 0;
	size_t len = gen_value(r, name, buf, cap, &exp);
	int ret;

	if (st_knob_path(path, sizeof(path), s->uuid, name))
		return;
	ret = raw_write(path, buf, len);
	if (!exact && (ret == -ENOENT || ret == -ENODEV))
		return;		/* a concurrent remove got there first */
	if (len < 60)
		buf[len] = '\0';
	else
		strcpy(buf + 40, "...");
	switch (exp) {
	case EXPECT_OK:
		if (ret)
			FINDING("%s: %s <- '%s' refused: %s", s->uuid, name, buf, strerror(-ret));
		break;
	case EXPECT_EINVAL:
		if (ret != -EINVAL) {
			FINDING("%s: %s <- %s: %s, not EINVAL", s->uuid, name, buf,
				ret ? strerror(-ret) : "accepted");
			/* Put a sane value back before the generator trips over it. */
			knob_write(s->uuid, name, "0");
		}
		break;
	case EXPECT_BUSY_IF_OPEN:
		if (open && ret != -EBUSY)
			FINDING("%s: %s <- %s while open: %s, not EBUSY", s->uuid, name, buf,
				ret ? strerror(-ret) : "accepted");
		if (exact && !open && ret)
			FINDING("%s: %s <- %s while closed: %s", s->uuid, name, buf,
				strerror(-ret));
		if (exact && !ret) {
			s->rbase = false;
			zero_learn(s->uuid);	/* rule 4: a fresh device */
		}
		break;
	case EXPECT_CONFIG:
	case EXPECT_CONFIG_BAD:
		/* A setting fixed while open: EBUSY first, then the value's verdict. */
		if ((open && ret != -EBUSY) ||
		    (exact && !open && ret != (exp == EXPECT_CONFIG ? 0 : -EINVAL)))
			FINDING("%s: %s <- %s while %s: %s", s->uuid, name, buf,
				open ? "open" : "closed", ret ? strerror(-ret) : "accepted");
		break;
	case EXPECT_SEED:
		/* EBUSY exactly in stop-and-copy, RESUMING and ERROR. */
		if (exact && ((state == 2 || state == 4 || state == 6) ? ret != -EBUSY : ret != 0))
			FINDING("%s: seed in state %u: %s", s->uuid, state,
				ret ? strerror(-ret) : "accepted");
		break;
	default:
		break;
	}
}

/* ---- one fuzzing context: a thread's PRNG and buffers ---- */

struct ctx {
	struct rng r;
	bool exact;			/* single-threaded: outcomes are checked exactly */
	uint8_t *buf;			/* BUF_LEN bytes */
	uint8_t *ibuf;			/* 4096 bytes for ioctl arguments */
	struct map maps[MAXMAPS];	/* a thread's own mappings (concurrent phase) */
	unsigned int nmaps;
	int dfd;			/* a thread's own v2 data file (concurrent phase) */
	unsigned long ops;
};

static void count(enum op_kind k)
{
	atomic_fetch_add(&op_count[k], 1);
}

static bool ctx_init(struct ctx *c, uint64_t seed, bool exact)
{
	memset(c, 0, sizeof(*c));
	c->r.s = seed;
	c->exact = exact;
	c->dfd = -1;
	c->buf = malloc(BUF_LEN);
	c->ibuf = aligned_alloc(4096, 4096);
	return c->buf && c->ibuf;
}

static void ctx_free(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nmaps; i++)
		munmap(c->maps[i].p, c->maps[i].len);
	if (c->dfd >= 0)
		close(c->dfd);
	free(c->buf);
	free(c->ibuf);
}

static void fill_random(struct rng *r, void *p, size_t len)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = rnd64(r);

		memcpy(b + i, &v, len - i < 8 ? len - i : 8);
	}
}

/* ---- region reads and writes ---- */

static uint64_t pick_width(struct rng *r, uint64_t region)
{
	static const uint64_t w[] = { 1, 2, 4, 8, 8, 8, 4, 3, 16, 32 };

	if (!chance(r, 5))
		return w[rnd(r, sizeof(w) / sizeof(w[0]))];
	if (chance(r, 20))
		return 0;
	return 1 + rnd(r, region + 2 * PAGE < BUF_LEN ? region + 2 * PAGE : BUF_LEN);
}

static uint64_t pick_mig_offset(struct rng *r, uint64_t region)
{
	switch (rnd(r, 8)) {
	case 0:
		return rnd(r, 36);
	case 1:
		return 8 * rnd(r, 4);
	case 2:
		return PAGE - 16 + rnd(r, 32);		/* header page / data boundary */
	case 3:
		return region - 16 + rnd(r, 32);	/* the region's end */
	case 4:
		return rnd64(r) & ((1ULL << 40) - 1);	/* anywhere in the index */
	default:
		return PAGE + rnd(r, region - PAGE);
	}
}

/*
 * What a migration region access must do: 1 succeed, 0 fail, -1 depends on
 * state.  @win: where a direct data window starts (0: none); bound to a
 * chunk, it answers only that chunk's bytes, one way.
 */
static int mig_expect(uint64_t off, uint64_t len, uint64_t region, bool is_write, uint64_t win)
{
	if (!len)
		return -1;
	if (off < 32) {
		switch (off) {
		case 0:
			return len == 4 ? (is_write ? -1 : 1) : 0;
		case 4:
			return len == 4;
		case 8:
			return len == 8 ? !is_write : 0;
		case 16:
			return len == 8 ? (is_write ? 0 : -1) : 0;
		case 24:
			return len == 8 ? -1 : 0;
		default:
			return 0;
		}
	}
	if (off < PAGE || off >= region)
		return 0;
	if (len > region - off)
		return 0;
	return win && off + len > win ? -1 : 1;
}

static void op_rw(struct ctx *c, struct slot *s)
{
	struct rng *r = &c->r;
	bool is_write = chance(r, 3);
	uint64_t idx, off, len, region;
	uint8_t *ubuf = c->buf;
	bool any = false, fault = false;
	int expect;
	ssize_t n;

	switch (rnd(r, 10)) {
	case 0: case 1:
		idx = VFIO_PCI_CONFIG_REGION_INDEX;
		break;
	case 2: case 3:
		idx = VFIO_PCI_BAR0_REGION_INDEX;
		break;
	case 4:
		idx = chance(r, 2) ? 2 + rnd(r, 7) : 10 + (rnd64(r) >> rnd(r, 64)) % ((1 << 23) - 10);
		break;
	default:
		idx = VFMIG_MIGRATION_REGION_INDEX;
		break;
	}
	region = idx == VFIO_PCI_CONFIG_REGION_INDEX ? VFMIG_PCI_CONFIG_SIZE :
		 idx == VFIO_PCI_BAR0_REGION_INDEX ? VFMIG_BAR0_SIZE : s->region_size;
	len = pick_width(r, region);
	if (idx == VFMIG_MIGRATION_REGION_INDEX)
		off = pick_mig_offset(r, region);
	else if (chance(r, 8))
		off = rnd64(r) & ((1ULL << 40) - 1);
	else
		off = rnd(r, region + 16);
	if (len > BUF_LEN)
		len = BUF_LEN;
	/* device_state writes are op_state's business: keep them valid there. */
	if (is_write && idx == VFMIG_MIGRATION_REGION_INDEX && off == 0)
		is_write = false;

	/*
	 * The user buffer: usually ours; sometimes one of the device's own
	 * mappings (the kernel copies between the data section and a mapping
	 * of it, under the device lock), or an unmapped address (EFAULT).
	 */
	switch (rnd(r, 16)) {
	case 0: {
		struct map *maps = c->exact ? s->maps : c->maps;
		unsigned int nmaps = c->exact ? s->nmaps : c->nmaps;

		if (nmaps) {
			const struct map *m = &maps[rnd(r, nmaps)];

			ubuf = m->p;
			if (len > m->len)
				len = m->len;
			/* x86 has no write-only pages: either answer will do. */
			any = !(m->prot & (is_write ? PROT_READ : PROT_WRITE)) || m->window;
		}
		break;
	}
	case 1:
		ubuf = (uint8_t *)8;
		fault = true;
		break;
	default:
		break;
	}
	if (idx == VFIO_PCI_CONFIG_REGION_INDEX)
		expect = len ? off < region && len <= region - off : -1;
	else if (idx == VFIO_PCI_BAR0_REGION_INDEX)
		expect = len ? (len == 1 || len == 2 || len == 4 || len == 8) &&
			 !(off & (len - 1)) && off < region : -1;
	else if (idx == VFMIG_MIGRATION_REGION_INDEX)
		expect = mig_expect(off, len, region, is_write, s->win_start);
	else
		expect = len ? 0 : -1;

	if (any || (fault && !len))
		expect = -1;
	else if (fault)
		expect = 0;	/* EFAULT */

	if (is_write && ubuf == c->buf)
		fill_random(r, c->buf, len);
	if (is_write)
		n = pwrite(s->d.v.device, ubuf, len, VFMIG_REGION_OFFSET(idx) + off);
	else
		n = pread(s->d.v.device, ubuf, len, VFMIG_REGION_OFFSET(idx) + off);
	if (expect == 1 && n != (ssize_t)len)
		FINDING("%s: %s of %" PRIu64 " at region %" PRIu64 " + %#" PRIx64 " failed: %s",
			s->uuid, is_write ? "write" : "read", len, idx, off,
			n < 0 ? strerror(errno) : "short");
	else if (expect == 0 && n >= 0)
		FINDING("%s: %s of %" PRIu64 " at region %" PRIu64 " + %#" PRIx64 " accepted",
			s->uuid, is_write ? "write" : "read", len, idx, off);
	/* A SCRATCH write while resuming moves the state a resume may fall back to. */
	if (is_write && n > 0 && c->exact && idx == VFIO_PCI_BAR0_REGION_INDEX &&
	    off < VFMIG_REG_SCRATCH + 4 && off + len > VFMIG_REG_SCRATCH)
		s->rbase = false;
	if (n == (ssize_t)len && !is_write && ubuf == c->buf) {
		uint32_t v32;

		if (idx == VFIO_PCI_BAR0_REGION_INDEX && off == 0 && len >= 4 &&
		    (memcpy(&v32, c->buf, 4), v32 != VFMIG_BAR0_MAGIC))
			FINDING("%s: BAR0 magic %#x", s->uuid, v32);
		if (idx == VFMIG_MIGRATION_REGION_INDEX && off == 0 &&
		    (memcpy(&v32, c->buf, 4), !state_valid(v32)))
			FINDING("%s: device_state reads %#x", s->uuid, v32);
		if (idx == VFMIG_MIGRATION_REGION_INDEX && off == 4 &&
		    (memcpy(&v32, c->buf, 4), v32))
			FINDING("%s: reserved reads %#x", s->uuid, v32);
	}
}

/* ---- device_state ---- */

static void op_state(struct ctx *c, struct slot *s)
{
	struct rng *r = &c->r;
	uint32_t target = rnd(r, 8), v, before, after;
	int ret;

	switch (rnd(r, 4)) {
	case 0:
		v = (uint32_t)rnd64(r);
		break;
	case 1:
		v = target | ((uint32_t)rnd64(r) << 3);
		break;
	default:
		v = target < 5 ? target : rnd(r, 5);
		break;
	}
	before = state_of(&s->d);
	ret = set_state(&s->d, v);
	after = state_of(&s->d);
	if (!state_valid(after))
		FINDING("%s: state %#x after writing %#x", s->uuid, after, v);
	if (!c->exact)
		return;
	if (!ret && (before & 7) != VFMIG_V1_STATE_RESUMING && (v & 7) == VFMIG_V1_STATE_RESUMING)
		enter_resuming(s);
	if (!ret && (before & 7) == VFMIG_V1_STATE_RESUMING && (v & 7) != VFMIG_V1_STATE_RESUMING &&
	    s->rbase) {
		uint64_t ck = 0, rate = 1;

		/* Only a complete, verified stream lets a device out of RESUMING. */
		if (!s->replayed)
			FINDING("%s: left RESUMING (%#x) with no stream fed", s->uuid, v);
		else if ((knob_u64(s->uuid, "dirty_rate", &rate), !rate || !(v & 1)) &&
			 !knob_u64(s->uuid, "checksum", &ck) && ck != s->replay_ck)
			FINDING("%s: resumed state %016" PRIx64 " is not the stream's %016" PRIx64,
				s->uuid, ck, s->replay_ck);
		s->rbase = false;
	}
	if (!ret && after != v)
		FINDING("%s: wrote %#x, reads %#x", s->uuid, v, after);
	if (ret && (after & 7) != (before & 7) && (after & 7) != VFMIG_V1_STATE_ERROR)
		FINDING("%s: refused %#x (%s) but state %#x -> %#x", s->uuid, v, strerror(-ret),
			before, after);
	if (!ret && ((v & 7) == 5 || (v & 7) >= 6 || (before & 7) == VFMIG_V1_STATE_ERROR))
		FINDING("%s: %#x -> %#x accepted", s->uuid, before, v);
}

/* ---- data_size while RESUMING ---- */

/* The last stream saved per pair of slots, and its source's checksum. */
static struct st_stream last_stream[NSLOTS / 2];
static uint64_t last_stream_ck[NSLOTS / 2];

/* Feed chunks of a real saved stream (sometimes damaged), as QEMU would. */
static void resume_replay(struct ctx *c, struct slot *s, const struct st_stream *st, uint64_t ck)
{
	struct rng *r = &c->r;
	unsigned int upto = chance(r, 2) ? st->n : s->replay_next + 1 + rnd(r, 4);
	bool damage = chance(r, 6);

	if (c->exact) {
		s->replayed = true;
		s->replay_ck = ck;
	}
	for (; s->replay_next < st->n && s->replay_next < upto; s->replay_next++) {
		const struct st_chunk *ch = &st->c[s->replay_next];
		uint64_t done = 0;

		while (done < ch->size) {
			uint64_t off, n;

			if (rd64(&s->d, HDR(data_offset), &off))
				return;
			if (off < PAGE || off >= s->region_size) {
				FINDING("%s: data_offset %#" PRIx64 " outside the data section",
					s->uuid, off);
				return;
			}
			n = s->region_size - off < ch->size - done ? s->region_size - off :
			    ch->size - done;
			memcpy(c->buf, ch->data + done, n);
			if (damage && chance(r, 4)) {
				c->buf[rnd(r, n)] ^= 1 << rnd(r, 8);
				damage = false;
			}
			if (pwrite(s->d.v.device, c->buf, n, s->d.base + off) != (ssize_t)n ||
			    wr64(&s->d, HDR(data_size), n))
				return;
			done += n;
		}
	}
}

static void op_resume(struct ctx *c, struct slot *s, const struct st_stream *replay, uint64_t ck)
{
	struct rng *r = &c->r;
	unsigned int rounds = 1 + rnd(r, 6);
	uint32_t st = state_of(&s->d);

	if ((st & 7) != VFMIG_V1_STATE_RESUMING) {
		if (set_state(&s->d, VFMIG_V1_STATE_RESUMING))
			return;
		if (c->exact)
			enter_resuming(s);
	}
	if (replay && replay->n && chance(r, 2)) {
		resume_replay(c, s, replay, ck);
		return;
	}
	for (unsigned int i = 0; i < rounds; i++) {
		uint64_t off = 0, room, v, n;
		bool have_off = rd64(&s->d, HDR(data_offset), &off) == 0;
		int ret;

		if (have_off && (off < PAGE || off >= s->region_size)) {
			FINDING("%s: data_offset %#" PRIx64 " outside the data section", s->uuid, off);
			return;
		}
		room = have_off ? s->region_size - off : 0;
		switch (rnd(r, 6)) {
		case 0:
			v = 0;
			break;
		case 1:
			v = room;
			break;
		case 2:
			v = room + 1 + rnd(r, 8192);
			break;
		case 3:
			v = rnd64(r) | (1ULL << 63);
			break;
		default:
			v = rnd(r, room + 1);
			break;
		}
		n = v < room ? v : room;
		fill_random(r, c->buf, n);
		/* Another thread's data_offset may rebind a direct window meanwhile. */
		if (have_off && n && pwrite(s->d.v.device, c->buf, n, s->d.base + off) != (ssize_t)n &&
		    (c->exact || !s->win_start || off + n <= s->win_start))
			FINDING("%s: data write of %" PRIu64 " at %#" PRIx64 ": %s", s->uuid, n, off,
				strerror(errno));
		ret = wr64(&s->d, HDR(data_size), v);
		if (c->exact && !ret && (!have_off || v > room))
			FINDING("%s: data_size %" PRIu64 " accepted (%s, room %" PRIu64 ")", s->uuid,
				v, have_off ? "offset read" : "no data_offset", room);
	}
}

/* ---- mmap ---- */

/*
 * A SIGBUS in a touch of a direct window is an answer, not a crash: the
 * handler jumps back to the touch that armed it.  Any other SIGBUS
 * (nothing armed) kills the run, as it did before windows.
 */
static __thread sigjmp_buf touch_jmp;
static __thread volatile sig_atomic_t touch_armed;

static void on_sigbus(int sig)
{
	if (!touch_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	touch_armed = 0;
	siglongjmp(touch_jmp, 1);
}

static void touch(struct rng *r, const struct map *m)
{
	volatile size_t o = 0;

	if (m->window && sigsetjmp(touch_jmp, 1)) {
		window_sigbus++;
		o += PAGE;	/* that page is refused now; go on with the next */
	}
	for (; o < m->len; o += PAGE) {
		touch_armed = m->window;
		if (m->prot & PROT_READ)
			(void)*(volatile uint8_t *)(m->p + o);
		if (m->prot & PROT_WRITE)
			*(volatile uint8_t *)(m->p + o + rnd(r, PAGE)) = (uint8_t)rnd64(r);
	}
	touch_armed = 0;
}

/* Map a random range; returns true with *m filled when it was mapped. */
static bool op_mmap(struct ctx *c, struct slot *s, struct map *m)
{
	static const int prots[] = { PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ,
				     PROT_WRITE, PROT_NONE, PROT_READ | PROT_EXEC };
	const struct vfmig_region_desc *g = &s->d.v.mig;
	struct rng *r = &c->r;
	uint64_t off, len;
	bool shared = !chance(r, 8), expect = false;
	int prot = prots[rnd(r, sizeof(prots) / sizeof(prots[0]))];
	void *p;

	if (g->nr_areas && !chance(r, 3)) {
		unsigned int a = rnd(r, g->nr_areas);
		uint64_t pages = g->areas[a].size / PAGE, first = rnd(r, pages);

		off = g->areas[a].offset + first * PAGE;
		len = (1 + rnd(r, pages - first + (chance(r, 6) ? 2 : 0))) * PAGE;
	} else {
		off = rnd(r, s->region_size / PAGE + 4) * PAGE;
		len = (1 + rnd(r, 8)) * PAGE;
	}
	if (chance(r, 16))
		off += 1 + rnd(r, PAGE - 1);	/* unaligned: refused by mmap itself */
	if (chance(r, 32))
		len = 0;
	for (unsigned int i = 0; i < g->nr_areas; i++)
		if (off >= g->areas[i].offset && len <= g->areas[i].size &&
		    off - g->areas[i].offset <= g->areas[i].size - len)
			expect = shared && len && !(off & (PAGE - 1)) && !(prot & PROT_EXEC);
	p = mmap(NULL, len, prot, shared ? MAP_SHARED : MAP_PRIVATE, s->d.v.device, s->d.base + off);
	if (expect && p == MAP_FAILED)
		FINDING("%s: mmap of %" PRIu64 " at %#" PRIx64 " inside an area: %s", s->uuid, len,
			off, strerror(errno));
	if (!expect && p != MAP_FAILED)
		FINDING("%s: mmap of %" PRIu64 " at %#" PRIx64 " (%s) accepted", s->uuid, len, off,
			shared ? "shared" : "private");
	if (p == MAP_FAILED)
		return false;
	m->p = p;
	m->len = len;
	m->prot = prot;
	m->window = s->win_start && off + len > s->win_start;
	if (m->window && s->open && chance(r, 2)) {
		uint64_t v;

		/* Saving or resuming, this may bind a chunk the touch then meets. */
		rd64(&s->d, HDR(pending_bytes), &v);
		rd64(&s->d, HDR(data_offset), &v);
	}
	touch(r, m);
	return true;
}

/* ---- ioctls ---- */

static uint32_t pick_argsz(struct rng *r, uint32_t minsz)
{
	switch (rnd(r, 6)) {
	case 0:
		return rnd(r, minsz);
	case 1:
		return (uint32_t)rnd64(r);
	case 2:
		return minsz;
	case 3:
		return 4096;
	default:
		return minsz + rnd(r, 4096 - minsz);
	}
}

static void op_ioctl(struct ctx *c, struct slot *s)
{
	struct rng *r = &c->r;
	int fd = s->d.v.device, kind = rnd(r, 6), expect = -1;
	unsigned long arg = (unsigned long)c->ibuf;
	unsigned int cmd = 0;
	uint32_t argsz = 0, index = 0;
	int ret;

	fill_random(r, c->ibuf, 4096);
	if (chance(r, 24))
		arg = chance(r, 2) ? 0 : 4096 + rnd(r, 4096);	/* bad pointer */
	switch (kind) {
	case 0: {
		struct vfio_device_info *i = (void *)c->ibuf;

		cmd = VFIO_DEVICE_GET_INFO;
		argsz = i->argsz = pick_argsz(r, 16);
		expect = argsz >= 16;
		break;
	}
	case 1: case 2: {
		struct vfio_region_info *i = (void *)c->ibuf;

		cmd = VFIO_DEVICE_GET_REGION_INFO;
		argsz = i->argsz = pick_argsz(r, 32);
		index = i->index = chance(r, 4) ? (uint32_t)rnd64(r) : rnd(r, 12);
		expect = argsz >= 32 && index < VFMIG_NUM_REGIONS;
		break;
	}
	case 3: {
		struct vfio_irq_info *i = (void *)c->ibuf;

		cmd = VFIO_DEVICE_GET_IRQ_INFO;
		argsz = i->argsz = pick_argsz(r, 16);
		index = i->index = chance(r, 4) ? (uint32_t)rnd64(r) : rnd(r, 7);
		expect = argsz < 16 || index >= VFIO_PCI_NUM_IRQS ? 0 :
			 index <= VFIO_PCI_MSIX_IRQ_INDEX ? 1 : -1;
		break;
	}
	case 4: {
		struct vfio_irq_set *i = (void *)c->ibuf;

		cmd = VFIO_DEVICE_SET_IRQS;
		argsz = i->argsz = pick_argsz(r, sizeof(*i));
		if (chance(r, 2)) {
			i->index = rnd(r, 6);
			i->start = rnd(r, 2);
			i->count = rnd(r, 3);
			i->flags = 1u << rnd(r, 6);
		}
		break;
	}
	default:
		cmd = chance(r, 2) ? (unsigned int)_IO(VFIO_TYPE, VFIO_BASE + rnd(r, 40)) :
		      (unsigned int)rnd64(r);
		/* Not RESET (op_reset) and nothing that would hand out new fds. */
		if (cmd == VFIO_DEVICE_RESET || _IOC_TYPE(cmd) != VFIO_TYPE)
			cmd = _IO(VFIO_TYPE, VFIO_BASE + 60 + rnd(r, 100));
		break;
	}
	if (arg != (unsigned long)c->ibuf)
		expect = expect == 1 ? 0 : expect;	/* EFAULT */
	ret = ioctl(fd, cmd, arg);
	if (expect == 1 && ret)
		FINDING("%s: ioctl %#x argsz %u index %u failed: %s", s->uuid, cmd, argsz, index,
			strerror(errno));
	if (expect == 0 && !ret)
		FINDING("%s: ioctl %#x argsz %u index %u arg %#lx accepted", s->uuid, cmd, argsz,
			index, arg);
	if (!ret && cmd == VFIO_DEVICE_GET_REGION_INFO && index == VFMIG_MIGRATION_REGION_INDEX) {
		struct vfio_region_info *i = (void *)c->ibuf;

		if (i->offset != VFMIG_REGION_OFFSET(index) || i->size != s->region_size)
			FINDING("%s: migration region at %#llx size %llu, opened with %" PRIu64,
				s->uuid, (unsigned long long)i->offset,
				(unsigned long long)i->size, s->region_size);
	}
}

static void op_reset(struct ctx *c, struct slot *s)
{
	uint64_t rate = 1;
	uint32_t before = c->exact ? state_of(&s->d) : 0, st;
	int ret;

	/* A running generator changes memory at once: check only without one. */
	if (c->exact && s->rbase && (knob_u64(s->uuid, "dirty_rate", &rate) || rate))
		s->rbase = false;
	ret = ioctl(s->d.v.device, VFIO_DEVICE_RESET);
	st = state_of(&s->d);
	if (ret)
		FINDING("%s: VFIO_DEVICE_RESET: %s", s->uuid, strerror(errno));
	else if (c->exact && st != VFMIG_V1_STATE_RUNNING)
		FINDING("%s: state %#x after reset", s->uuid, st);
	if (c->exact && !ret && ((before & 7) == VFMIG_V1_STATE_RESUMING ||
				 (before & 7) == VFMIG_V1_STATE_ERROR))
		check_resume_end(s, "reset");
	else if (c->exact)
		s->rbase = false;
}

static void op_knob_read(struct ctx *c, struct slot *s)
{
	const char *name = knob_names[rnd(&c->r, nr_knobs)];
	char buf[256];
	int ret = knob_read(s->uuid, name, buf, sizeof(buf));

	/* Every knob is readable (even write-mostly ones) while the device exists. */
	if (ret && c->exact)
		FINDING("%s: read %s: %s", s->uuid, name, strerror(-ret));
}

/* ---- module parameters, remove, unload ---- */

static void op_param(struct ctx *c)
{
	static const char *const params[] = { "live_objects", "live_bytes", "max_devices",
					      "default_data_size", "default_layout",
					      "default_policy", "default_dirty_rate" };
	char path[128];
	enum expect exp;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "/sys/module/vfmig/parameters/%s",
		 params[rnd(&c->r, sizeof(params) / sizeof(params[0]))]);
	len = gen_value(&c->r, "", (char *)c->buf, 4096, &exp);
	ret = raw_write(path, c->buf, len);
	/* All read-only (0444), live_* refuse even a privileged write. */
	if (!ret && len)
		FINDING("%s is writable", path);
}

static bool device_gone(const char *uuid)
{
	char path[128];

	snprintf(path, sizeof(path), VFMIG_SYSFS_MDEVS "/%s", uuid);
	return access(path, F_OK) < 0 && errno == ENOENT;
}

static void *remove_thread(void *uuid)
{
	long ret = vfmig_mdev_remove(st_ctx(), uuid);

	return (void *)ret;
}

/* Before @s goes: add the chunk copies its worker took to the phase's. */
static void collect_chunk_copies(const struct slot *s)
{
	uint64_t n;

	if (!knob_u64(s->uuid, "stat_chunk_copies", &n))
		phase_chunk_copies += n;
}

/* Remove the slot's device (from a thread while it is held), then create another. */
static void op_remove(struct ctx *c, struct slot *s)
{
	char path[128];
	pthread_t t;
	void *res;

	if (chance(&c->r, 4)) {
		/* Garbage to the remove file: anything but a removal. */
		static const char *const junk[] = { "0", "abc", "", "-1", "0x0" };
		const char *j = junk[rnd(&c->r, 5)];

		snprintf(path, sizeof(path), VFMIG_SYSFS_MDEVS "/%s/remove", s->uuid);
		raw_write(path, j, strlen(j));
		if (device_gone(s->uuid))
			FINDING("%s: removed by a junk write", s->uuid);
		return;
	}
	collect_chunk_copies(s);
	if (!slot_held(s)) {
		if (vfmig_mdev_remove(st_ctx(), s->uuid))
			FINDING("%s: remove of a closed device failed", s->uuid);
	} else {
		if (pthread_create(&t, NULL, remove_thread, s->uuid)) {
			FINDING("pthread_create");
			return;
		}
		sleep_ms(20 + rnd(&c->r, 30));
		/* remove waits for the last close: the device still answers. */
		if (s->open && !state_valid(state_of(&s->d)))
			FINDING("%s: device stopped answering while its remove waits", s->uuid);
		if (s->open)
			dev_close(&s->d);
		s->open = false;
		if (s->nmaps && chance(&c->r, 2)) {
			/* Touch what is still mapped while the remove waits. */
			for (unsigned int i = 0; i < s->nmaps; i++)
				touch(&c->r, &s->maps[i]);
		}
		unmap_all(s);
		pthread_join(t, &res);
		if (res)
			FINDING("%s: remove while open failed: %ld", s->uuid, (long)res);
	}
	s->exists = false;
	if (!device_gone(s->uuid))
		FINDING("%s: still present after remove", s->uuid);
	/* Its data file, if any, stays open as a dead end. */
	check_dfd_dead(s, "remove");
	if (slot_create(s))
		FINDING("re-create a %s device", s->type);
}

/*
 * A child inherits the fds and mappings and touches the mappings; half the
 * time the parent lets go of everything first, so the child's exit is the
 * last close (from exit_mmap and the fd table teardown).
 */
static void op_fork(struct ctx *c, struct slot *s)
{
	bool release = chance(&c->r, 2);
	uint32_t before = 0;
	int p[2], status;
	char x = 0;
	pid_t pid;

	if (!s->nmaps || pipe(p))
		return;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		for (unsigned int i = 0; i < s->nmaps; i++)
			touch(&c->r, &s->maps[i]);
		if (read(p[0], &x, 1) < 0)
			_exit(2);
		for (unsigned int i = 0; i < s->nmaps; i++)
			touch(&c->r, &s->maps[i]);
		_exit(0);
	}
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return;
	}
	if (release) {
		before = s->open ? state_of(&s->d) : sysfs_state(s);
		if (s->open)
			dev_close(&s->d);
		s->open = false;
		unmap_all(s);
	}
	if (write(p[1], &x, 1) != 1)
		FINDING("pipe to child");
	close(p[1]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		FINDING("%s: child with the device's mappings: status %#x", s->uuid, status);
	if (release)
		check_after_last_close(s, before);
}

static void op_unload(struct ctx *c, struct slot *slots)
{
	bool held = false;
	long ret;

	for (unsigned int i = 0; i < NSLOTS; i++)
		held |= slot_held(&slots[i]);
	if (!held && slot_open(&slots[rnd(&c->r, NSLOTS)]))
		return;
	ret = syscall(SYS_delete_module, chance(&c->r, 8) ? "vfmig_nonexistent" : "vfmig",
		      chance(&c->r, 2) ? O_NONBLOCK : 0);
	if (!ret) {
		FINDING("module unloaded while in use");
		return;
	}
	if (errno != EBUSY && errno != EWOULDBLOCK && errno != ENOENT)
		FINDING("delete_module while in use: %s", strerror(errno));
}

/* ---- a real migration between two fuzzed devices ---- */

#define MIG_CHECK(cond, what) do {						\
	if (!(cond)) {								\
		FINDING("migrate %s -> %s: %s (errno %d: %s)", a->uuid, b->uuid,	\
			what, errno, strerror(errno));				\
		goto out;							\
	}									\
} while (0)

static void op_migrate(struct ctx *c, struct slot *a, struct slot *b, unsigned int group)
{
	struct st_stream st = { 0 };
	uint64_t size = 0, pending, n, ca = 0, cb = 1;
	char v[32];

	slot_release(a);
	slot_release(b);
	a->rbase = b->rbase = false;
	MIG_CHECK(knob_write(a->uuid, "fault", "none") == 0 &&
		  knob_write(b->uuid, "fault", "none") == 0, "clear faults");
	MIG_CHECK(knob_u64(a->uuid, "state_size", &size) == 0, "state_size");
	snprintf(v, sizeof(v), "%" PRIu64, size);
	MIG_CHECK(knob_write(b->uuid, "state_size", v) == 0, "destination state_size");
	MIG_CHECK(knob_write(b->uuid, "dirty_rate", "0") == 0, "destination dirty_rate");
	MIG_CHECK(slot_open(a) == 0 && slot_open(b) == 0, "open");
	MIG_CHECK(ioctl(a->d.v.device, VFIO_DEVICE_RESET) == 0 &&
		  ioctl(b->d.v.device, VFIO_DEVICE_RESET) == 0, "reset");
	snprintf(v, sizeof(v), "%" PRIu64, rnd64(&c->r));
	MIG_CHECK(knob_write(a->uuid, "seed", v) == 0, "seed");
	/* A few pre-copy rounds, then stop-and-copy until nothing is pending. */
	MIG_CHECK(set_state(&a->d, VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) == 0,
		  "pre-copy");
	for (unsigned int i = rnd(&c->r, 8); i; i--)
		MIG_CHECK(st_save_chunk(&a->d, &st, false, &pending, &n) == 0, "pre-copy chunk");
	MIG_CHECK(set_state(&a->d, VFMIG_V1_STATE_SAVING) == 0, "stop-and-copy");
	do {
		MIG_CHECK(st_save_chunk(&a->d, &st, false, &pending, &n) == 0, "stop-and-copy chunk");
		MIG_CHECK(!pending || n, "no progress in stop-and-copy");
	} while (pending);
	MIG_CHECK(set_state(&a->d, VFMIG_V1_STATE_STOP) == 0, "source stop");
	MIG_CHECK(set_state(&b->d, VFMIG_V1_STATE_RESUMING) == 0, "resuming");
	MIG_CHECK(st_resume_split(&b->d, &st, false, NULL) >= 0, "resume");
	MIG_CHECK(set_state(&b->d, VFMIG_V1_STATE_STOP) == 0, "resume complete");
	MIG_CHECK(knob_u64(a->uuid, "checksum", &ca) == 0 &&
		  knob_u64(b->uuid, "checksum", &cb) == 0, "checksum");
	if (ca != cb)
		FINDING("migrate %s -> %s: checksums %016" PRIx64 " != %016" PRIx64, a->uuid,
			b->uuid, ca, cb);
	MIG_CHECK(set_state(&b->d, VFMIG_V1_STATE_RUNNING) == 0, "destination running");
	MIG_CHECK(set_state(&a->d, VFMIG_V1_STATE_RUNNING) == 0, "source running again");
	st_stream_free(&last_stream[group]);
	last_stream[group] = st;
	last_stream_ck[group] = ca;
	return;
out:
	st_stream_free(&st);
}

/* ---- protocol v2 ---- */

/* The v2 state that v1 state @v1 (and the P2P flag, unseen) shows as. */
static bool v2_matches(uint32_t v1, uint32_t v2)
{
	switch (v1 & VFMIG_V1_STATE_MASK) {
	case 0: return v2 == VFIO_DEVICE_STATE_STOP;
	case 1: return v2 == VFIO_DEVICE_STATE_RUNNING || v2 == VFIO_DEVICE_STATE_RUNNING_P2P;
	case 2: return v2 == VFIO_DEVICE_STATE_STOP_COPY;
	case 3: return v2 == VFIO_DEVICE_STATE_PRE_COPY || v2 == VFIO_DEVICE_STATE_PRE_COPY_P2P ||
		       (!have_pre_copy && v2 == 0xdead);	/* 6.1: no v2 name */
	case 4: return v2 == VFIO_DEVICE_STATE_RESUMING;
	case 6: return v2 == VFIO_DEVICE_STATE_ERROR;
	}
	return false;
}

static void op_v2_set(struct ctx *c, struct slot *s)
{
	uint32_t target = chance(&c->r, 8) ? (uint32_t)rnd64(&c->r) : rnd(&c->r, 9);
	uint32_t before = state_of(&s->d), after;
	bool bad = target == VFIO_DEVICE_STATE_ERROR || target > 7 ||
		   (target >= 6 && !have_pre_copy) || (before & 7) == VFMIG_V1_STATE_ERROR;

	/* 6.1, v1 pre-copy: a state v2 cannot name, refused as EBUSY first. */
	if (!have_pre_copy && (before & 7) == 3)
		bad = false;
	int fd = -1, ret;

	ret = v2_set(s->d.v.device, target, &fd);
	after = state_of(&s->d);
	if (fd >= 0) {
		if (ret)
			FINDING("%s: refused SET handed out fd %d", s->uuid, fd);
		drop_dfd(s);
		s->dfd = fd;
		s->has_dfd = true;
	}
	if (bad && ret != -EINVAL)
		FINDING("%s: v2 SET %u from %u: %s, not EINVAL", s->uuid, target, before,
			ret ? strerror(-ret) : "accepted");
	if (!ret && !v2_matches(after, target) && !(!have_pre_copy && (after & 7) == 3))
		FINDING("%s: v2 SET %u accepted, v1 state %u", s->uuid, target, after);
	if (!ret && v2_get(s->d.v.device) != target)
		FINDING("%s: v2 SET %u accepted, GET says %u", s->uuid, target,
			v2_get(s->d.v.device));
	/* Resume integrity as for v1 (op_state). */
	if (!ret && (before & 7) != VFMIG_V1_STATE_RESUMING && target == VFIO_DEVICE_STATE_RESUMING)
		enter_resuming(s);
	if (!ret && (before & 7) == VFMIG_V1_STATE_RESUMING &&
	    target != VFIO_DEVICE_STATE_RESUMING && s->rbase) {
		if (!s->replayed)
			FINDING("%s: v2 left RESUMING with no stream fed", s->uuid);
		s->rbase = false;
	}
}

static void op_v2_write(struct ctx *c, struct slot *s, const struct st_stream *st, uint64_t ck)
{
	uint32_t before = state_of(&s->d);
	ssize_t n;

	if (st->n && chance(&c->r, 2)) {
		/* A real stream, in pieces of any size. */
		bool ok = true;

		for (unsigned int i = 0; i < st->n && ok; i++) {
			uint64_t done = 0;

			while (ok && done < st->c[i].size) {
				uint64_t len = 1 + rnd(&c->r, st->c[i].size - done);

				n = write(s->dfd, st->c[i].data + done, len);
				ok = n > 0;
				done += ok ? (uint64_t)n : 0;
			}
		}
		if (ok && s->rbase) {
			s->replayed = true;
			s->replay_ck = ck;
		}
		return;
	}
	n = 1 + rnd(&c->r, chance(&c->r, 4) ? BUF_LEN : 512);
	fill_random(&c->r, c->buf, n);
	n = write(s->dfd, c->buf, n);
	/* Garbage refused on a live resuming file: the device is in ERROR. */
	if (n < 0 && errno == EINVAL && (before & 7) == VFMIG_V1_STATE_RESUMING &&
	    (state_of(&s->d) & 7) != VFMIG_V1_STATE_ERROR)
		FINDING("%s: refused resume write left state %u", s->uuid, state_of(&s->d));
}

/* A v1-only device offers no v2 feature: the core answers ENOTTY, hands out no file. */
static void op_v2_absent(struct ctx *c, struct slot *s)
{
	uint32_t target = rnd(&c->r, 9), got;
	uint64_t flags;
	int fd = -1, ret;

	ret = v2_flags(s->d.v.device, &flags);
	if (ret != -ENOTTY)
		FINDING("%s: v1 only, MIGRATION feature: %s", s->uuid,
			ret ? strerror(-ret) : "offered");
	ret = v2_set(s->d.v.device, target, &fd);
	if (ret != -ENOTTY || fd >= 0)
		FINDING("%s: v1 only, v2 SET %u: %s, fd %d", s->uuid, target,
			ret ? strerror(-ret) : "accepted", fd);
	if (fd >= 0)
		close(fd);
	got = v2_get(s->d.v.device);
	if (got != 0xdead)
		FINDING("%s: v1 only, v2 GET answered %u", s->uuid, got);
}

static void op_v2(struct ctx *c, struct slot *s, const struct st_stream *st, uint64_t ck)
{
	uint64_t initial, dirty;
	struct pollfd p;
	ssize_t n;
	size_t len;
	int ret;

	if (phase_v1_only) {
		op_v2_absent(c, s);
		return;
	}
	switch (rnd(&c->r, 10)) {
	case 0:
		if (!v2_matches(state_of(&s->d), v2_get(s->d.v.device)))
			FINDING("%s: v2 GET %u, v1 state %u", s->uuid, v2_get(s->d.v.device),
				state_of(&s->d));
		return;
	case 1:
	case 2:
	case 3:
		op_v2_set(c, s);
		return;
	}
	if (!s->has_dfd)
		return;
	switch (rnd(&c->r, 6)) {
	case 0:
	case 1:
		len = chance(&c->r, 2) ? rnd(&c->r, 64) : rnd(&c->r, BUF_LEN);
		n = read(s->dfd, c->buf, len);
		if (n > (ssize_t)len)
			FINDING("%s: read %zd of %zu", s->uuid, n, len);
		if (n < 0 && errno == ENOMSG && (state_of(&s->d) & 7) != 3)
			FINDING("%s: ENOMSG in state %u", s->uuid, state_of(&s->d));
		break;
	case 2:
		op_v2_write(c, s, st, ck);
		break;
	case 3:
		p = (struct pollfd){ .fd = s->dfd, .events = POLLIN | POLLOUT };
		if (poll(&p, 1, 0) < 0)
			FINDING("%s: poll on a data file: %s", s->uuid, strerror(errno));
		break;
	case 4:
		ret = v2_precopy_info(s->dfd, &initial, &dirty);
		if (ret && ret != -EINVAL && ret != -ENODEV && ret != -ENOTTY)
			FINDING("%s: PRECOPY_INFO: %s", s->uuid, strerror(-ret));
		if (!ret && (state_of(&s->d) & 7) != 3)
			FINDING("%s: PRECOPY_INFO answered in state %u", s->uuid, state_of(&s->d));
		break;
	default:
		drop_dfd(s);
		break;
	}
}

/*
 * Concurrent phase: v2 calls racing the other threads' v1 accesses, knob
 * writes and resets on one device; each thread has its own data file, so
 * no thread closes an fd another one uses.  Any errno goes, never a hang
 * (and on the debug kernel, never a lockdep or KASAN report).
 */
static void op_v2_racing(struct ctx *c, struct slot *s)
{
	uint64_t initial, dirty;
	struct pollfd p;
	int fd = -1;
	ssize_t n;

	switch (rnd(&c->r, 6)) {
	case 0:
	case 1:
		v2_set(s->d.v.device, rnd(&c->r, 9), &fd);
		if (fd >= 0) {
			if (c->dfd >= 0)
				close(c->dfd);
			c->dfd = fd;
		}
		return;
	case 2:
		if (c->dfd >= 0)
			n = read(c->dfd, c->buf, rnd(&c->r, 1 << 16));
		return;
	case 3:
		if (c->dfd >= 0) {
			n = 1 + rnd(&c->r, 4096);
			fill_random(&c->r, c->buf, n);
			n = write(c->dfd, c->buf, n);
		}
		return;
	case 4:
		if (c->dfd >= 0) {
			p = (struct pollfd){ .fd = c->dfd, .events = POLLIN | POLLOUT };
			poll(&p, 1, 0);
			v2_precopy_info(c->dfd, &initial, &dirty);
		}
		return;
	default:
		v2_get(s->d.v.device);
		if (c->dfd >= 0 && chance(&c->r, 3)) {
			close(c->dfd);
			c->dfd = -1;
		}
		return;
	}
}

/* ---- phases ---- */

static const char *const slot_types[NSLOTS] = {
	"vfmig-small", "vfmig-small", "vfmig-large", "vfmig-large"
};

static enum op_kind pick_op(struct rng *r)
{
	unsigned int total = 0, x;

	for (int k = 0; k < NR_OPS; k++)
		total += op_weight[k];
	x = rnd(r, total);
	for (int k = 0; k < NR_OPS; k++) {
		if (x < op_weight[k])
			return k;
		x -= op_weight[k];
	}
	return OP_RW;
}

/* Ops that need the fd open; when it is not, the op opens it instead. */
static bool needs_fd(enum op_kind k)
{
	return k == OP_RW || k == OP_STATE || k == OP_RESUME || k == OP_MMAP ||
	       k == OP_IOCTL || k == OP_RESET || k == OP_V2;
}

static void print_counts(const char *phase, unsigned long ops, double secs)
{
	char line[1024];
	int n = 0;

	tap_diag("%s: %lu ops in %.1f s, %.0f ops/s", phase, ops, secs, ops / (secs > 0 ? secs : 1));
	for (int k = 0; k < NR_OPS; k++)
		n += snprintf(line + n, sizeof(line) - n, "%s%s %lu", k ? ", " : "", op_names[k],
			      atomic_load(&op_count[k]));
	tap_diag("%s: by kind: %s", phase, line);
	tap_diag("%s: so far %lu opens with a direct window, %lu touches of one refused (SIGBUS)",
		 phase, atomic_load(&window_opens), atomic_load(&window_sigbus));
}

/*
 * Besides the alarm on every operation, a phase as a whole must not crawl:
 * ten times what 200 ops/s would take, at least 10 minutes.
 */
static double phase_budget(unsigned long ops)
{
	return ops / 20.0 > 600 ? ops / 20.0 : 600;
}

static uint64_t fuzz_seed(void)
{
	return env_u64("VFMIG_FUZZ_SEED", DEFAULT_SEED);
}

static unsigned long fuzz_ops(void)
{
	return (unsigned long)env_u64("VFMIG_FUZZ_OPS", DEFAULT_OPS);
}

static int test_load(void)
{
	st_remove_all();
	CHECK(st_load_module("max_devices=8") == 0, "load");
	tap_diag("seed %" PRIu64 " (%#" PRIx64 "), %lu ops; reproduce with VFMIG_FUZZ_SEED=%" PRIu64
		 " VFMIG_FUZZ_OPS=%lu", fuzz_seed(), fuzz_seed(), fuzz_ops(), fuzz_seed(), fuzz_ops());
	return TAP_PASS;
}

/* Every counter a phase reports, back to 0. */
static void phase_start(void)
{
	for (int k = 0; k < NR_OPS; k++)
		atomic_store(&op_count[k], 0);
	atomic_store(&findings, 0);
	atomic_store(&resume_checks, 0);
	phase_chunk_copies = 0;
}

/* After operation @i of kind @k on @s: its state and checksum, if traced. */
static void trace_op(unsigned long i, enum op_kind k, struct slot *s)
{
	uint64_t ck = 0;

	if (!traced(s->uuid))
		return;
	knob_u64(s->uuid, "checksum", &ck);
	tap_diag("trace: op %lu %s: %s, state %#x, checksum %016" PRIx64 ", maps %u%s", i,
		 op_names[k], s->open ? "open" : "closed", sysfs_state(s), ck, s->nmaps,
		 s->rbase ? ", resume watched" : "");
}

/*
 * A single-threaded phase: @ops operations from @seed over NSLOTS devices
 * (named from @uuid_base on), offering what phase_v1_only says.
 */
static int run_single(const char *phase, uint64_t seed, unsigned long ops, unsigned int uuid_base)
{
	unsigned long i;
	struct slot slots[NSLOTS] = { 0 };
	uint64_t digest = 0;	/* of the operation sequence: equal seeds, equal digests */
	struct rng seq = { seed };
	struct ctx c;
	double t0;

	phase_start();
	st_remove_all();
	uuid_counter = uuid_base;
	trace_uuid = getenv("VFMIG_FUZZ_TRACE");
	CHECK(ctx_init(&c, seed, true), "memory");
	have_pre_copy = v2_kernel_has_pre_copy();
	for (unsigned int k = 0; k < NSLOTS; k++) {
		slots[k].type = slot_types[k];
		CHECK(slot_create(&slots[k]) == 0, "create slot %u", k);
	}
	CHECK(load_knob_names(slots[0].uuid) == 0, "knob names");
	tap_diag("%s: seed %" PRIu64 ", %lu ops, %u knobs", phase, seed, ops, nr_knobs);
	t0 = now_s();
	for (i = 0; i < ops; i++) {
		/*
		 * The sequence of (kind, device, inner seed) comes from its own
		 * stream: what an operation draws depends on what the device
		 * answered, and must not shift the operations after it.
		 */
		enum op_kind k = pick_op(&seq), drawn = k;
		struct slot *s = &slots[rnd(&seq, NSLOTS)];

		c.r.s = rnd64(&seq);

		alarm(OP_TIMEOUT);
		if (now_s() - t0 > phase_budget(ops)) {
			tap_diag("%s: over its %.0f s budget after %lu ops", phase,
				 phase_budget(ops), i);
			break;
		}
		if (needs_fd(k) && !s->open)
			k = OP_OPEN;
		switch (k) {
		case OP_RW:
			op_rw(&c, s);
			break;
		case OP_STATE:
			op_state(&c, s);
			break;
		case OP_RESUME:
			op_resume(&c, s, &last_stream[(s - slots) / 2], last_stream_ck[(s - slots) / 2]);
			break;
		case OP_MMAP: {
			struct map m;

			if (op_mmap(&c, s, &m)) {
				if (s->nmaps < MAXMAPS)
					s->maps[s->nmaps++] = m;
				else
					munmap(m.p, m.len);
			}
			break;
		}
		case OP_TOUCH:
			if (s->nmaps)
				touch(&c.r, &s->maps[rnd(&c.r, s->nmaps)]);
			break;
		case OP_MUNMAP:
			if (s->nmaps) {
				unsigned int m = rnd(&c.r, s->nmaps);
				uint32_t before = s->open ? 0 : sysfs_state(s);

				if (s->maps[m].len > PAGE && chance(&c.r, 3)) {
					/* Unmap the first page only. */
					munmap(s->maps[m].p, PAGE);
					s->maps[m].p += PAGE;
					s->maps[m].len -= PAGE;
				} else {
					munmap(s->maps[m].p, s->maps[m].len);
					s->maps[m] = s->maps[--s->nmaps];
					if (!slot_held(s))
						check_after_last_close(s, before);
				}
			}
			break;
		case OP_IOCTL:
			op_ioctl(&c, s);
			break;
		case OP_RESET:
			op_reset(&c, s);
			break;
		case OP_KNOB:
			fuzz_knob(&c.r, s, slot_held(s), true, (char *)c.buf, BUF_LEN);
			break;
		case OP_KNOB_READ:
			op_knob_read(&c, s);
			break;
		case OP_PARAM:
			op_param(&c);
			break;
		case OP_OPEN:
			if (!s->open)
				slot_open(s);
			break;
		case OP_CLOSE:
			slot_close(s);
			break;
		case OP_REMOVE:
			op_remove(&c, s);
			break;
		case OP_UNLOAD:
			op_unload(&c, slots);
			break;
		case OP_FORK:
			op_fork(&c, s);
			break;
		case OP_V2:
			op_v2(&c, s, &last_stream[(s - slots) / 2], last_stream_ck[(s - slots) / 2]);
			break;
		case OP_MIGRATE: {
			unsigned int a = rnd(&c.r, NSLOTS), b = a ^ 1;	/* same type */

			op_migrate(&c, &slots[a], &slots[b], a / 2);
			trace_op(i, k, &slots[a]);
			trace_op(i, k, &slots[b]);
			break;
		}
		default:
			break;
		}
		count(k);
		digest = (digest ^ ((uint64_t)drawn << 8 | (uint64_t)(s - slots))) * 0x100000001b3ULL;
		trace_op(i, k, s);
	}
	alarm(OP_TIMEOUT * 4);
	for (unsigned int k = 0; k < NSLOTS; k++) {
		slot_release(&slots[k]);
		collect_chunk_copies(&slots[k]);
	}
	print_counts(phase, i, now_s() - t0);
	tap_diag("%s: sequence digest %016" PRIx64, phase, digest);
	print_findings(phase);
	for (unsigned int k = 0; k < NSLOTS / 2; k++)
		st_stream_free(&last_stream[k]);
	tap_diag("%s: %lu resume endings checked (old state, cleared or the stream's)", phase,
		 atomic_load(&resume_checks));
	tap_diag("%s: %" PRIu64 " chunk copies on the devices' workers", phase,
		 phase_chunk_copies);
	ctx_free(&c);
	CHECK(i == ops, "%lu of %lu ops", i, ops);
	/* A run this long ends resumes (61 at 2,500 ops): the rule must have been checked. */
	CHECK(ops < 1000 || atomic_load(&resume_checks) > 0, "no resume ending checked in %lu ops",
	      ops);
	CHECK(atomic_load(&findings) == 0, "%lu findings (seed %" PRIu64 ")",
	      atomic_load(&findings), seed);
	return TAP_PASS;
}

static int test_fuzz_single(void)
{
	phase_v1_only = false;
	return run_single("single-threaded", fuzz_seed(), fuzz_ops(), 0);
}

/*
 * The same mix on v1-only devices with chunk_offload: a short run may not
 * reach a save or resume, a default one must have kept the workers copying.
 */
static int test_fuzz_v1_chunk_offload(void)
{
	unsigned long ops = fuzz_ops() / 4;
	int ret;

	phase_v1_only = true;
	ret = run_single("v1 chunk_offload", fuzz_seed() ^ 0x0ff10adULL, ops, 0x400);
	phase_v1_only = false;
	if (ret != TAP_PASS)
		return ret;
	CHECK(phase_chunk_copies > 0 || ops < 1000, "%lu ops and no chunk copy on a worker",
	      ops);
	return TAP_PASS;
}

/* ---- concurrent bursts ---- */

#define THREADS		5
#define BURST_OPS	100	/* per thread */

struct burst_thread {
	pthread_t t;
	struct ctx c;
	struct slot *s;
};

static void *burst_run(void *arg)
{
	struct burst_thread *bt = arg;
	struct ctx *c = &bt->c;
	struct slot *s = bt->s;

	for (unsigned int i = 0; i < BURST_OPS; i++) {
		enum op_kind k;

		switch (rnd(&c->r, 13)) {
		case 0: case 1: case 2:
			k = OP_RW;
			op_rw(c, s);
			break;
		case 12:
			k = OP_V2;
			op_v2_racing(c, s);
			break;
		case 3: case 4:
			k = OP_STATE;
			op_state(c, s);
			break;
		case 5:
			k = OP_RESUME;
			op_resume(c, s, NULL, 0);
			break;
		case 6: {
			struct map m;

			k = OP_MMAP;
			if (op_mmap(c, s, &m)) {
				if (c->nmaps < MAXMAPS)
					c->maps[c->nmaps++] = m;
				else
					munmap(m.p, m.len);
			}
			if (c->nmaps && chance(&c->r, 2)) {
				unsigned int j = rnd(&c->r, c->nmaps);

				touch(&c->r, &c->maps[j]);
				if (chance(&c->r, 2)) {
					munmap(c->maps[j].p, c->maps[j].len);
					c->maps[j] = c->maps[--c->nmaps];
				}
			}
			break;
		}
		case 7:
			k = OP_IOCTL;
			op_ioctl(c, s);
			break;
		case 8:
			k = OP_RESET;
			op_reset(c, s);
			break;
		case 9: case 10:
			k = OP_KNOB;
			fuzz_knob(&c->r, s, true, false, (char *)c->buf, BUF_LEN);
			break;
		default:
			k = OP_KNOB_READ;
			op_knob_read(c, s);
			break;
		}
		count(k);
		c->ops++;
	}
	/* Mappings outlive the burst's fd on purpose: released by the main thread. */
	return NULL;
}

static int test_fuzz_concurrent(void)
{
	uint64_t seed = fuzz_seed() ^ 0xc0c0c0c0c0c0c0c0ULL;
	unsigned long want = fuzz_ops() / 4, done = 0;
	unsigned int bursts = (want + THREADS * BURST_OPS - 1) / (THREADS * BURST_OPS);
	struct burst_thread bt[THREADS];
	/* 16 MiB: seed fills take several steps, so bursts meet them. */
	struct slot s = { .type = "vfmig-large", .big = true };
	struct rng r = { seed };
	double t0 = now_s();

	phase_start();
	st_remove_all();
	uuid_counter = 0x800;
	CHECK(slot_create(&s) == 0, "create");
	CHECK(load_knob_names(s.uuid) == 0, "knob names");
	for (unsigned int b = 0; b < bursts; b++) {
		bool do_remove = chance(&r, 3);
		unsigned int mode;
		pthread_t rt;
		void *res;

		alarm(OP_TIMEOUT * 4);
		CHECK(now_s() - t0 < phase_budget(want), "concurrent: over its %.0f s budget after "
		      "%u bursts", phase_budget(want), b);
		/*
		 * A third of the bursts race binds, zaps and faults of a direct
		 * window, a third the worker's chunk copies (v1 only).
		 */
		mode = rnd(&r, 3);
		knob_write(s.uuid, "data_window", mode == 1 ? "direct" : "staged");
		knob_write(s.uuid, "protocol", mode == 2 ? "v1" : "both");
		knob_write(s.uuid, "chunk_offload", mode == 2 ? "1" : "0");
		if (slot_open(&s))
			return TAP_FAIL;
		for (unsigned int t = 0; t < THREADS; t++) {
			bt[t].s = &s;
			CHECK(ctx_init(&bt[t].c, rnd64(&r), false), "memory");
			CHECK(pthread_create(&bt[t].t, NULL, burst_run, &bt[t]) == 0, "thread");
		}
		if (do_remove) {
			sleep_ms(rnd(&r, 50));
			CHECK(pthread_create(&rt, NULL, remove_thread, s.uuid) == 0, "thread");
		}
		for (unsigned int t = 0; t < THREADS; t++) {
			pthread_join(bt[t].t, NULL);
			done += bt[t].c.ops;
		}
		dev_close(&s.d);
		s.open = false;
		for (unsigned int t = 0; t < THREADS; t++)
			ctx_free(&bt[t].c);	/* the last mapping goes: last close */
		if (do_remove) {
			pthread_join(rt, &res);
			CHECK(!res && device_gone(s.uuid), "remove during a burst");
			s.exists = false;
			CHECK(slot_create(&s) == 0, "re-create");
		} else {
			uint32_t st = sysfs_state(&s);

			if (st != 0 && st != 1 && st != 6)
				FINDING("%s: state %u after the burst's last close", s.uuid, st);
		}
	}
	alarm(OP_TIMEOUT * 4);
	print_counts("concurrent", done, now_s() - t0);
	tap_diag("concurrent: %u bursts of %d threads x %d ops", bursts, THREADS, BURST_OPS);
	print_findings("concurrent");
	st_remove_all();
	CHECK(atomic_load(&findings) == 0, "%lu findings (seed %" PRIu64 ")",
	      atomic_load(&findings), fuzz_seed());
	return TAP_PASS;
}

/* ---- the end: clean, accounted, still working ---- */

static int counters_zero(const char *when)
{
	long objects = -1, bytes = -1;

	/* The last reference to a removed device may be dropped just after. */
	for (int i = 0; i < 50; i++) {
		if (st_read_param("live_objects", &objects) || st_read_param("live_bytes", &bytes))
			break;
		if (!objects && !bytes)
			break;
		sleep_ms(100);
	}
	tap_diag("%s: live_objects %ld, live_bytes %ld", when, objects, bytes);
	return !objects && !bytes ? 0 : -1;
}

static int test_all_removed(void)
{
	struct vfmig_mdev devs[16];
	char buf[32];
	int n;

	alarm(60);
	st_remove_all();
	n = vfmig_mdev_list(st_ctx(), devs, 16);
	CHECK(n == 0, "%d devices left", n);
	CHECK(vfmig_sysfs_read("/sys/module/vfmig/refcnt", buf, sizeof(buf)) == 0 &&
	      !strcmp(buf, "0"), "module refcnt %s", buf);
	CHECK(counters_zero("after the fuzz") == 0, "allocation counters not back to 0");
	return TAP_PASS;
}

/* Where the vfmig CLI is: $VFMIG_CLI, else <top>/user/build/vfmig. */
static int cli_path(char *buf, size_t len)
{
	const char *env = getenv("VFMIG_CLI");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return snprintf(buf, len, "%s", env) >= (int)len ? -1 : 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -1;
	exe[n] = '\0';
	for (int i = 0; i < 4; i++) {	/* tests/selftests/build/fuzz_test */
		char *slash = strrchr(exe, '/');

		if (!slash)
			return -1;
		*slash = '\0';
	}
	return snprintf(buf, len, "%s/user/build/vfmig", exe) >= (int)len ? -1 : 0;
}

static int test_migrate_after(void)
{
	char a[VFMIG_UUID_LEN + 1], b[VFMIG_UUID_LEN + 1], cli[PATH_MAX], log[PATH_MAX];
	uint64_t ca = 0, cb = 1, sa = 9, sb = 9;
	int status = 0;
	bool ok;
	pid_t pid;

	alarm(300);
	CHECK(cli_path(cli, sizeof(cli)) == 0 && access(cli, X_OK) == 0, "no vfmig CLI at %s", cli);
	CHECK(st_create("vfmig-large", 0xf00, a) == 0 && st_create("vfmig-large", 0xf01, b) == 0,
	      "create a fresh pair");
	CHECK(knob_write(a, "state_size", "2097152") == 0 &&
	      knob_write(b, "state_size", "2097152") == 0 && knob_write(a, "seed", "77") == 0 &&
	      knob_write(a, "dirty_rate", "1048576") == 0, "set up");
	snprintf(log, sizeof(log), "%s/fuzz_test.migrate.%d", getenv("TMPDIR") ? getenv("TMPDIR") :
		 "/tmp", (int)getpid());
	pid = fork();
	if (pid == 0) {
		int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		/* Progress and errors into a file: not TAP; shown if it fails. */
		dup2(out, 1);
		dup2(out, 2);
		execl(cli, cli, "migrate", "--from", a, "--to", b, (char *)NULL);
		_exit(127);
	}
	ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	     WEXITSTATUS(status) == 0;
	if (!ok) {
		char line[512];
		FILE *f = fopen(log, "r");

		while (f && fgets(line, sizeof(line), f))
			tap_diag("vfmig: %s", strtok(line, "\n") ? line : "");
		if (f)
			fclose(f);
	}
	unlink(log);
	CHECK(ok, "vfmig migrate --from %s --to %s: status %#x", a, b, status);
	CHECK(knob_u64(a, "checksum", &ca) == 0 && knob_u64(b, "checksum", &cb) == 0 && ca == cb,
	      "checksums %016" PRIx64 " vs %016" PRIx64, ca, cb);
	CHECK(knob_u64(a, "device_state", &sa) == 0 && knob_u64(b, "device_state", &sb) == 0 &&
	      sa == 0 && sb == 1, "source state %" PRIu64 ", destination %" PRIu64, sa, sb);
	tap_diag("fresh pair migrated after the fuzz: checksum %016" PRIx64 " on both", ca);
	st_remove_all();
	CHECK(counters_zero("after the fresh pair") == 0, "allocation counters not back to 0");
	return TAP_PASS;
}

static int test_unload(void)
{
	alarm(60);
	CHECK(st_test_unload() == TAP_PASS, "unload");
	CHECK(!vfmig_module_is_loaded(), "vfmig still loaded");
	return TAP_PASS;
}

static const struct tap_test tests[] = {
	TAP_TEST(test_load),
	TAP_TEST(test_fuzz_single),
	TAP_TEST(test_fuzz_v1_chunk_offload),
	TAP_TEST(test_fuzz_concurrent),
	TAP_TEST(test_all_removed),
	TAP_TEST_TIMEOUT(test_migrate_after, 300),
	TAP_TEST(test_unload),
};

int main(void)
{
	signal(SIGBUS, on_sigbus);
	return tap_run("fuzz", tests, TAP_COUNT(tests));
}
