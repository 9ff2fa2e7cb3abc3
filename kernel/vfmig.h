/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vfmig: internal definitions shared by the module's source files.
 *
 * One struct vfmig_dev per mdev.  Its mutex serialises everything user space
 * can reach (region accesses, ioctls, sysfs, open/close) so each handler sees
 * a consistent device.
 */
#ifndef VFMIG_H
#define VFMIG_H

#include <linux/bits.h>
#include <linux/ktime.h>
#include <linux/mdev.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/types.h>
#include <linux/vfio.h>
#include <linux/workqueue.h>

#include "vfmig/abi.h"
#include "hasher.h"
#include "payload_fmt.h"

#define VFMIG_STATE_SIZE_MIN	(4ULL << 10)
#define VFMIG_STATE_SIZE_MAX	(2ULL << 30)
/* A seed write fills this much per hold of the device lock. */
#define VFMIG_FILL_STEP		(4ULL << 20)
/* dirty_rate bound: keeps the generator's arithmetic far from overflow. */
#define VFMIG_DIRTY_RATE_MAX	BIT_ULL(36)

/* A direct data window's size: the data section's last 4 MiB (window.c). */
#define VFMIG_WINDOW_MAX	min_t(u64, SZ_4M, VFMIG_PAYLOAD_MAX_RUN_PAGES * PAGE_SIZE)

/* Migration region: header page, then the data section. */
#define VFMIG_DATA_START	PAGE_SIZE
#define VFMIG_DATA_SIZE_MIN	PAGE_SIZE
#define VFMIG_DATA_SIZE_MAX	(64ULL << 20)
/* An mmap page offset's page within its region (the region index above). */
#define VFMIG_REGION_PGOFF_MASK	((VFMIG_REGION_OFFSET(1) >> PAGE_SHIFT) - 1)

/* How the data section may be mmapped. */
enum vfmig_layout {
	VFMIG_LAYOUT_NONE,		/* all trapped */
	VFMIG_LAYOUT_WHOLE,		/* one area: the whole data section */
	VFMIG_LAYOUT_SPARSE,		/* N areas with trapped gaps between */
};

/* Where data_offset points from chunk to chunk. */
enum vfmig_policy {
	VFMIG_POLICY_FIXED,		/* always the first window */
	VFMIG_POLICY_ROTATE,		/* cycle through the mmap areas */
	VFMIG_POLICY_GAP,		/* inside trapped gaps */
	VFMIG_POLICY_STRADDLE,		/* half in an area, half in the gap after it */
};

/* What data_offset may point at (sysfs "data_window"); see window.c. */
enum vfmig_data_window {
	VFMIG_WINDOW_STAGED,		/* copies staged in the data section (default) */
	VFMIG_WINDOW_DIRECT,		/* PAGES payloads in device memory itself */
};

/* What the direct window's pages stand for now. */
enum vfmig_bind_kind {
	VFMIG_BIND_NONE,		/* staging memory, like the rest of the section */
	VFMIG_BIND_SAVE,		/* a save's chunk of device memory: read-only */
	VFMIG_BIND_RESUME,		/* a resume's next payload bytes: write-only */
};

/* Region bytes [start, region end) are device memory from mem_off on. */
struct vfmig_bind {
	enum vfmig_bind_kind kind;
	u64 start;
	u64 mem_off;
};

/* Which VFIO migration protocols the device offers (sysfs "protocol"). */
enum vfmig_protocol {
	VFMIG_PROTO_V1,			/* the v1 region only (default) */
	VFMIG_PROTO_V2,			/* the v2 feature only */
	VFMIG_PROTO_BOTH,		/* both at once */
};

/* What a seed write fills device memory with (sysfs "fill"). */
enum vfmig_fill_kind {
	VFMIG_FILL_RANDOM,		/* every word from the seed (default) */
	VFMIG_FILL_ZERO,		/* every page zero */
	VFMIG_FILL_ZERO_PCT,		/* pct% of pages zero, the rest random */
	VFMIG_FILL_PATTERN,		/* every word the 64-bit pattern */
};

struct vfmig_fill {
	enum vfmig_fill_kind kind;
	unsigned int pct;		/* VFMIG_FILL_ZERO_PCT: 0..100 */
	u64 pattern;			/* VFMIG_FILL_PATTERN, stored little-endian */
	unsigned int digits;		/* hex digits written, so reads match */
};

/* An mdev type: what differs between kinds of vfmig device. */
struct vfmig_type {
	struct mdev_type type;		/* embedded; mdev core points at it */
	const char *description;
	u32 code;			/* identifies the type in the payload */
	u64 state_size;			/* default device memory size */
	u64 data_size;			/* default data section size */
	enum vfmig_layout layout;
	unsigned int nr_areas;		/* for VFMIG_LAYOUT_SPARSE */
};

/* Configuration user space may change while the device is closed. */
struct vfmig_config {
	u64 data_size;
	enum vfmig_layout layout;
	unsigned int nr_areas;
	enum vfmig_policy policy;
	enum vfmig_data_window window;
};

/* A span of the migration region (offsets relative to its start). */
struct vfmig_span {
	u64 offset;
	u64 size;
};

/*
 * Where the mmap areas and data_offset windows are, from the config; with a
 * direct window, run is the data section's tail (also the last area, if any
 * are mapped), else empty.
 */
struct vfmig_geometry {
	unsigned int nr_areas;
	struct vfmig_span areas[VFMIG_MAX_AREAS];
	unsigned int nr_windows;
	struct vfmig_span windows[VFMIG_MAX_AREAS];
	struct vfmig_span run;
};

/* Faults user space can arm through sysfs; each fires once. */
enum vfmig_fault {
	VFMIG_FAULT_NONE,
	VFMIG_FAULT_TRANSITION,		/* next device_state write: internal error */
	VFMIG_FAULT_SAVE_CHUNK,		/* next data_offset read while saving fails */
	VFMIG_FAULT_SHORT_CHUNK,	/* next staged chunk loses its tail */
	VFMIG_FAULT_RESUME_CHUNK,	/* next data_size write while resuming fails */
	VFMIG_FAULT_SLOW_WORKER,	/* next session's worker waits before each job */
};

struct vfmig_dev_stats {
	u64 bytes_dirtied;
	u64 bytes_saved;
	u64 bytes_restored;
	u64 chunks_saved;
	u64 chunks_restored;
	u64 bytes_lent;			/* device memory a v2 splice lent to a pipe */
	u64 iterations;			/* passes over memory while saving */
};

/* Save side: the device serialises its state into a record stream. */
struct vfmig_save {
	bool active;
	unsigned long *dirty;		/* one bit per page of device memory */
	unsigned int dirty_bits;	/* its size, for the accounting */
	size_t page_hash_size;		/* bytes, as allocated */
	u64 nr_dirty;
	u64 cursor;			/* next page to look at */
	u32 seq;			/* next record sequence number */
	bool header_sent, end_sent;
	bool sparse;			/* the HEADER said version 5: SPARSE records may come */
	u8 *rec;			/* record being emitted, unless built in place */
	size_t rec_size;		/* its allocation: the longest record built */
	u32 rec_len, rec_pos;
	const u8 *src;			/* PAGES payload still in memory, or NULL */
	__le64 *page_hash;		/* per page, as last sent; see payload.c */
	bool wrapped;			/* the first pass over memory is done */
	bool staged;			/* a chunk waits for its ack */
	bool run_staged;		/* ...and it is device memory, bound (window.c) */
	u64 staged_offset, staged_size;
	unsigned int window;		/* next window (or chunk slot) index */
	/*
	 * chunk_offload: the chunk after the one handed out is staged ahead,
	 * its copies out of device memory on the device's worker, done once
	 * the worker reaches ahead_mark (migration.c).
	 */
	bool ahead_on;
	bool ahead;
	u64 ahead_offset, ahead_size;
	unsigned int ahead_mark;
};

/*
 * chunk_offload, resuming: chunks of the data section the worker may still
 * be copying into device memory, oldest first (migration.c).
 */
#define VFMIG_BUSY_CHUNKS	8

struct vfmig_busy_chunk {
	u64 start, end;			/* region offsets */
	unsigned int mark;		/* its copies are done once the worker reaches it */
};

struct vfmig_resume_pipe {
	bool on;
	unsigned int nr;
	struct vfmig_busy_chunk busy[VFMIG_BUSY_CHUNKS];
};

/*
 * struct vfmig_resume (the resume side's record parser) and struct
 * vfmig_regs are in payload_fmt.h, shared with the host build of the parser.
 */

struct vfmig_dev {
	struct vfio_device vdev;	/* must be first: vfio_alloc_device() */
	const struct vfmig_type *type;

	struct mutex lock;		/* protects everything below */
	bool opened;			/* user space holds the device open */
	bool filling;			/* a seed write is filling memory */
	/*
	 * Memory holds a verified resume that never ran: a stream that may
	 * also run at its source (resume_held, read by vfmig recover).
	 */
	bool resume_held;
	unsigned int hashing;		/* checksum reads walking memory */

	/* Device state: memory plus registers; see state.c. */
	void *mem;
	u64 mem_size;
	struct vfmig_regs regs;
	struct vfmig_fill fill;		/* what the next seed write fills */
	/*
	 * Per page, set: known all zero (fresh, filled or resumed so), so a
	 * save need not look at it and a resume need not zero it again.
	 * Clear: not known; every writer of memory clears or sets its pages.
	 */
	unsigned long *zero_map;

	/* VFIO protocol v1 device_state (VFMIG_V1_STATE_*). */
	u32 device_state;
	u32 state_reserved_bits;	/* bits 3-31 as last written */

	struct vfmig_config cfg;
	u64 region_size;
	struct vfmig_geometry geo;
	u8 *data;			/* data section, vmalloc_user */
	/*
	 * The direct window's binding and the address space of the region's
	 * mappings, which its zaps go through: written under lock and
	 * window_lock, read under either (window.c).
	 */
	struct mutex window_lock;
	struct vfmig_bind bind;
	bool window_mapped;		/* PTEs may exist since the last zap */
	struct address_space *map_mapping;

	struct vfmig_save save;
	struct vfmig_resume resume;
	/*
	 * Page hashes on a worker (hasher.c), for the sessions that start
	 * while hash_offload is set; else in the thread moving the bytes.
	 */
	bool hash_offload;
	/*
	 * chunk_offload: v1 sessions that start while it is set copy their
	 * chunks on the same worker too, one chunk ahead of user space.
	 */
	bool chunk_offload;
	struct vfmig_hasher hasher;
	struct vfmig_resume_pipe rpipe;

	/* Protocol v2; see migration_v2.c and datafile.c. */
	enum vfmig_protocol protocol;	/* changes only while closed */
	bool p2p;			/* v2 RUNNING_P2P / PRE_COPY_P2P */
	struct vfmig_datafile *mig_file;	/* the live data file, if any */
	enum vfmig_fault fault;
	struct vfmig_dev_stats stats;

	/* Dirty generation; see dirty.c. */
	u64 dirty_rate;			/* bytes per second, 0 = off */
	u64 dirty_working_set;		/* bytes, 0 = all memory */
	u64 dirty_cursor;
	u64 dirty_carry;		/* bytes owed from earlier ticks */
	ktime_t dirty_last;
	struct delayed_work dirty_work;

	/* PCI face; see pci.c. */
	u8 config[VFMIG_PCI_CONFIG_SIZE];
};

static inline struct vfmig_dev *vdev_to_vfmig(struct vfio_device *vdev)
{
	return container_of(vdev, struct vfmig_dev, vdev);
}

/* state.c: device memory and its checksum. */
int vfmig_state_alloc(struct vfmig_dev *vd, u64 size);
void vfmig_state_free(struct vfmig_dev *vd);
void vfmig_state_fill(struct vfmig_dev *vd, u64 seed, u64 offset, u64 len);
bool vfmig_fill_page_zero(const struct vfmig_fill *f, u64 seed, u64 page);
int vfmig_fill_parse(const char *buf, struct vfmig_fill *f);
ssize_t vfmig_fill_show(const struct vfmig_fill *f, char *buf);
void vfmig_state_set_seed(struct vfmig_dev *vd, u64 seed);
void vfmig_state_clear(struct vfmig_dev *vd);
u64 vfmig_state_checksum(struct vfmig_dev *vd);

/* pci.c: config space, BAR0 and the standard VFIO PCI ioctls. */
void vfmig_pci_init(struct vfmig_dev *vd);
void vfmig_pci_reset(struct vfmig_dev *vd);
ssize_t vfmig_pci_config_rw(struct vfmig_dev *vd, char __user *ubuf,
			    size_t count, u64 off, bool is_write);
ssize_t vfmig_pci_bar0_rw(struct vfmig_dev *vd, char __user *ubuf,
			  size_t count, u64 off, bool is_write);
long vfmig_pci_ioctl(struct vfmig_dev *vd, unsigned int cmd,
		     unsigned long arg);

/* layout.c: data section size, mmap areas, data_offset windows, mmap. */
int vfmig_layout_apply(struct vfmig_dev *vd, const struct vfmig_config *cfg);
void vfmig_layout_free(struct vfmig_dev *vd);
long vfmig_layout_region_info(struct vfmig_dev *vd, struct vfio_region_info *info,
			      void __user *uarg);
int vfmig_layout_mmap(struct vfmig_dev *vd, struct vm_area_struct *vma);
const char *vfmig_layout_name(enum vfmig_layout l);
const char *vfmig_policy_name(enum vfmig_policy p);
unsigned int vfmig_layout_slots(const struct vfmig_geometry *g);
struct vfmig_span vfmig_layout_next_slot(const struct vfmig_geometry *g, unsigned int *i);
struct vfmig_span vfmig_layout_next_window(const struct vfmig_geometry *g, unsigned int *i);
int vfmig_layout_parse(const char *buf, enum vfmig_layout *l, unsigned int *n);
int vfmig_policy_parse(const char *buf, enum vfmig_policy *p);

static inline bool vfmig_has_v1(const struct vfmig_dev *vd)
{
	return vd->protocol != VFMIG_PROTO_V2;
}

static inline bool vfmig_has_v2(const struct vfmig_dev *vd)
{
	return vd->protocol != VFMIG_PROTO_V1;
}

/* migration.c: the v1 migration region and the state machine both protocols drive. */
int vfmig_mig_change_state(struct vfmig_dev *vd, u32 value);
ssize_t vfmig_mig_rw(struct vfmig_dev *vd, char __user *ubuf, size_t count,
		     u64 off, bool is_write);
void vfmig_mig_reset(struct vfmig_dev *vd);
void vfmig_mig_enter_error(struct vfmig_dev *vd);
bool vfmig_chunk_offload_on(struct vfmig_dev *vd);
void vfmig_mig_close(struct vfmig_dev *vd);
void vfmig_mig_free(struct vfmig_dev *vd);
const char *vfmig_state_name(u32 state);

/* payload.c: the record stream the device saves and validates on resume. */
int vfmig_payload_next(struct vfmig_dev *vd, u8 *dst, u64 room);
int vfmig_payload_next_fit(struct vfmig_dev *vd, u8 *dst, u64 room);
int vfmig_payload_next_ref(struct vfmig_dev *vd);
int vfmig_payload_next_run(struct vfmig_dev *vd, u32 max_pages);
void vfmig_payload_stage(struct vfmig_dev *vd);
/*
 * Where a record's bytes go: @copy takes bytes that live in save.rec (a
 * header, a small record, a record already partly sent), @lend a PAGES
 * payload still in device memory (save.src).  Each returns how many it
 * took; fewer than offered ends the take.
 */
struct vfmig_rec_sink {
	size_t (*copy)(void *ctx, const u8 *p, size_t n);
	size_t (*lend)(void *ctx, const u8 *p, size_t n);
	void *ctx;
};

/* Hand @n bytes of the current record, from rec_pos on, to @sink; the bytes taken. */
size_t vfmig_payload_take(struct vfmig_save *s, size_t n, const struct vfmig_rec_sink *sink);
int vfmig_payload_feed(struct vfmig_dev *vd, const u8 *buf, u64 len);
int vfmig_payload_feed_deferred(struct vfmig_dev *vd, const u8 *buf, u64 len);
int vfmig_payload_feed_window(struct vfmig_dev *vd, u64 len);
struct iov_iter;
ssize_t vfmig_payload_feed_iter(struct vfmig_dev *vd, struct iov_iter *from, size_t len);
u64 vfmig_payload_pending(struct vfmig_dev *vd);
int vfmig_payload_resume_begin(struct vfmig_dev *vd);
void vfmig_payload_resume_fail(struct vfmig_dev *vd);
void vfmig_payload_resume_end(struct vfmig_dev *vd);
int vfmig_payload_save_begin(struct vfmig_dev *vd);
void vfmig_payload_save_end(struct vfmig_dev *vd);
u64 vfmig_payload_stop_copy_size(struct vfmig_dev *vd);
void vfmig_payload_precopy(struct vfmig_dev *vd, u64 *initial, u64 *dirty);
void vfmig_dirty_mark(struct vfmig_dev *vd, u64 page);	/* for a running save */
void vfmig_dirty_mark_range(struct vfmig_dev *vd, u64 first, u64 n);

/* migration_v2.c: protocol v2 (vfio_migration_ops) on the same state machine. */
void vfmig_v2_setup(struct vfmig_dev *vd);	/* at open: mig_ops per protocol */
ssize_t vfmig_v2_save_read(struct vfmig_dev *vd, struct iov_iter *to);
ssize_t vfmig_v2_resume_write(struct vfmig_dev *vd, struct iov_iter *from);
/* At most this many bytes per read(), write() or splice() of a data file. */
#define VFMIG_V2_IO_MAX		(4ULL << 20)
struct pipe_inode_info;
/* save_splice.c: splice from the saving file, device memory lent to the pipe. */
ssize_t vfmig_v2_save_splice(struct vfmig_dev *vd, struct pipe_inode_info *pipe, size_t len);
int vfmig_v2_precopy_info(struct vfmig_dev *vd, u64 *initial, u64 *dirty);
bool vfmig_v2_readable(struct vfmig_dev *vd);

/* datafile.c: the saving and resuming files of protocol v2. */
struct file *vfmig_datafile_open(struct vfmig_dev *vd, bool saving);
void vfmig_datafile_sync(struct vfmig_dev *vd);	/* end a file whose session ended */
void vfmig_datafile_wake(struct vfmig_dev *vd);	/* more to read, or state changed */

/* window.c: the direct data window (data_window=direct). */
const char *vfmig_window_name(enum vfmig_data_window w);
int vfmig_window_parse(const char *buf, enum vfmig_data_window *w);
u32 vfmig_window_pages(const struct vfmig_dev *vd);
u64 vfmig_window_bind_save(struct vfmig_dev *vd, u64 mem_off, u64 len);
bool vfmig_window_bind_resume(struct vfmig_dev *vd, u64 *offset);
void vfmig_window_unbind(struct vfmig_dev *vd);
u8 *vfmig_window_rw_ptr(struct vfmig_dev *vd, u64 off, size_t count, bool is_write);
void vfmig_window_mmap(struct vfmig_dev *vd, struct vm_area_struct *vma);

static inline bool vfmig_window_direct(const struct vfmig_dev *vd)
{
	return vd->geo.run.size;
}

/* dirty.c: the dirty data generator. */
void vfmig_dirty_init(struct vfmig_dev *vd);
void vfmig_dirty_update(struct vfmig_dev *vd);	/* call with lock held */
void vfmig_dirty_stop_sync(struct vfmig_dev *vd);	/* call without lock */

/* alloc.c: accounted allocations (live_objects / live_bytes); free takes the size. */
void vfmig_live_add(size_t size);
void vfmig_live_sub(size_t size);
void *vfmig_vzalloc(size_t size);
void *vfmig_vmalloc_user(size_t size);
void vfmig_vfree(void *p, size_t size);
void *vfmig_kvmalloc(size_t size);
void vfmig_kvfree(void *p, size_t size);
void *vfmig_kzalloc(size_t size);
void vfmig_kfree(void *p, size_t size);
unsigned long *vfmig_bitmap_zalloc(unsigned int nbits);
void vfmig_bitmap_free(unsigned long *map, unsigned int nbits);

/* sysfs.c: the per-device vfmig/ attribute group. */
extern const struct attribute_group *vfmig_dev_groups[];

#endif /* VFMIG_H */
