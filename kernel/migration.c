// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig migration region (VFIO migration protocol v1).
 *
 *	[0, 32)			struct vfio_device_migration_info, trapped,
 *				native-width aligned accesses only
 *	[32, PAGE_SIZE)		dead space: every access refused
 *	[PAGE_SIZE, size)	data section: pread/pwrite anywhere, mmap
 *				where the sparse-mmap capability says
 *
 * Save: a pending_bytes read acknowledges the staged chunk and reports what
 * is left; a data_offset read stages the next chunk into a window of the data
 * section; data_size reports it; repeated reads return the same chunk.
 * Resume: data_offset says where to write, the data_size write hands the
 * bytes to the payload parser, which validates before it applies.
 *
 * device_state is also the state protocol v2 drives (migration_v2.c maps
 * its states onto these), so both protocols share one state machine, one
 * session and one payload.
 */
#include <linux/uaccess.h>

#include "vfmig.h"

#define MIG_FIELD(f)	offsetof(struct vfmig_v1_info, f)

/* Allowed targets per current state (bit n = target state n). */
static const u8 vfmig_allowed[8] = {
	[0] = BIT(0) | BIT(1) | BIT(2) | BIT(4),
	[1] = BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4),
	[2] = BIT(0) | BIT(1) | BIT(2),
	[3] = BIT(0) | BIT(1) | BIT(2) | BIT(3),
	[4] = BIT(0) | BIT(1) | BIT(4),
	/* 5 and 7 are never entered; 6 (error) only leaves by reset. */
};

const char *vfmig_state_name(u32 state)
{
	static const char *const names[8] = {
		"stop", "running", "stop-and-copy", "pre-copy",
		"resuming", "invalid", "error", "invalid",
	};

	return names[state & VFMIG_V1_STATE_MASK];
}

static void vfmig_save_ack(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;

	if (!s->staged)
		return;
	if (s->staged_size) {
		vd->stats.bytes_saved += s->staged_size;
		vd->stats.chunks_saved++;
	}
	s->staged = false;
	if (s->run_staged) {
		/* The payload was read out of device memory: the record is done. */
		s->run_staged = false;
		s->src = NULL;
		vfmig_window_unbind(vd);
	}
}

/*
 * Drop any save or resume session.  A resume that is still in RESUMING
 * leaves memory cleared if it wrote any, unless it is verified and
 * @keep_verified: only a close keeps a verified state that never ran.
 * A reset or an internal error aborts the migration, and a client that
 * aborts after the END record (a later section was bad, another device
 * failed) must not find the source's state ready to run beside the source.
 */
static void vfmig_mig_stop_sessions(struct vfmig_dev *vd, bool keep_verified)
{
	if (vd->save.active)
		vfmig_payload_save_end(vd);
	if (vd->resume.active) {
		if (!keep_verified)
			vd->resume.complete = false;
		vfmig_payload_resume_end(vd);
	}
	vfmig_datafile_sync(vd);
}

/* Internal failure: only VFIO_DEVICE_RESET leaves this state. */
void vfmig_mig_enter_error(struct vfmig_dev *vd)
{
	vfmig_mig_stop_sessions(vd, false);
	vd->device_state = VFMIG_V1_STATE_ERROR;
}

/*
 * Move to v1 state @value (reserved bits kept for the v1 read-back).  The
 * v2 arcs come here too; a v2 data file whose session a transition ended
 * is cut off on the way out.
 */
static int vfmig_change_state(struct vfmig_dev *vd, u32 value)
{
	u32 cur = vd->device_state & VFMIG_V1_STATE_MASK;
	u32 target = value & VFMIG_V1_STATE_MASK;
	int ret;

	if (VFMIG_V1_STATE_IS_ERROR(cur) || !VFMIG_V1_STATE_VALID(target) ||
	    VFMIG_V1_STATE_IS_ERROR(target) || !(vfmig_allowed[cur] & BIT(target)))
		return -EINVAL;
	/* A seed write is rewriting memory: no save or resume may start on it. */
	if (vd->filling)
		return -EBUSY;

	if (vd->fault == VFMIG_FAULT_TRANSITION) {
		vd->fault = VFMIG_FAULT_NONE;
		vfmig_mig_enter_error(vd);
		return -EIO;
	}

	/* Leaving RESUMING needs a complete, verified state. */
	if (cur == VFMIG_V1_STATE_RESUMING && target != cur) {
		if (!vd->resume.complete)
			return -EINVAL;
		vfmig_payload_resume_end(vd);
		vd->resume_held = true;		/* until it runs, below */
	}
	if (target == VFMIG_V1_STATE_RESUMING && cur != target) {
		ret = vfmig_payload_resume_begin(vd);
		if (ret)
			return ret;
	}
	/* A transition ends the staged chunk's life: it was read or dropped. */
	vfmig_save_ack(vd);
	if ((target & VFMIG_V1_STATE_SAVING) && !(cur & VFMIG_V1_STATE_SAVING)) {
		ret = vfmig_payload_save_begin(vd);
		if (ret)
			return ret;
	} else if (!(target & VFMIG_V1_STATE_SAVING) && (cur & VFMIG_V1_STATE_SAVING)) {
		vfmig_payload_save_end(vd);
	}

	vd->device_state = target;
	vd->state_reserved_bits = value & ~VFMIG_V1_STATE_MASK;
	vd->p2p = false;	/* v1 knows no P2P; a v2 arc sets it again */
	if (target & VFMIG_V1_STATE_RUNNING)
		vd->resume_held = false;
	vfmig_dirty_update(vd);
	return 0;
}

/*
 * Move to v1 state @value (reserved bits kept for the v1 read-back).  The
 * v2 arcs come here too; a v2 data file whose session a transition ended
 * is cut off on the way out, whichever protocol made the transition.
 */
int vfmig_mig_change_state(struct vfmig_dev *vd, u32 value)
{
	int ret = vfmig_change_state(vd, value);

	vfmig_datafile_sync(vd);
	return ret;
}

/* A device_state write; dynamic debug shows each one and its verdict. */
static int vfmig_set_state(struct vfmig_dev *vd, u32 value)
{
	u32 cur = vd->device_state;
	int ret = vfmig_mig_change_state(vd, value);

	if (ret)
		dev_dbg(vd->vdev.dev, "device_state %s -> %s (0x%x) refused: %d\n",
			vfmig_state_name(cur), vfmig_state_name(value), value, ret);
	else
		dev_dbg(vd->vdev.dev, "device_state %s -> %s\n", vfmig_state_name(cur),
			vfmig_state_name(value));
	return ret;
}

/*
 * Direct window: a PAGES payload whose header is out is the whole next
 * chunk, device memory bound at the window's end (window.c).
 */
static bool vfmig_stage_run(struct vfmig_dev *vd, u64 *offset, u64 *size)
{
	struct vfmig_save *s = &vd->save;

	/*
	 * Only this save builds records by reference across chunks (a v2 read
	 * copies what it leaves of one into save.rec before unlocking), and
	 * never longer than the window: vfmig_window_pages().
	 */
	if (!vfmig_window_direct(vd) || !s->src || s->rec_pos != VFMIG_REC_HDR_LEN)
		return false;
	*size = s->rec_len - s->rec_pos;
	*offset = vfmig_window_bind_save(vd, s->src - (u8 *)vd->mem, *size);
	s->rec_pos = s->rec_len;
	s->run_staged = true;
	return true;
}

/*
 * Fill window @w from the record stream; the bytes staged.  With a direct
 * window, records are built by reference and the chunk ends after a PAGES
 * header: its payload is the next chunk.
 */
static int vfmig_stage_window(struct vfmig_dev *vd, const struct vfmig_span *w, u64 *staged)
{
	struct vfmig_save *s = &vd->save;
	u8 *dst = vd->data + (w->offset - VFMIG_DATA_START);
	bool direct = vfmig_window_direct(vd);
	u64 pos = 0;
	int ret;

	while (pos < w->size) {
		u64 n;

		if (s->rec_pos == s->rec_len) {
			/*
			 * Staged, a PAGES record that fits is built in place.
			 * A chunk staged ahead cuts its records to fit, and ends
			 * where not even one page would (payload_next_fit()).
			 */
			if (s->ahead_on && pos && w->size - pos < VFMIG_REC_HDR_LEN + PAGE_SIZE)
				break;
			if (direct)
				ret = vfmig_payload_next_run(vd, vfmig_window_pages(vd));
			else if (s->ahead_on)
				ret = vfmig_payload_next_fit(vd, dst + pos, w->size - pos);
			else
				ret = vfmig_payload_next(vd, dst + pos, w->size - pos);
			if (ret == -ENODATA)
				break;
			if (ret < 0)
				return ret;
			if (ret) {
				pos += ret;
				continue;
			}
		}
		/* Of a record by reference, only the header is in save.rec. */
		n = (s->src ? VFMIG_REC_HDR_LEN : s->rec_len) - s->rec_pos;
		if (!n)
			break;
		n = min_t(u64, n, w->size - pos);
		memcpy(dst + pos, s->rec + s->rec_pos, n);
		s->rec_pos += n;
		pos += n;
	}
	*staged = pos;
	return 0;
}

/*
 * chunk_offload (a v1-only device, staged windows, the worker on): the
 * chunk after the one user space reads is staged ahead into the next slot,
 * its copies out of device memory queued on the device's worker, so the
 * kernel's copy of one chunk runs beside user space's of the other.  Each
 * PAGES record's pages are taken (their dirty bits cleared) when it is
 * built; a page the generator changes before the worker copies it is
 * marked dirty again and sent again, as with the direct window.
 */
bool vfmig_chunk_offload_on(struct vfmig_dev *vd)
{
	return vd->chunk_offload && vd->hasher.on && vd->protocol == VFMIG_PROTO_V1 &&
	       !vfmig_window_direct(vd) && vfmig_layout_slots(&vd->geo) >= 2;
}

/* Fill the next window (or slot) from the record stream. */
static int vfmig_stage_next(struct vfmig_dev *vd, u64 *offset, u64 *size)
{
	struct vfmig_save *s = &vd->save;
	struct vfmig_span w;

	if (s->ahead_on)
		w = vfmig_layout_next_slot(&vd->geo, &s->window);
	else
		w = vfmig_layout_next_window(&vd->geo, &s->window);
	*offset = w.offset;
	return vfmig_stage_window(vd, &w, size);
}

/* Hand out the chunk staged ahead (staged now if there is none), stage the next. */
static int vfmig_stage_ahead(struct vfmig_dev *vd, u64 *offset, u64 *size)
{
	struct vfmig_save *s = &vd->save;
	int ret;

	if (!s->ahead) {
		ret = vfmig_stage_next(vd, &s->ahead_offset, &s->ahead_size);
		if (ret)
			return ret;
		s->ahead_mark = vfmig_hasher_mark(&vd->hasher);
	}
	vfmig_hasher_wait(&vd->hasher, s->ahead_mark);
	*offset = s->ahead_offset;
	*size = s->ahead_size;
	s->ahead = false;
	s->ahead_size = 0;
	ret = vfmig_stage_next(vd, &s->ahead_offset, &s->ahead_size);
	if (ret)
		return ret;
	s->ahead = s->ahead_size;
	s->ahead_mark = vfmig_hasher_mark(&vd->hasher);
	return 0;
}

/* Stage the next chunk: a window filled from the record stream, or a run. */
static int vfmig_stage(struct vfmig_dev *vd)
{
	struct vfmig_save *s = &vd->save;
	u64 offset, pos;
	int ret;

	if (!vfmig_stage_run(vd, &offset, &pos)) {
		if (s->ahead_on)
			ret = vfmig_stage_ahead(vd, &offset, &pos);
		else
			ret = vfmig_stage_next(vd, &offset, &pos);
		if (ret)
			return ret;
	}
	if (vd->fault == VFMIG_FAULT_SHORT_CHUNK && pos) {
		vd->fault = VFMIG_FAULT_NONE;
		pos -= min_t(u64, pos, 16);	/* those bytes are lost */
	}
	s->staged = true;
	s->staged_offset = offset;
	s->staged_size = pos;
	dev_dbg(vd->vdev.dev, "staged %llu bytes at 0x%llx%s, %llu pending\n", pos, offset,
		s->run_staged ? " (device memory)" : "", vfmig_payload_pending(vd));
	return 0;
}

/*
 * chunk_offload, resuming: user space may write from the slot handed out to
 * the region's end, so the chunks the worker still copies out of that
 * range are done first.  Slots are handed out in rising order, so only the
 * wrap back to the first waits for the chunks behind it.
 */
static u64 vfmig_resume_slot(struct vfmig_dev *vd)
{
	struct vfmig_resume_pipe *p = &vd->rpipe;
	struct vfmig_span w = vfmig_layout_next_slot(&vd->geo, &vd->resume.window);
	unsigned int i, last = 0;
	bool busy = false;

	for (i = 0; i < p->nr; i++) {
		if (p->busy[i].end > w.offset) {
			last = i;
			busy = true;
		}
	}
	if (busy) {
		/* Marks rise with the chunks: those before are done too. */
		vfmig_hasher_wait(&vd->hasher, p->busy[last].mark);
		p->nr -= last + 1;
		memmove(p->busy, p->busy + last + 1, p->nr * sizeof(p->busy[0]));
	}
	return w.offset;
}

/* Region bytes [start, end) were fed with their copies on the worker. */
static void vfmig_resume_busy(struct vfmig_dev *vd, u64 start, u64 end)
{
	struct vfmig_resume_pipe *p = &vd->rpipe;

	if (p->nr == VFMIG_BUSY_CHUNKS) {
		vfmig_hasher_wait(&vd->hasher, p->busy[0].mark);
		p->nr--;
		memmove(p->busy, p->busy + 1, p->nr * sizeof(p->busy[0]));
	}
	p->busy[p->nr++] = (struct vfmig_busy_chunk){ start, end, vfmig_hasher_mark(&vd->hasher) };
}

static int vfmig_read_u64(struct vfmig_dev *vd, u64 field, u64 *val)
{
	bool saving = vd->device_state & VFMIG_V1_STATE_SAVING &&
		      !VFMIG_V1_STATE_IS_ERROR(vd->device_state);
	bool resuming = vd->device_state == VFMIG_V1_STATE_RESUMING;
	int ret;

	switch (field) {
	case MIG_FIELD(pending_bytes):
		if (!saving) {
			*val = 0;
			return 0;
		}
		vfmig_save_ack(vd);
		*val = vfmig_payload_pending(vd);
		return 0;
	case MIG_FIELD(data_offset):
		if (saving) {
			if (!vd->save.staged) {
				if (vd->fault == VFMIG_FAULT_SAVE_CHUNK) {
					vd->fault = VFMIG_FAULT_NONE;
					return -EIO;
				}
				ret = vfmig_stage(vd);
				if (ret)
					return ret;
			}
			*val = vd->save.staged_offset;
			return 0;
		}
		if (resuming && !vd->resume.failed) {
			struct vfmig_span w;

			/* Inside a PAGES payload a direct window takes it in place. */
			if (vfmig_window_direct(vd) && vfmig_window_bind_resume(vd, val)) {
				vd->resume.offset = *val;
				vd->resume.offset_read = true;
				return 0;
			}
			vfmig_window_unbind(vd);
			if (vd->rpipe.on) {
				*val = vfmig_resume_slot(vd);
			} else {
				w = vfmig_layout_next_window(&vd->geo, &vd->resume.window);
				*val = w.offset;
			}
			vd->resume.offset = *val;
			vd->resume.offset_read = true;
			return 0;
		}
		return -EINVAL;
	case MIG_FIELD(data_size):
		if (saving) {
			*val = vd->save.staged ? vd->save.staged_size : 0;
			return 0;
		}
		return -EINVAL;
	}
	return -EINVAL;
}

static int vfmig_write_data_size(struct vfmig_dev *vd, u64 size)
{
	struct vfmig_resume *r = &vd->resume;
	int ret;

	if (vd->device_state != VFMIG_V1_STATE_RESUMING || r->failed)
		return -EINVAL;
	/* From here on a refused write poisons the session: bytes were lost. */
	if (!r->offset_read || size > vd->region_size - r->offset) {
		vfmig_payload_resume_fail(vd);
		return -EINVAL;
	}
	r->offset_read = false;
	if (vd->fault == VFMIG_FAULT_RESUME_CHUNK) {
		vd->fault = VFMIG_FAULT_NONE;
		vfmig_payload_resume_fail(vd);
		return -EIO;
	}
	if (vd->bind.kind == VFMIG_BIND_RESUME) {
		u64 mem_off = 0;

		/* Unbound first: the bytes hashed are the bytes that stay. */
		vfmig_window_unbind(vd);
		/* The parser must still expect what the binding showed. */
		if (!vfmig_payload_resume_run(r, &mem_off) || mem_off != vd->bind.mem_off) {
			vfmig_payload_resume_fail(vd);
			return -EINVAL;
		}
		ret = vfmig_payload_feed_window(vd, size);
	} else if (vd->rpipe.on) {
		ret = vfmig_payload_feed_deferred(vd, vd->data + (r->offset - VFMIG_DATA_START),
						  size);
		if (!ret)
			vfmig_resume_busy(vd, r->offset, r->offset + size);
	} else {
		ret = vfmig_payload_feed(vd, vd->data + (r->offset - VFMIG_DATA_START), size);
	}
	if (ret)
		return ret;
	if (size) {
		vd->stats.bytes_restored += size;
		vd->stats.chunks_restored++;
	}
	return 0;
}

static ssize_t vfmig_mig_header_rw(struct vfmig_dev *vd, char __user *ubuf,
				   size_t count, u64 off, bool is_write)
{
	u64 v64;
	u32 v32;
	int ret;

	switch (off) {
	case MIG_FIELD(device_state):
	case MIG_FIELD(reserved):
		if (count != sizeof(u32))
			return -EINVAL;
		if (is_write) {
			if (copy_from_user(&v32, ubuf, sizeof(v32)))
				return -EFAULT;
			if (off == MIG_FIELD(reserved))
				return count;	/* ignored */
			ret = vfmig_set_state(vd, v32);
			return ret ? ret : count;
		}
		v32 = off == MIG_FIELD(reserved) ? 0 :
		      vd->device_state | vd->state_reserved_bits;
		return copy_to_user(ubuf, &v32, sizeof(v32)) ? -EFAULT : count;
	case MIG_FIELD(pending_bytes):
	case MIG_FIELD(data_offset):
	case MIG_FIELD(data_size):
		if (count != sizeof(u64))
			return -EINVAL;
		if (is_write) {
			if (off != MIG_FIELD(data_size))
				return -EINVAL;		/* read-only fields */
			if (copy_from_user(&v64, ubuf, sizeof(v64)))
				return -EFAULT;
			ret = vfmig_write_data_size(vd, v64);
			return ret ? ret : count;
		}
		ret = vfmig_read_u64(vd, off, &v64);
		if (ret)
			return ret;
		return copy_to_user(ubuf, &v64, sizeof(v64)) ? -EFAULT : count;
	}
	return -EINVAL;		/* unaligned or inside a field */
}

ssize_t vfmig_mig_rw(struct vfmig_dev *vd, char __user *ubuf, size_t count,
		     u64 off, bool is_write)
{
	u8 *p;

	if (off < sizeof(struct vfmig_v1_info))
		return vfmig_mig_header_rw(vd, ubuf, count, off, is_write);
	if (off < VFMIG_DATA_START || off >= vd->region_size ||
	    count > vd->region_size - off)
		return -EINVAL;
	p = vfmig_window_rw_ptr(vd, off, count, is_write);
	if (IS_ERR(p))
		return PTR_ERR(p);
	if (!p)
		p = vd->data + (off - VFMIG_DATA_START);
	if (is_write)
		return copy_from_user(p, ubuf, count) ? -EFAULT : count;
	return copy_to_user(ubuf, p, count) ? -EFAULT : count;
}

/*
 * VFIO_DEVICE_RESET: back to RUNNING, sessions and faults gone.  A held
 * resume (verified, stopped, never run) is cleared like one still in
 * RESUMING: a reset must not run a source's state beside the source.
 */
void vfmig_mig_reset(struct vfmig_dev *vd)
{
	vfmig_mig_stop_sessions(vd, false);
	if (vd->resume_held)
		vfmig_state_clear(vd);
	vd->fault = VFMIG_FAULT_NONE;
	vd->state_reserved_bits = 0;
	vd->device_state = VFMIG_V1_STATE_RUNNING;
	vd->p2p = false;
	vd->resume_held = false;
	vfmig_dirty_update(vd);
}

/*
 * Last close ends every session, so none outlives the fd (see device.md,
 * "Lifetimes").  A device that was running keeps running; one that was
 * stopped stays stopped, since its stream may already have reached a
 * destination.  A verified resume leaves its state stopped, a partial one
 * leaves the device stopped and cleared.  The error state stays.
 */
void vfmig_mig_close(struct vfmig_dev *vd)
{
	u32 state = vd->device_state;

	if (vd->resume.active && vd->resume.complete)
		vd->resume_held = true;
	vfmig_mig_stop_sessions(vd, true);
	if (!VFMIG_V1_STATE_IS_ERROR(state)) {
		vd->device_state = state & VFMIG_V1_STATE_RUNNING;
		vd->state_reserved_bits = 0;
		vd->p2p = false;
	}
	dev_dbg(vd->vdev.dev, "closed: %s -> %s\n", vfmig_state_name(state),
		vfmig_state_name(vd->device_state));
}

void vfmig_mig_free(struct vfmig_dev *vd)
{
	vfmig_mig_stop_sessions(vd, true);
}
