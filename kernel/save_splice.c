// SPDX-License-Identifier: GPL-2.0
/*
 * splice(2) from a v2 saving file without copying device memory: a PAGES
 * payload's pages are lent to the pipe, a page reference in each pipe
 * buffer, the way the page cache lends its pages; record headers, small
 * records and a record already partly sent are copied into pages of their
 * own.  Without this, a splice read copied every byte into fresh pipe
 * pages (allocated, and zeroed first where init_on_alloc is on, as on
 * Debian's kernels): two passes over memory per byte instead of none.
 *
 * What the pipe carries is device memory as it is when the consumer takes
 * it, not when it was hashed.  That is the same while the device is
 * stopped (stop-copy: memory does not change).  In pre-copy a page written
 * after it was lent is dirty, so it is sent again after the device stops,
 * and the destination's hash of it is replaced with the last version's:
 * the END digest still vouches only for bytes both ends hashed.  Anything
 * else that changes memory (a reset, a new session) makes the destination
 * refuse the stream at END, never accept wrong state.  A lent page outlives
 * the device if it must: vfree() drops only its own reference.  The pipe
 * buffers cannot be stolen (nosteal_pipe_buf_ops), so nobody writes them.
 */
#include <linux/mm.h>
#include <linux/pipe_fs_i.h>
#include <linux/splice.h>
#include <linux/vmalloc.h>

#include "vfmig.h"

struct vfmig_splice {
	struct pipe_inode_info *pipe;
	struct page *scratch;		/* copied bytes go here, then to the pipe */
	unsigned int scratch_off;
	size_t done;
	size_t lent;			/* of done, bytes of device memory lent */
	int err;			/* why the pipe took no more, if not full */
};

static bool vfmig_splice_room(struct vfmig_splice *sp)
{
	return !sp->err && !pipe_full(sp->pipe->head, sp->pipe->tail, sp->pipe->max_usage);
}

/* The pipe has a buffer free for a whole PAGES record: its header and each page. */
static bool vfmig_splice_room_for_record(struct vfmig_splice *sp)
{
	struct pipe_inode_info *pipe = sp->pipe;

	return !sp->err && pipe_occupancy(pipe->head, pipe->tail) + 1 + VFMIG_PAYLOAD_MAX_PAGES <=
	       pipe->max_usage;
}

/* Hand @len bytes at @off in @page to the pipe, with a reference of its own. */
static bool vfmig_splice_add(struct vfmig_splice *sp, struct page *page, unsigned int off,
			     unsigned int len)
{
	struct pipe_buffer buf = {
		.page = page,
		.offset = off,
		.len = len,
		.ops = &nosteal_pipe_buf_ops,
	};
	ssize_t ret;

	get_page(page);
	ret = add_to_pipe(sp->pipe, &buf);	/* drops that reference if it fails */
	if (ret < 0) {
		sp->err = ret;
		return false;
	}
	sp->done += len;
	return true;
}

/* Copy up to @n bytes from @p into scratch pages in the pipe; how many went. */
static size_t vfmig_splice_copy(void *ctx, const u8 *p, size_t n)
{
	struct vfmig_splice *sp = ctx;
	size_t done = 0;

	while (done < n && vfmig_splice_room(sp)) {
		unsigned int k;

		if (!sp->scratch || sp->scratch_off == PAGE_SIZE) {
			if (sp->scratch)
				put_page(sp->scratch);
			sp->scratch = alloc_page(GFP_KERNEL);
			sp->scratch_off = 0;
			if (!sp->scratch) {
				sp->err = -ENOMEM;
				break;
			}
		}
		k = min_t(size_t, n - done, PAGE_SIZE - sp->scratch_off);
		memcpy(page_address(sp->scratch) + sp->scratch_off, p + done, k);
		if (!vfmig_splice_add(sp, sp->scratch, sp->scratch_off, k))
			break;
		sp->scratch_off += k;
		done += k;
	}
	return done;
}

/* Lend up to @n bytes of device memory at @p to the pipe; how many went. */
static size_t vfmig_splice_lend(void *ctx, const u8 *p, size_t n)
{
	struct vfmig_splice *sp = ctx;
	size_t done = 0;

	while (done < n && vfmig_splice_room(sp)) {
		const u8 *a = p + done;
		unsigned int off = offset_in_page(a);
		unsigned int k = min_t(size_t, n - done, PAGE_SIZE - off);

		if (!vfmig_splice_add(sp, vmalloc_to_page(a), off, k))
			break;
		done += k;
		sp->lent += k;
	}
	return done;
}

/*
 * The saving file's splice_read, lock held: what vfmig_v2_save_read()
 * would read, at most @len bytes and as much as the pipe has room for.
 */
ssize_t vfmig_v2_save_splice(struct vfmig_dev *vd, struct pipe_inode_info *pipe, size_t len)
{
	struct vfmig_save *s = &vd->save;
	struct vfmig_splice sp = { .pipe = pipe };
	const struct vfmig_rec_sink sink = {
		.copy = vfmig_splice_copy,
		.lend = vfmig_splice_lend,
		.ctx = &sp,
	};
	int ret = 0;

	lockdep_assert_held(&vd->lock);
	if (!s->active)
		return -EINVAL;
	len = min_t(size_t, len, VFMIG_V2_IO_MAX);
	while (sp.done < len && vfmig_splice_room(&sp)) {
		size_t n;

		if (s->rec_pos == s->rec_len) {
			bool lend = vfmig_splice_room_for_record(&sp);

			/*
			 * Lend a record when the pipe has a buffer for each of its
			 * pages (@len may still cut it: the rest is copied to
			 * save.rec).  A fuller pipe ends the call early, so that
			 * as much as possible is lent; with nothing spliced yet the
			 * record is built in save.rec and copied.
			 */
			if (!lend && sp.done)
				break;
			ret = lend ? vfmig_payload_next_ref(vd) : vfmig_payload_next(vd, NULL, 0);
			if (ret == -ENODATA) {
				ret = 0;
				break;
			}
			if (ret < 0)
				break;
		}
		n = min_t(size_t, s->rec_len - s->rec_pos, len - sp.done);
		if (vfmig_payload_take(s, n, &sink) < n)
			break;
	}
	vfmig_payload_stage(vd);
	if (sp.scratch)
		put_page(sp.scratch);
	if (!sp.done)
		return ret < 0 ? ret : sp.err ? sp.err :
		       (vd->device_state & VFMIG_V1_STATE_RUNNING) ? -ENOMSG : 0;
	vd->stats.bytes_saved += sp.done;
	vd->stats.bytes_lent += sp.lent;
	vd->stats.chunks_saved++;
	return sp.done;
}
