// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig VFIO migration protocol v2: VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE
 * through struct vfio_migration_ops, data through the saving and resuming
 * files (datafile.c).
 *
 * The v2 states are a view of the one state machine migration.c keeps in
 * v1 terms, so both protocols share sessions, payload, faults and counters:
 *
 *	v2			v1 device_state		data file
 *	RUNNING, RUNNING_P2P	RUNNING (1)		-
 *	STOP			STOP (0)		-
 *	PRE_COPY(_P2P)		pre-copy (3)		saving (6.2+ only)
 *	STOP_COPY		stop-and-copy (2)	saving
 *	RESUMING		RESUMING (4)		resuming
 *	ERROR			error (6)		-
 *
 * P2P only forbids peer-to-peer DMA, which this device never does, so the
 * P2P states behave as their running twins (the dirty generator runs); a
 * flag remembers which one user space asked for.
 *
 * The data files carry the same record stream as the v1 data section, so a
 * state saved through either protocol resumes through the other.
 */
#include <linux/file.h>
#include <linux/uio.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "vfmig.h"

/* Bytes a data file read or write handles per call: bounds a hold of the lock. */

static u32 vfmig_v2_to_v1(enum vfio_device_mig_state s)
{
	switch (s) {
	case VFIO_DEVICE_STATE_STOP:
		return VFMIG_V1_STATE_STOP;
	case VFIO_DEVICE_STATE_STOP_COPY:
		return VFMIG_V1_STATE_SAVING;
	case VFIO_DEVICE_STATE_RESUMING:
		return VFMIG_V1_STATE_RESUMING;
#if VFMIG_HAVE_PRE_COPY
	case VFIO_DEVICE_STATE_PRE_COPY:
	case VFIO_DEVICE_STATE_PRE_COPY_P2P:
		return VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING;
#endif
	default:	/* RUNNING, RUNNING_P2P */
		return VFMIG_V1_STATE_RUNNING;
	}
}

/*
 * The current state in v2 terms.  A v1 pre-copy on a kernel without
 * PRE_COPY (a "both" device on 6.1) has no v2 name: -EBUSY.
 */
static int vfmig_v2_current(struct vfmig_dev *vd, enum vfio_device_mig_state *s)
{
	switch (vd->device_state & VFMIG_V1_STATE_MASK) {
	case VFMIG_V1_STATE_STOP:
		*s = VFIO_DEVICE_STATE_STOP;
		return 0;
	case VFMIG_V1_STATE_RUNNING:
		*s = vd->p2p ? VFIO_DEVICE_STATE_RUNNING_P2P : VFIO_DEVICE_STATE_RUNNING;
		return 0;
	case VFMIG_V1_STATE_SAVING:
		*s = VFIO_DEVICE_STATE_STOP_COPY;
		return 0;
	case VFMIG_V1_STATE_RESUMING:
		*s = VFIO_DEVICE_STATE_RESUMING;
		return 0;
	case VFMIG_V1_STATE_ERROR:
		*s = VFIO_DEVICE_STATE_ERROR;
		return 0;
#if VFMIG_HAVE_PRE_COPY
	case VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING:
		*s = vd->p2p ? VFIO_DEVICE_STATE_PRE_COPY_P2P : VFIO_DEVICE_STATE_PRE_COPY;
		return 0;
#endif
	}
	return -EBUSY;
}

static bool vfmig_v2_starts_save(enum vfio_device_mig_state cur,
				 enum vfio_device_mig_state next)
{
	if (next == VFIO_DEVICE_STATE_STOP_COPY)
		return cur == VFIO_DEVICE_STATE_STOP;
#if VFMIG_HAVE_PRE_COPY
	if (next == VFIO_DEVICE_STATE_PRE_COPY)
		return cur == VFIO_DEVICE_STATE_RUNNING;
	if (next == VFIO_DEVICE_STATE_PRE_COPY_P2P)
		return cur == VFIO_DEVICE_STATE_RUNNING_P2P;
#endif
	return false;
}

/* One arc of the FSM, as vfio_mig_get_next_state() picked it. */
static struct file *vfmig_v2_arc(struct vfmig_dev *vd, enum vfio_device_mig_state cur,
				 enum vfio_device_mig_state next)
{
	struct file *f = NULL;
	int ret;

	ret = vfmig_mig_change_state(vd, vfmig_v2_to_v1(next));
	if (ret)
		return ERR_PTR(ret);
	vd->p2p = next == VFIO_DEVICE_STATE_RUNNING_P2P;
#if VFMIG_HAVE_PRE_COPY
	vd->p2p |= next == VFIO_DEVICE_STATE_PRE_COPY_P2P;
#endif
	if (vfmig_v2_starts_save(cur, next))
		f = vfmig_datafile_open(vd, true);
	else if (next == VFIO_DEVICE_STATE_RESUMING)
		f = vfmig_datafile_open(vd, false);
	else
		vfmig_datafile_wake(vd);	/* PRE_COPY_P2P -> STOP_COPY: EOF ahead */
	if (IS_ERR(f))
		vfmig_mig_enter_error(vd);	/* no file for the session it began */
	return f;
}

static struct file *vfmig_v2_set_state(struct vfio_device *vdev,
				       enum vfio_device_mig_state new)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);
	enum vfio_device_mig_state cur, next;
	struct file *f = NULL;
	int ret;

	mutex_lock(&vd->lock);
	ret = vfmig_v2_current(vd, &cur);
	/* The core's FSM has no arc out of ERROR (it would WARN): reset only. */
	if (!ret && cur == VFIO_DEVICE_STATE_ERROR)
		ret = -EINVAL;
	while (!ret && cur != new) {
		ret = vfio_mig_get_next_state(vdev, cur, new, &next);
		if (ret)
			break;
		f = vfmig_v2_arc(vd, cur, next);
		if (IS_ERR(f)) {
			ret = PTR_ERR(f);
			break;
		}
		cur = next;
		/* Saving-group states are never interior: a file ends the walk. */
		if (f && cur != new) {
			fput(f);
			f = NULL;
			vfmig_mig_enter_error(vd);
			ret = -EINVAL;
		}
	}
	if (ret)
		dev_dbg(vdev->dev, "v2 set_state %u refused: %d\n", new, ret);
	else
		dev_dbg(vdev->dev, "v2 state %u\n", new);
	mutex_unlock(&vd->lock);
	return ret ? ERR_PTR(ret) : f;
}

static int vfmig_v2_get_state(struct vfio_device *vdev, enum vfio_device_mig_state *s)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);
	int ret;

	mutex_lock(&vd->lock);
	ret = vfmig_v2_current(vd, s);
	mutex_unlock(&vd->lock);
	return ret;
}

#if VFMIG_HAVE_PRE_COPY
static int vfmig_v2_get_data_size(struct vfio_device *vdev, unsigned long *len)
{
	struct vfmig_dev *vd = vdev_to_vfmig(vdev);

	mutex_lock(&vd->lock);
	*len = vfmig_payload_stop_copy_size(vd);
	mutex_unlock(&vd->lock);
	return 0;
}
#endif

static const struct vfio_migration_ops vfmig_v2_ops = {
	.migration_set_state = vfmig_v2_set_state,
	.migration_get_state = vfmig_v2_get_state,
#if VFMIG_HAVE_PRE_COPY
	.migration_get_data_size = vfmig_v2_get_data_size,
#endif
};

/*
 * Offer v2 or not, per the protocol knob.  The core reads mig_ops and
 * migration_flags only through an open device fd (the feature ioctls), and
 * the knob cannot change while the device is open, so setting them at each
 * first open is as good as the static setting the core expects.  They are
 * NULL at registration, so the 6.12 core's debugfs (off in Debian) never
 * creates a migration/state file that could outlive a switch to v1.
 */
void vfmig_v2_setup(struct vfmig_dev *vd)
{
	if (vfmig_has_v2(vd)) {
		vd->vdev.migration_flags = VFMIG_COMPAT_MIG_FLAGS;
		vd->vdev.mig_ops = &vfmig_v2_ops;
	} else {
		vd->vdev.migration_flags = 0;
		vd->vdev.mig_ops = NULL;
	}
}

/* A read copies every byte, from save.rec or from device memory alike. */
static size_t vfmig_v2_copy_out(void *to, const u8 *p, size_t n)
{
	return copy_to_iter(p, n, to);
}

/*
 * A read of the saving file, lock held: the next bytes of the record
 * stream.  In pre-copy a stream with nothing pending answers -ENOMSG (a
 * temporary end); in stop-copy 0 after the END record (the real end).
 * A PAGES record the read has room for whole goes from device memory to
 * @to in one copy; a smaller read is served from save.rec as before.
 */
ssize_t vfmig_v2_save_read(struct vfmig_dev *vd, struct iov_iter *to)
{
	const struct vfmig_rec_sink sink = {
		.copy = vfmig_v2_copy_out,
		.lend = vfmig_v2_copy_out,
		.ctx = to,
	};
	struct vfmig_save *s = &vd->save;
	size_t len = iov_iter_count(to), done = 0;
	bool fault = false;
	int ret = 0;

	if (!s->active)
		return -EINVAL;
	if (!len)
		return 0;
	if (vd->fault == VFMIG_FAULT_SAVE_CHUNK) {
		vd->fault = VFMIG_FAULT_NONE;
		return -EIO;
	}
	len = min_t(size_t, len, VFMIG_V2_IO_MAX);
	while (done < len) {
		size_t n, got;

		if (s->rec_pos == s->rec_len) {
			ret = len - done >= VFMIG_REC_MAX ? vfmig_payload_next_ref(vd) :
			      vfmig_payload_next(vd, NULL, 0);
			if (ret == -ENODATA) {
				ret = 0;
				break;
			}
			if (ret < 0)
				break;
		}
		n = min_t(size_t, s->rec_len - s->rec_pos, len - done);
		got = vfmig_payload_take(s, n, &sink);
		done += got;
		if (got < n) {
			fault = true;
			break;
		}
	}
	vfmig_payload_stage(vd);
	if (!done)
		return ret < 0 ? ret : fault ? -EFAULT :
		       (vd->device_state & VFMIG_V1_STATE_RUNNING) ? -ENOMSG : 0;
	if (vd->fault == VFMIG_FAULT_SHORT_CHUNK && done > 16) {
		vd->fault = VFMIG_FAULT_NONE;
		done -= 16;	/* consumed but never delivered: lost */
		iov_iter_revert(to, 16);
	}
	vd->stats.bytes_saved += done;
	vd->stats.chunks_saved++;
	return done;
}

/*
 * A write to the resuming file, lock held: the bytes go to the payload
 * parser, a PAGES payload copied once, straight into device memory.  Bad
 * data or an injected fault is an error the session cannot recover from:
 * the write fails and the device goes to ERROR (memory that took part of
 * the stream cleared), which only VFIO_DEVICE_RESET leaves; the file is
 * dead from then on.
 */
ssize_t vfmig_v2_resume_write(struct vfmig_dev *vd, struct iov_iter *from)
{
	size_t len = iov_iter_count(from);
	ssize_t done;

	if (!vd->resume.active)
		return -EINVAL;
	/*
	 * A session poisoned through the v1 region refuses this write too,
	 * and v2's rule for a refused write holds: the error state.
	 */
	if (vd->resume.failed) {
		vfmig_mig_enter_error(vd);
		return -EINVAL;
	}
	if (!len)
		return 0;
	if (vd->fault == VFMIG_FAULT_RESUME_CHUNK) {
		vd->fault = VFMIG_FAULT_NONE;
		vfmig_mig_enter_error(vd);
		return -EIO;
	}
	/*
	 * Bytes through the file move the parser past anything a v1
	 * data_offset bound in a direct window: that binding and the chunk it
	 * announced end here, before any page is hashed.
	 */
	vfmig_window_unbind(vd);
	vd->resume.offset_read = false;
	done = vfmig_payload_feed_iter(vd, from, min_t(size_t, len, VFMIG_V2_IO_MAX));
	if (done == -EINVAL)
		vfmig_mig_enter_error(vd);
	if (done <= 0)
		return done;
	vd->stats.bytes_restored += done;
	vd->stats.chunks_restored++;
	return done;
}

/* VFIO_MIG_GET_PRECOPY_INFO, lock held: -EINVAL outside PRE_COPY(_P2P). */
int vfmig_v2_precopy_info(struct vfmig_dev *vd, u64 *initial, u64 *dirty)
{
	if ((vd->device_state & VFMIG_V1_STATE_MASK) !=
	    (VFMIG_V1_STATE_RUNNING | VFMIG_V1_STATE_SAVING) || !vd->save.active)
		return -EINVAL;
	vfmig_payload_precopy(vd, initial, dirty);
	return 0;
}

/* poll on the saving file, lock held: stopped means data or the end. */
bool vfmig_v2_readable(struct vfmig_dev *vd)
{
	if (!(vd->device_state & VFMIG_V1_STATE_RUNNING))
		return true;
	return vfmig_payload_pending(vd) > 0;
}
