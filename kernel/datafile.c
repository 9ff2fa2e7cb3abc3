// SPDX-License-Identifier: GPL-2.0
/*
 * vfmig v2 data files: the saving and resuming files a migration state
 * change hands user space (an anon inode each, a stream: no offsets).
 *
 * Lifetimes: a file pins the vfio_device's struct device (so struct
 * vfmig_dev and its lock outlive a remove) and, through its fops owner,
 * the module.  It is live only while it is vd->mig_file: any transition
 * that ends its session, a reset, the error state or the device's last
 * close cut it off (vfmig_datafile_sync), after which every call answers
 * -ENODEV and poll reports EPOLLHUP | EPOLLERR.  The device never points
 * at a file that was released.
 */
#include <linux/anon_inodes.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/splice.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "compat.h"
#include "vfmig.h"

struct vfmig_datafile {
	struct vfmig_dev *vd;
	bool saving;
	wait_queue_head_t wq;		/* poll: data, end of stream, cut off */
};

static ssize_t vfmig_df_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct vfmig_datafile *df = iocb->ki_filp->private_data;
	struct vfmig_dev *vd = df->vd;
	ssize_t ret;

	if (!df->saving)
		return -EINVAL;
	mutex_lock(&vd->lock);
	ret = vd->mig_file == df ? vfmig_v2_save_read(vd, to) : -ENODEV;
	mutex_unlock(&vd->lock);
	return ret;
}

/*
 * splice from the saving file lends device memory to the pipe
 * (save_splice.c); the faults that live on the read path (save_chunk,
 * short_chunk) are armed there, so while one is, the bytes are read and
 * copied as read(2) would.  Other faults leave lending as it is.
 */
static ssize_t vfmig_df_splice_read(struct file *in, loff_t *ppos,
				    struct pipe_inode_info *pipe, size_t len, unsigned int flags)
{
	struct vfmig_datafile *df = in->private_data;
	struct vfmig_dev *vd = df->vd;
	bool copy;
	ssize_t ret = 0;

	if (!df->saving)
		return -EINVAL;
	mutex_lock(&vd->lock);
	copy = vd->fault == VFMIG_FAULT_SAVE_CHUNK || vd->fault == VFMIG_FAULT_SHORT_CHUNK;
	if (!copy)
		ret = vd->mig_file == df ? vfmig_v2_save_splice(vd, pipe, len) : -ENODEV;
	mutex_unlock(&vd->lock);
	if (copy)
		return vfmig_compat_splice_read(in, ppos, pipe, len, flags);
	return ret;
}

static ssize_t vfmig_df_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vfmig_datafile *df = iocb->ki_filp->private_data;
	struct vfmig_dev *vd = df->vd;
	ssize_t ret;

	if (df->saving)
		return -EINVAL;
	mutex_lock(&vd->lock);
	ret = vd->mig_file == df ? vfmig_v2_resume_write(vd, from) : -ENODEV;
	mutex_unlock(&vd->lock);
	return ret;
}

static __poll_t vfmig_df_poll(struct file *filp, struct poll_table_struct *wait)
{
	struct vfmig_datafile *df = filp->private_data;
	struct vfmig_dev *vd = df->vd;
	__poll_t mask = 0;

	poll_wait(filp, &df->wq, wait);
	mutex_lock(&vd->lock);
	if (vd->mig_file != df)
		mask = EPOLLHUP | EPOLLERR;
	else if (!df->saving)
		mask = EPOLLOUT | EPOLLWRNORM;
	else if (vfmig_v2_readable(vd))
		mask = EPOLLIN | EPOLLRDNORM;
	mutex_unlock(&vd->lock);
	return mask;
}

static long vfmig_df_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
#if VFMIG_HAVE_PRE_COPY
	struct vfmig_datafile *df = filp->private_data;
	struct vfmig_dev *vd = df->vd;
	unsigned long minsz = offsetofend(struct vfio_precopy_info, dirty_bytes);
	struct vfio_precopy_info info;
	u64 initial, dirty;
	int ret;

	if (cmd != VFIO_MIG_GET_PRECOPY_INFO)
		return -ENOTTY;
	if (copy_from_user(&info, (void __user *)arg, minsz))
		return -EFAULT;
	if (info.argsz < minsz)
		return -EINVAL;
	mutex_lock(&vd->lock);
	if (vd->mig_file != df)
		ret = -ENODEV;
	else if (!df->saving)
		ret = -EINVAL;
	else
		ret = vfmig_v2_precopy_info(vd, &initial, &dirty);
	mutex_unlock(&vd->lock);
	if (ret)
		return ret;
	info.flags = 0;
	info.initial_bytes = initial;
	info.dirty_bytes = dirty;
	return copy_to_user((void __user *)arg, &info, minsz) ? -EFAULT : 0;
#else
	return -ENOTTY;		/* 6.1: no VFIO_MIG_GET_PRECOPY_INFO */
#endif
}

static int vfmig_df_release(struct inode *inode, struct file *filp)
{
	struct vfmig_datafile *df = filp->private_data;
	struct vfmig_dev *vd = df->vd;

	mutex_lock(&vd->lock);
	if (vd->mig_file == df)
		vd->mig_file = NULL;
	mutex_unlock(&vd->lock);
	vfmig_kfree(df, sizeof(*df));
	/* May be the last reference: the device is freed here after a remove. */
	vfio_put_device(&vd->vdev);
	return 0;
}

static const struct file_operations vfmig_df_fops = {
	.owner = THIS_MODULE,
	.read_iter = vfmig_df_read_iter,
	.write_iter = vfmig_df_write_iter,
	/* splice(2) to and from a pipe: lent pages out, write_iter in. */
	.splice_read = vfmig_df_splice_read,
	.splice_write = iter_file_splice_write,
	.poll = vfmig_df_poll,
	.unlocked_ioctl = vfmig_df_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.release = vfmig_df_release,
};

/* Cut off the current file, if any: its calls fail from now on. */
static void vfmig_datafile_cut(struct vfmig_dev *vd)
{
	struct vfmig_datafile *df = vd->mig_file;

	if (!df)
		return;
	vd->mig_file = NULL;
	wake_up_all(&df->wq);
}

/*
 * A file for the session that just began (lock held); it replaces any
 * older one.  The caller hands it to the core, which installs an fd.
 */
struct file *vfmig_datafile_open(struct vfmig_dev *vd, bool saving)
{
	struct vfmig_datafile *df;
	struct file *filp;

	lockdep_assert_held(&vd->lock);
	df = vfmig_kzalloc(sizeof(*df));
	if (!df)
		return ERR_PTR(-ENOMEM);
	df->vd = vd;
	df->saving = saving;
	init_waitqueue_head(&df->wq);
	filp = anon_inode_getfile(saving ? "vfmig_save" : "vfmig_resume", &vfmig_df_fops, df,
				  saving ? O_RDONLY : O_WRONLY);
	if (IS_ERR(filp)) {
		vfmig_kfree(df, sizeof(*df));
		return filp;
	}
	stream_open(filp->f_inode, filp);
	get_device(&vd->vdev.device);
	vfmig_datafile_cut(vd);
	vd->mig_file = df;
	return filp;
}

/* Lock held: a file whose session is over is cut off. */
void vfmig_datafile_sync(struct vfmig_dev *vd)
{
	struct vfmig_datafile *df = vd->mig_file;

	if (df && !(df->saving ? vd->save.active : vd->resume.active))
		vfmig_datafile_cut(vd);
}

/* Lock held: wake pollers (more data, the end of pre-copy). */
void vfmig_datafile_wake(struct vfmig_dev *vd)
{
	if (vd->mig_file)
		wake_up_all(&vd->mig_file->wq);
}
