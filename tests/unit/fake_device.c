// SPDX-License-Identifier: GPL-2.0
/* Fake v1 migration device for the unit tests (see fake_device.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memfd_create, open_memstream, F_SETPIPE_SZ */
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_device.h"

#define HDR_SIZE	sizeof(struct vfmig_v1_info)
#define REC_SIZE	sizeof(struct fake_rec)
#define DATA_START	4096u

_Static_assert(sizeof(struct fake_rec) == 32, "fake record header");

static const struct vfmig_region_ops fake_region_ops;

uint64_t fake_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}

void fake_cfg_default(struct fake_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->name = "fake0";
	c->mem_size = 64 * 1024;
	c->page_size = 1024;
	c->chunk_max = 8 * 1024 + REC_SIZE;
	c->region_size = DATA_START + 80 * 1024;
	c->policy = FAKE_POLICY_FIXED;
	c->data_offset = DATA_START;
	c->seed = 1;
}

void fake_cfg_layout(struct fake_cfg *c, enum fake_layout layout)
{
	unsigned int i;

	c->nr_areas = 0;
	switch (layout) {
	case FAKE_LAYOUT_TRAPPED:
		break;
	case FAKE_LAYOUT_MAPPED:
	case FAKE_LAYOUT_UNMAPPED:
		c->nr_areas = 1;
		c->areas[0].offset = DATA_START;
		c->areas[0].size = c->region_size - DATA_START;
		c->areas[0].mapped = layout == FAKE_LAYOUT_MAPPED;
		break;
	case FAKE_LAYOUT_SPARSE:
		/* 4 x (16 KiB area + 4 KiB trapped gap) */
		c->region_size = DATA_START + 4 * 20 * 1024;
		c->nr_areas = 4;
		for (i = 0; i < 4; i++) {
			c->areas[i].offset = DATA_START + i * 20 * 1024;
			c->areas[i].size = 16 * 1024;
			c->areas[i].mapped = true;
		}
		break;
	}
}

static void history_push(struct fake_dev *d, uint32_t s)
{
	if (d->nr_history < FAKE_HISTORY)
		d->history[d->nr_history++] = s;
}

void fake_fill(struct fake_dev *d, uint32_t seed)
{
	uint32_t x = seed ? seed : 1;
	size_t i;

	for (i = 0; i < d->cfg.mem_size; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		d->mem[i] = (uint8_t)x;
	}
}

int fake_init(struct fake_dev *d, const struct fake_cfg *cfg)
{
	struct fake_cfg def;
	unsigned int i;
	if (!cfg) {
		fake_cfg_default(&def);
		cfg = &def;
	}
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	if (!cfg->page_size || cfg->mem_size % cfg->page_size || cfg->nr_areas > FAKE_MAX_AREAS ||
	    cfg->region_size <= DATA_START || cfg->chunk_max < REC_SIZE + cfg->page_size)
		return -EINVAL;
	for (i = 0; i < cfg->nr_areas; i++)
		if (cfg->areas[i].offset < DATA_START ||
		    cfg->areas[i].offset + cfg->areas[i].size > cfg->region_size)
			return -EINVAL;
	d->nr_pages = cfg->mem_size / cfg->page_size;
	d->back = calloc(1, cfg->region_size);
	d->mem = calloc(1, cfg->mem_size);
	d->dirty = calloc(1, d->nr_pages);
	if (!d->back || !d->mem || !d->dirty) {
		fake_fini(d);
		return -ENOMEM;
	}
	fake_fill(d, cfg->seed);
	d->state = cfg->reserved_bits | VFMIG_V1_STATE_RUNNING;
	d->min_data_access = SIZE_MAX;
	d->region.ops = &fake_region_ops;
	d->region.ctx = d;
	d->region.size = cfg->region_size;
	d->region.name = cfg->name;
	d->region.nr_areas = cfg->nr_areas;
	for (i = 0; i < cfg->nr_areas; i++) {
		d->region.areas[i].offset = cfg->areas[i].offset;
		d->region.areas[i].size = cfg->areas[i].size;
		d->region.areas[i].map = cfg->areas[i].mapped ? d->back + cfg->areas[i].offset : NULL;
	}
	return 0;
}

void fake_fini(struct fake_dev *d)
{
	free(d->back);
	free(d->mem);
	free(d->dirty);
	d->back = d->mem = d->dirty = NULL;
}

static void resume_restart(struct fake_dev *d)
{
	d->res_off_valid = false;
	d->hdr_fill = 0;
	d->cur_fill = 0;
	d->expect_seq = 0;
	d->resume_done = false;
	d->resume_err = 0;
	d->resume_msg[0] = '\0';
}

void fake_reset(struct fake_dev *d)
{
	d->state = d->cfg.reserved_bits | VFMIG_V1_STATE_RUNNING;
	d->staged = false;
	d->final_sent = false;
	memset(d->dirty, 0, d->nr_pages);
	resume_restart(d);
	d->fail_transition = 0;
	d->fail_to_error = false;
	d->fail_chunk = 0;
	d->short_read = false;
	d->corrupt_chunk = false;
}

void fake_force_state(struct fake_dev *d, uint32_t state)
{
	d->state = d->cfg.reserved_bits | (state & VFMIG_V1_STATE_MASK);
}

bool fake_transition_allowed(uint32_t from, uint32_t to)
{
	/* Rows: from-state; bit n set = transition to state n allowed. */
	static const uint8_t allowed[8] = {
		[0] = 0x17,	/* stop -> stop, running, stop-and-copy, resuming */
		[1] = 0x1f,	/* running -> same */
		[2] = 0x07,	/* stop-and-copy -> stop, running, stop-and-copy */
		[3] = 0x0f,	/* pre-copy -> stop, running, stop-and-copy, pre-copy */
		[4] = 0x13,	/* resuming -> stop, running, resuming */
		/* 5, 7 invalid; 6 error: only a reset leaves them */
	};

	return (allowed[from & 7] >> (to & 7)) & 1;
}

uint64_t fake_checksum(const struct fake_dev *d)
{
	return fake_fnv(FAKE_FNV_INIT, d->mem, d->cfg.mem_size);
}

void fake_dirty(struct fake_dev *d, size_t page, uint8_t val)
{
	page %= d->nr_pages;
	d->mem[page * d->cfg.page_size + (val % d->cfg.page_size)] ^= (uint8_t)(val | 1);
	d->dirty[page] = 1;
}

size_t fake_dirty_pages(const struct fake_dev *d)
{
	size_t i, n = 0;

	for (i = 0; i < d->nr_pages; i++)
		n += d->dirty[i];
	return n;
}

static bool saving(const struct fake_dev *d)
{
	uint32_t s = d->state & VFMIG_V1_STATE_MASK;

	return s == VFMIG_V1_STATE_SAVING || s == (VFMIG_V1_STATE_SAVING | VFMIG_V1_STATE_RUNNING);
}

static bool resuming(const struct fake_dev *d)
{
	return (d->state & VFMIG_V1_STATE_MASK) == VFMIG_V1_STATE_RESUMING;
}

static uint64_t pick_offset(struct fake_dev *d)
{
	const struct fake_cfg *c = &d->cfg;

	switch (c->policy) {
	case FAKE_POLICY_ROTATE:
		if (c->nr_areas)
			return c->areas[d->rot++ % c->nr_areas].offset;
		break;
	case FAKE_POLICY_GAP:
		if (c->nr_areas)
			return c->areas[0].offset + c->areas[0].size;
		break;
	case FAKE_POLICY_STRADDLE:
		if (c->nr_areas)
			return c->areas[0].offset + c->areas[0].size - 1024;
		break;
	case FAKE_POLICY_FIXED:
		break;
	}
	return c->data_offset;
}

static uint64_t pending_bytes(const struct fake_dev *d)
{
	uint64_t n = (uint64_t)fake_dirty_pages(d) * d->cfg.page_size;

	if (!(d->state & VFMIG_V1_STATE_RUNNING) && !d->final_sent)
		n += REC_SIZE;
	return n;
}

/* data_offset read while saving: put the next record into the data section. */
static int stage(struct fake_dev *d)
{
	struct fake_rec rec = { .magic = FAKE_REC_MAGIC };
	uint64_t off = pick_offset(d), cap;
	size_t first, run, max_pages, i;

	if (d->fail_chunk) {
		if (d->fail_chunk_skip) {
			d->fail_chunk_skip--;
		} else {
			int e = d->fail_chunk;

			d->fail_chunk = 0;
			return -e;
		}
	}
	cap = d->cfg.region_size - off;
	if (cap > d->cfg.chunk_max)
		cap = d->cfg.chunk_max;
	max_pages = (cap - REC_SIZE) / d->cfg.page_size;
	if (cap < REC_SIZE || !max_pages)
		return -ENOSPC;

	for (i = 0; i < d->nr_pages; i++)
		if (d->dirty[(d->cursor + i) % d->nr_pages])
			break;
	d->stage_off = off;
	if (i < d->nr_pages) {
		first = (d->cursor + i) % d->nr_pages;
		for (run = 0; run < max_pages && first + run < d->nr_pages && d->dirty[first + run]; run++)
			d->dirty[first + run] = 0;
		rec.type = FAKE_REC_DATA;
		rec.seq = d->seq++;
		rec.len = (uint32_t)(run * d->cfg.page_size);
		rec.mem_off = first * d->cfg.page_size;
		memcpy(d->back + off + REC_SIZE, d->mem + rec.mem_off, rec.len);
		rec.sum = fake_fnv(FAKE_FNV_INIT, d->back + off + REC_SIZE, rec.len);
		if (d->corrupt_chunk) {
			d->back[off + REC_SIZE] ^= 0xff;
			d->corrupt_chunk = false;
		}
		d->cursor = (first + run) % d->nr_pages;
		d->stage_size = REC_SIZE + rec.len;
	} else if (!(d->state & VFMIG_V1_STATE_RUNNING) && !d->final_sent) {
		rec.type = FAKE_REC_FINAL;
		rec.seq = d->seq++;
		rec.mem_off = d->cfg.mem_size;
		rec.sum = fake_checksum(d);
		d->stage_size = REC_SIZE;
	} else {
		d->stage_size = 0;
	}
	d->stage_type = rec.type;
	if (rec.type)
		memcpy(d->back + off, &rec, REC_SIZE);
	d->staged = true;
	d->chunks_staged++;
	return 0;
}

static int refuse(struct fake_dev *d, const char *why)
{
	d->resume_err = EINVAL;
	snprintf(d->resume_msg, sizeof(d->resume_msg), "%s (record %u)", why, d->expect_seq);
	return -EINVAL;
}

/* Resume parser: consumes any split of the record stream. */
static int feed(struct fake_dev *d, const uint8_t *p, uint64_t n)
{
	while (n) {
		if (d->hdr_fill < REC_SIZE) {
			size_t take = REC_SIZE - d->hdr_fill;

			if (take > n)
				take = (size_t)n;
			memcpy(d->hdr + d->hdr_fill, p, take);
			d->hdr_fill += take;
			p += take;
			n -= take;
			if (d->hdr_fill < REC_SIZE)
				continue;
			memcpy(&d->cur, d->hdr, REC_SIZE);
			if (d->resume_done)
				return refuse(d, "data after the final record");
			if (d->cur.magic != FAKE_REC_MAGIC)
				return refuse(d, "bad record magic");
			if (d->cur.seq != d->expect_seq)
				return refuse(d, "record out of order");
			if (d->cur.type == FAKE_REC_FINAL) {
				if (d->cur.len || d->cur.mem_off != d->cfg.mem_size)
					return refuse(d, "final record size mismatch");
				if (d->cur.sum != fake_checksum(d))
					return refuse(d, "memory checksum mismatch");
				d->resume_done = true;
				d->hdr_fill = 0;
				d->expect_seq++;
				continue;
			}
			if (d->cur.type != FAKE_REC_DATA || !d->cur.len ||
			    d->cur.mem_off > d->cfg.mem_size ||
			    d->cur.len > d->cfg.mem_size - d->cur.mem_off)
				return refuse(d, "bad record header");
			d->cur_fill = 0;
			d->cur_sum = FAKE_FNV_INIT;
			continue;
		}
		{
			uint64_t take = d->cur.len - d->cur_fill;

			if (take > n)
				take = n;
			memcpy(d->mem + d->cur.mem_off + d->cur_fill, p, take);
			d->cur_sum = fake_fnv(d->cur_sum, p, take);
			d->cur_fill += take;
			p += take;
			n -= take;
			if (d->cur_fill == d->cur.len) {
				if (d->cur_sum != d->cur.sum)
					return refuse(d, "record checksum mismatch");
				d->hdr_fill = 0;
				d->expect_seq++;
			}
		}
	}
	return 0;
}

static int transition(struct fake_dev *d, uint32_t v)
{
	uint32_t from = d->state & VFMIG_V1_STATE_MASK, to = v & VFMIG_V1_STATE_MASK;

	if ((v & ~VFMIG_V1_STATE_MASK) != d->cfg.reserved_bits)
		return -EINVAL;		/* client did not read-modify-write */
	if (d->fail_transition) {
		int e = d->fail_transition;

		d->fail_transition = 0;
		if (d->fail_to_error)
			d->state = d->cfg.reserved_bits | VFMIG_V1_STATE_ERROR;
		return -e;
	}
	if (!fake_transition_allowed(from, to))
		return -EINVAL;
	if ((to & VFMIG_V1_STATE_SAVING) && !(from & VFMIG_V1_STATE_SAVING)) {
		memset(d->dirty, 1, d->nr_pages);
		d->seq = 0;
		d->cursor = 0;
		d->final_sent = false;
		d->staged = false;
	}
	if (!(to & VFMIG_V1_STATE_SAVING))
		d->staged = false;
	if (to == VFMIG_V1_STATE_RESUMING && from != VFMIG_V1_STATE_RESUMING) {
		memset(d->mem, 0, d->cfg.mem_size);
		memset(d->dirty, 0, d->nr_pages);
		resume_restart(d);
	}
	d->state = d->cfg.reserved_bits | to;
	history_push(d, to);
	return 0;
}

static void note_data_access(struct fake_dev *d, size_t len)
{
	if (len < d->min_data_access)
		d->min_data_access = len;
}

/*
 * What every region access starts with: inside the region, counted as a
 * header or a data access, and a header access not running into the data
 * section (counted as a bad width).  0 or -EINVAL.
 */
static int access_begin(struct fake_dev *d, size_t len, uint64_t off,
			unsigned long *hdr_count, unsigned long *data_count)
{
	if (off >= d->cfg.region_size || len > d->cfg.region_size - off)
		return -EINVAL;
	if (off >= HDR_SIZE) {
		(*data_count)++;
		note_data_access(d, len);
		return 0;
	}
	(*hdr_count)++;
	if (off + len > HDR_SIZE) {
		d->bad_width++;
		return -EINVAL;
	}
	return 0;
}

static ssize_t fake_read(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct fake_dev *d = ctx;
	uint64_t v64;
	uint32_t v32;
	int ret;

	if (!len)
		return 0;
	ret = access_begin(d, len, off, &d->hdr_reads, &d->data_reads);
	if (ret)
		return ret;
	if (off < HDR_SIZE) {
		if ((off == 0 || off == 4) && len == 4) {
			v32 = off ? 0 : d->state;
			memcpy(buf, &v32, 4);
			return 4;
		}
		if (len != 8 || (off != 8 && off != 16 && off != 24))
			goto bad_width;
		if (off == 8) {
			if (!saving(d))
				return -EINVAL;
			d->pending_reads++;
			if (d->staged) {	/* ack: the user has the previous chunk */
				d->staged = false;
				if (d->stage_type == FAKE_REC_FINAL)
					d->final_sent = true;
			}
			if ((d->state & VFMIG_V1_STATE_RUNNING) && d->dirty_hook)
				d->dirty_hook(d, d->dirty_opaque);
			v64 = pending_bytes(d);
		} else if (off == 16) {
			if (saving(d)) {
				if (!d->staged) {
					ret = stage(d);
					if (ret)
						return ret;
				}
				v64 = d->stage_off;
			} else if (resuming(d)) {
				if (d->resume_err)
					return -d->resume_err;
				if (!d->res_off_valid) {
					d->res_off = pick_offset(d);
					d->res_off_valid = true;
				}
				v64 = d->res_off;
			} else {
				return -EINVAL;
			}
		} else {
			if (!saving(d) || !d->staged)
				return -EINVAL;		/* data_size before data_offset */
			v64 = d->stage_size;
		}
		memcpy(buf, &v64, 8);
		return 8;
	}
	if (!saving(d) || !d->staged || off < d->stage_off ||
	    off + len > d->stage_off + d->stage_size)
		return -EINVAL;
	if (d->short_read && len > 1) {
		d->short_read = false;
		len /= 2;
	}
	memcpy(buf, d->back + off, len);
	return (ssize_t)len;

bad_width:
	d->bad_width++;
	return -EINVAL;
}

static ssize_t fake_write(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct fake_dev *d = ctx;
	uint64_t v64;
	uint32_t v32;
	int ret;

	if (!len)
		return 0;
	ret = access_begin(d, len, off, &d->hdr_writes, &d->data_writes);
	if (ret)
		return ret;
	if (off < HDR_SIZE) {
		if (off == 0 && len == 4) {
			memcpy(&v32, buf, 4);
			ret = transition(d, v32);
			return ret ? ret : 4;
		}
		if (off == 4 && len == 4)
			return 4;		/* reserved: writes ignored */
		if (off == 24 && len == 8) {
			if (!resuming(d))
				return -EINVAL;
			if (d->resume_err)
				return -d->resume_err;
			if (!d->res_off_valid)
				return -EINVAL;
			memcpy(&v64, buf, 8);
			if (v64 > d->cfg.region_size - d->res_off)
				return -EINVAL;
			d->res_off_valid = false;
			ret = feed(d, d->back + d->res_off, v64);
			if (ret)
				return ret;
			d->chunks_loaded++;
			return 8;
		}
		if ((off == 8 || off == 16) && len == 8)
			return -EINVAL;		/* read-only */
		goto bad_width;
	}
	if (!resuming(d) || !d->res_off_valid || off < d->res_off)
		return -EINVAL;
	memcpy(d->back + off, buf, len);
	return (ssize_t)len;

bad_width:
	d->bad_width++;
	return -EINVAL;
}

static const struct vfmig_region_ops fake_region_ops = {
	.read = fake_read,
	.write = fake_write,
};
