/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-process fake vfmig device implementing the VFIO migration v1 register
 * semantics over struct vfmig_region, for unit tests.
 *
 * State memory is tracked in pages with a dirty map.  Saved data is a
 * sequence of records (own header with magic, sequence, offset, length and
 * checksum; a final record carries the checksum of the whole memory), so the
 * resume side can refuse corrupt or out-of-order data however the client
 * splits it.  The data section is real malloc'd memory: mmap areas point
 * straight into it, trapped accesses go through the region ops.
 */
#ifndef FAKE_DEVICE_H
#define FAKE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <vfmig/abi.h>

#include "region.h"

#define FAKE_REC_MAGIC		0x43524b46u	/* "FKRC" */
#define FAKE_REC_DATA		1
#define FAKE_REC_FINAL		2
#define FAKE_MAX_AREAS		8
#define FAKE_HISTORY		64

struct fake_rec {
	uint32_t magic;
	uint16_t type;
	uint16_t rsvd;
	uint32_t seq;
	uint32_t len;		/* payload bytes (0 for FINAL) */
	uint64_t mem_off;	/* FINAL: memory size */
	uint64_t sum;		/* FNV-1a of the payload; FINAL: of all memory */
};

/* Where data_offset points for each chunk. */
enum fake_policy {
	FAKE_POLICY_FIXED,	/* always cfg.data_offset */
	FAKE_POLICY_ROTATE,	/* start of area 0, 1, 2, ... in turn */
	FAKE_POLICY_GAP,	/* the trapped gap after area 0 */
	FAKE_POLICY_STRADDLE,	/* 1 KiB before the end of area 0: area, gap, area */
};

enum fake_layout {
	FAKE_LAYOUT_TRAPPED,	/* no areas: everything through ops */
	FAKE_LAYOUT_MAPPED,	/* one area over the whole data section */
	FAKE_LAYOUT_UNMAPPED,	/* like MAPPED but map == NULL (slow path) */
	FAKE_LAYOUT_SPARSE,	/* 4 areas of 16 KiB with 4 KiB trapped gaps */
};

struct fake_area {
	uint64_t offset, size;
	bool mapped;
};

struct fake_cfg {
	const char *name;
	size_t mem_size;		/* device state bytes */
	size_t page_size;		/* dirty-tracking granularity */
	size_t chunk_max;		/* max bytes staged per chunk (incl. record header) */
	uint64_t region_size;
	unsigned int nr_areas;
	struct fake_area areas[FAKE_MAX_AREAS];
	enum fake_policy policy;
	uint64_t data_offset;		/* FAKE_POLICY_FIXED */
	uint32_t reserved_bits;		/* device_state bits 3-31 the device reports */
	uint32_t seed;			/* initial memory pattern */
};

struct fake_dev;
typedef void (*fake_dirty_hook)(struct fake_dev *d, void *opaque);

struct fake_dev {
	struct vfmig_region region;
	struct fake_cfg cfg;
	uint8_t *back;			/* region backing store */
	uint8_t *mem;			/* device state */
	uint8_t *dirty;			/* one byte per page */
	size_t nr_pages;
	uint32_t state;			/* incl. reserved bits */

	/* save side */
	bool staged;
	uint16_t stage_type;		/* 0 = empty chunk */
	uint64_t stage_off, stage_size;
	uint32_t seq;
	bool final_sent;
	unsigned int rot;
	size_t cursor;

	/* resume side */
	bool res_off_valid;
	uint64_t res_off;
	uint8_t hdr[sizeof(struct fake_rec)];
	size_t hdr_fill;
	struct fake_rec cur;
	uint64_t cur_fill, cur_sum;
	uint32_t expect_seq;
	bool resume_done;
	int resume_err;			/* sticky errno after refused data */
	char resume_msg[160];

	/* hooks and fault injection */
	fake_dirty_hook dirty_hook;
	void *dirty_opaque;
	int fail_transition;		/* errno for the next device_state write */
	bool fail_to_error;		/* ... and enter the error state */
	int fail_chunk;			/* errno for a data_offset read (staging) */
	unsigned int fail_chunk_skip;	/* stagings to let through first */
	bool short_read;		/* next trapped data read returns half */
	bool corrupt_chunk;		/* flip a payload byte of the next chunk */

	/* counters */
	unsigned long hdr_reads, hdr_writes, bad_width;
	unsigned long data_reads, data_writes;
	size_t min_data_access;
	unsigned long chunks_staged, chunks_loaded, pending_reads;
	unsigned int nr_history;
	uint32_t history[FAKE_HISTORY];	/* states entered, in order */
};

void fake_cfg_default(struct fake_cfg *c);
/* Fill areas for a layout (uses c->region_size). */
void fake_cfg_layout(struct fake_cfg *c, enum fake_layout layout);
int fake_init(struct fake_dev *d, const struct fake_cfg *cfg);
void fake_fini(struct fake_dev *d);
/* Device reset: RUNNING, no staged data, no resume progress, faults cleared. */
void fake_reset(struct fake_dev *d);
/* Test-only: put the device into any state, valid or not. */
void fake_force_state(struct fake_dev *d, uint32_t state);
/* The transition rules of the fake (v1 doc + QEMU 7.2 usage). */
bool fake_transition_allowed(uint32_t from, uint32_t to);

uint64_t fake_checksum(const struct fake_dev *d);
void fake_fill(struct fake_dev *d, uint32_t seed);
/* Guest write while running: change a byte of page and mark it dirty. */
void fake_dirty(struct fake_dev *d, size_t page, uint8_t val);
size_t fake_dirty_pages(const struct fake_dev *d);

uint64_t fake_fnv(uint64_t h, const void *p, size_t n);
#define FAKE_FNV_INIT 0xcbf29ce484222325ull

#endif /* FAKE_DEVICE_H */
