// SPDX-License-Identifier: GPL-2.0
/* VFIO v2 device handler for the savevm engine. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "v2.h"
#include "devsection.h"
#include "splice.h"
#include "v2dev.h"

struct vfmig_v2dev {
	const struct vfmig_v2_ops *ops;
	void *opaque;
	const char *name;
	uint64_t flags;		/* VFIO_MIGRATION_* */
	const struct vfmig_v1dev_config_ops *config;
	void *bounce;
	size_t bounce_len;
	int data_fd;		/* saving or resuming file, -1 = none */
	bool precopy;		/* this save is in PRE_COPY */
	uint64_t pending;	/* last PRECOPY_INFO sum, the round's target */
	bool touched;		/* save changed the state: restore on failure */
	bool was_running;	/* what a failed save returns to: RUNNING or STOP */
	bool began;		/* a save read the state it began in */
	struct vfmig_pipe pipe;	/* splice path; see save_one_splice, load_splice */
	bool no_splice;		/* refused this session: read/write only */
	int stream_fd;		/* the stream fd splice_ready checked, -1 = none yet */
	bool stream_socket;	/* ... and it is a socket */
	uint64_t spliced;	/* DATA bytes that went by splice */
	struct vfmig_v1dev_counters cnt;
};

struct vfmig_v2dev *vfmig_v2dev_new(const struct vfmig_v2_ops *ops, void *opaque,
				    const char *name, uint64_t flags,
				    const struct vfmig_v2dev_opts *o, struct vfmig_err *err)
{
	size_t bounce = o && o->bounce_size ? o->bounce_size : VFMIG_V2DEV_BOUNCE_DEFAULT;
	struct vfmig_v2dev *dev;

	if (!(flags & VFIO_MIGRATION_STOP_COPY)) {
		vfmig_err_set(err, -EOPNOTSUPP, "%s: v2 device without STOP_COPY", name);
		return NULL;
	}
	if (bounce > VFMIG_V1DEV_BOUNCE_MAX) {
		vfmig_err_set(err, -EINVAL, "%s: data file buffer of %zu bytes exceeds %u", name,
			      bounce, VFMIG_V1DEV_BOUNCE_MAX);
		return NULL;
	}
	dev = calloc(1, sizeof(*dev));
	if (dev)
		dev->bounce = malloc(bounce);
	if (!dev || !dev->bounce) {
		free(dev);
		vfmig_err_set(err, -ENOMEM, "%s: out of memory", name);
		return NULL;
	}
	dev->ops = ops;
	dev->opaque = opaque;
	dev->name = name;
	dev->flags = flags;
	dev->was_running = true;
	dev->bounce_len = bounce;
	dev->config = o ? o->config : NULL;
	dev->data_fd = -1;
	vfmig_pipe_init(&dev->pipe);
	dev->stream_fd = -1;
	return dev;
}

static void close_data(struct vfmig_v2dev *dev)
{
	if (dev->data_fd >= 0)
		close(dev->data_fd);
	dev->data_fd = -1;
}

void vfmig_v2dev_free(struct vfmig_v2dev *dev)
{
	if (!dev)
		return;
	close_data(dev);
	vfmig_pipe_close(&dev->pipe);
	free(dev->bounce);
	free(dev);
}

const struct vfmig_v1dev_counters *vfmig_v2dev_counters(const struct vfmig_v2dev *dev)
{
	return &dev->cnt;
}

uint64_t vfmig_v2dev_spliced(const struct vfmig_v2dev *dev)
{
	return dev->spliced;
}

static int fail(const struct vfmig_v2dev *dev, int ret, const char *step, struct vfmig_err *err)
{
	vfmig_err_prefix(err, "%s: %s: ", dev->name, step);
	return ret;
}

/* Move to state; a data file the move hands out replaces the current one. */
static int set_state(struct vfmig_v2dev *dev, uint32_t state, const char *step,
		     struct vfmig_err *err)
{
	int fd, ret;

	ret = dev->ops->set_state(dev->opaque, state, &fd, err);
	if (ret)
		return fail(dev, ret, step, err);
	if (fd >= 0) {
		close_data(dev);
		dev->data_fd = fd;
	}
	return 0;
}

static int check_cancel(struct vfmig_v2dev *dev, vfmig_cancel_t *cancel,
			struct vfmig_err *err)
{
	if (vfmig_cancel_requested(cancel))
		return vfmig_err_set(err, -ECANCELED, "%s: cancelled between reads", dev->name);
	return 0;
}

/* A new session: splice may work again, on whatever stream comes. */
static void splice_reset(struct vfmig_v2dev *dev)
{
	dev->no_splice = false;
	dev->stream_fd = -1;
}

/*
 * The splice path is set up for this fd (or refused): 0, or -1 to fall
 * back.  The fd's type is looked up once per session (an fstat per call
 * was 2 system calls per MiB moved).
 */
static int splice_ready(struct vfmig_v2dev *dev, int fd)
{
	enum vfmig_splice_kind kind = VFMIG_SPLICE_FILE;

	if (!dev->no_splice && fd >= 0 && fd != dev->stream_fd) {
		kind = vfmig_splice_fd_kind(fd);
		dev->stream_fd = fd;
		dev->stream_socket = kind == VFMIG_SPLICE_SOCKET;
	}
	if (dev->no_splice || fd < 0 || kind == VFMIG_SPLICE_NONE || vfmig_pipe_open(&dev->pipe)) {
		dev->no_splice = true;
		return -1;
	}
	return 0;
}

/* The pipe's first n bytes, read(2) out, to the stream: splice to it was refused. */
static int drain_to_stream(struct vfmig_v2dev *dev, struct vfmig_save_io *io, size_t n)
{
	ssize_t k;
	int ret;

	while (n) {
		k = read(dev->pipe.rd, dev->bounce, n < dev->bounce_len ? n : dev->bounce_len);
		if (k <= 0)
			return vfmig_err_set(io->err, k < 0 ? -errno : -EIO,
					     "%s: send data: pipe read: %s", dev->name,
					     k < 0 ? strerror(errno) : "pipe empty");
		ret = vfmig_writer_put(io->w, dev->bounce, (size_t)k, io->err);
		if (ret)
			return fail(dev, ret, "send data", io->err);
		n -= (size_t)k;
	}
	return 0;
}

/*
 * One read of the saving file as one DATA blob, by splice: the saving file
 * into our pipe (its size is the blob's), the blob header out through the
 * writer, then the pipe into the stream fd.  1: not taken (nothing read),
 * use read(2); otherwise as save_one_read.
 */
static int save_one_splice(struct vfmig_v2dev *dev, struct vfmig_save_io *io, size_t max,
			   uint64_t *got)
{
	int out = vfmig_writer_raw_fd(io->w), ret;
	size_t left;
	ssize_t n, k;

	if (splice_ready(dev, out))
		return 1;
	if (max > dev->pipe.cap)
		max = dev->pipe.cap;
	n = vfmig_splice_once(dev->data_fd, dev->pipe.wr, max, false, io->cancel);
	if (vfmig_splice_refused(n)) {
		dev->no_splice = true;	/* the module has no splice, or an error read() tells */
		return 1;
	}
	if (n == -ENOMSG && dev->precopy)
		return 0;
	if (n == -ECANCELED)
		return vfmig_err_set(io->err, -ECANCELED, "%s: cancelled between reads", dev->name);
	if (n < 0)
		return vfmig_err_set(io->err, (int)n, "%s: read of the saving file: %s", dev->name,
				     strerror((int)-n));
	if (!n)
		return 0;
	ret = vfmig_stream_put_blob(io->w, VFMIG_TAG_DATA, (uint64_t)n, io->err);
	if (!ret)
		ret = vfmig_writer_flush(io->w, io->err);
	for (left = (size_t)n; !ret && left; left -= (size_t)k) {
		k = vfmig_splice_once(dev->pipe.rd, out, left, dev->stream_socket, io->cancel);
		if (vfmig_splice_refused(k)) {
			dev->no_splice = true;
			ret = drain_to_stream(dev, io, left);
			break;
		}
		/* A signal ends a blocked splice short, not always with EINTR. */
		if (k == -ECANCELED || (k > 0 && (size_t)k < left && vfmig_cancel_requested(io->cancel))) {
			ret = vfmig_err_set(io->err, -ECANCELED, "%s: send data: cancelled",
					    dev->name);
			break;
		}
		if (k <= 0) {
			ret = vfmig_err_set(io->err, k < 0 ? (int)k : -EIO,
					    "%s: send data: stream write failed near offset %" PRIu64
					    ": %s", dev->name,
					    io->w->offset + (size_t)n - left,
					    k < 0 ? strerror((int)-k) : "no progress");
			break;
		}
		vfmig_writer_moved(io->w, (uint64_t)k);
		dev->spliced += (uint64_t)k;
	}
	if (ret) {
		vfmig_pipe_close(&dev->pipe);	/* may hold bytes that never went out */
		return ret;
	}
	dev->cnt.chunks++;
	dev->cnt.data_bytes += (uint64_t)n;
	*got = (uint64_t)n;
	return 0;
}

/*
 * One read of the saving file as one DATA blob.  *got = 0: the file has
 * nothing now (ENOMSG, pre-copy) or ended (0, stop-copy).
 */
static int save_one_read(struct vfmig_v2dev *dev, struct vfmig_save_io *io, size_t max,
			 uint64_t *got)
{
	ssize_t n;
	int ret;

	*got = 0;
	if (dev->data_fd < 0)
		return vfmig_err_set(io->err, -EBADF, "%s: no saving file", dev->name);
	if (max > dev->bounce_len)
		max = dev->bounce_len;
	ret = save_one_splice(dev, io, max, got);
	if (ret <= 0)
		return ret;
	for (;;) {
		n = read(dev->data_fd, dev->bounce, max);
		if (n >= 0)
			break;
		if (errno == ENOMSG && dev->precopy)
			return 0;
		if (errno != EINTR)
			return vfmig_err_set(io->err, -errno, "%s: read of the saving file: %s",
					     dev->name, strerror(errno));
		ret = check_cancel(dev, io->cancel, io->err);
		if (ret)
			return ret;
	}
	if (!n)
		return 0;
	ret = vfmig_stream_put_blob(io->w, VFMIG_TAG_DATA, (uint64_t)n, io->err);
	if (!ret)
		ret = vfmig_writer_put(io->w, dev->bounce, (size_t)n, io->err);
	if (ret)
		return fail(dev, ret, "send data", io->err);
	dev->cnt.chunks++;
	dev->cnt.data_bytes += (uint64_t)n;
	*got = (uint64_t)n;
	return 0;
}

static int v2dev_setup(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v2dev *dev = opaque;
	uint32_t state;
	int ret;

	ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_SETUP, io->err);
	if (ret)
		return ret;
	ret = dev->ops->get_state(dev->opaque, &state, io->err);
	if (ret)
		return fail(dev, ret, "read state", io->err);
	/*
	 * A stopped source (saved before, say) is saved as stopped: the arc
	 * STOP -> PRE_COPY runs the device on the way, so no pre-copy for it,
	 * and a failed save leaves it stopped.
	 */
	dev->was_running = state == VFIO_DEVICE_STATE_RUNNING ||
			   state == VFIO_DEVICE_STATE_PRE_COPY ||
			   state == VFIO_DEVICE_STATE_RUNNING_P2P ||
			   state == VFIO_DEVICE_STATE_PRE_COPY_P2P;
	dev->began = true;
	dev->touched = true;
	dev->pending = 0;
	dev->precopy = false;
	splice_reset(dev);
	close_data(dev);
	if (io->offline || !dev->was_running)
		ret = set_state(dev, VFIO_DEVICE_STATE_STOP, "stop device", io->err);
	else if (dev->flags & VFIO_MIGRATION_PRE_COPY) {
		ret = set_state(dev, VFIO_DEVICE_STATE_PRE_COPY, "enter pre-copy", io->err);
		dev->precopy = !ret;
		if (!ret && dev->data_fd < 0)
			ret = vfmig_err_set(io->err, -EPROTO, "%s: PRE_COPY gave no saving file",
					    dev->name);
	}
	if (ret)
		return ret;
	return vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
}

static int v2dev_pending(void *opaque, uint64_t *pending, struct vfmig_save_io *io)
{
	struct vfmig_v2dev *dev = opaque;
	uint64_t initial, dirty;
	int ret;

	/*
	 * Without PRE_COPY nothing can go before the stop: report 0 so the
	 * engine goes to stop-copy at once (as QEMU's estimate counts only
	 * pre-copy bytes), instead of iterating on data it cannot read.
	 */
	*pending = dev->pending = 0;
	if (!dev->precopy)
		return 0;
	ret = dev->ops->precopy_info(dev->opaque, dev->data_fd, &initial, &dirty, io->err);
	if (ret)
		return fail(dev, ret, "query pre-copy", io->err);
	*pending = dev->pending = initial + dirty;
	return 0;
}

static int v2dev_iterate(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v2dev *dev = opaque;
	uint64_t target = dev->pending, sent = 0, got;
	int ret, done = !dev->precopy;

	while (!done) {
		uint64_t room = io->budget - sent;

		ret = check_cancel(dev, io->cancel, io->err);
		if (!ret)
			ret = save_one_read(dev, io, room < SIZE_MAX ? (size_t)room : SIZE_MAX,
					    &got);
		if (ret)
			return ret;
		if (!got) {
			done = 1;	/* caught up with the device for now */
			break;
		}
		sent += got;
		if (sent >= io->budget || sent >= target)
			break;
	}
	dev->pending = 0;
	ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
	return ret ? ret : done;
}

static int v2dev_complete(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v2dev *dev = opaque;
	uint64_t got;
	int ret;

	ret = set_state(dev, VFIO_DEVICE_STATE_STOP_COPY, "enter stop-copy", io->err);
	dev->precopy = false;
	if (!ret && dev->data_fd < 0)
		ret = vfmig_err_set(io->err, -EPROTO, "%s: STOP_COPY gave no saving file",
				    dev->name);
	while (!ret) {
		ret = check_cancel(dev, io->cancel, io->err);
		if (!ret)
			ret = save_one_read(dev, io, dev->bounce_len, &got);
		if (!ret && !got)
			break;	/* end of the saving file */
	}
	if (!ret)
		ret = vfmig_stream_put_tag(io->w, VFMIG_TAG_END_OF_STATE, io->err);
	if (!ret)
		ret = set_state(dev, VFIO_DEVICE_STATE_STOP, "stop after stop-copy", io->err);
	if (!ret)
		close_data(dev);
	return ret;
}

static int v2dev_save_config(void *opaque, struct vfmig_save_io *io)
{
	struct vfmig_v2dev *dev = opaque;

	return vfmig_devsec_save_config(dev->config, dev->name, io);
}

/* To RUNNING or STOP from any state, ERROR by VFIO_DEVICE_RESET. */
static int return_to(struct vfmig_v2dev *dev, uint32_t want, struct vfmig_err *err)
{
	uint32_t state = VFIO_DEVICE_STATE_ERROR;
	struct vfmig_err sub;
	int ret;

	close_data(dev);
	vfmig_err_clear(&sub);
	/* ERROR is left only by a reset; any other state has a path to RUNNING and STOP. */
	if (!dev->ops->get_state(dev->opaque, &state, &sub) && state != VFIO_DEVICE_STATE_ERROR &&
	    !dev->ops->set_state(dev->opaque, want, NULL, &sub))
		return 0;
	ret = dev->ops->reset(dev->opaque, err);
	if (!ret)
		ret = dev->ops->get_state(dev->opaque, &state, err);
	if (!ret && state != VFIO_DEVICE_STATE_RUNNING)
		ret = vfmig_err_set(err, -EIO, "%s after VFIO_DEVICE_RESET",
				    vfmig_v2_state_name(state));
	/* A reset runs the device: stop at once one that was stopped. */
	if (!ret && want == VFIO_DEVICE_STATE_STOP)
		ret = dev->ops->set_state(dev->opaque, want, NULL, err);
	if (ret)
		vfmig_err_prefix(err, "%s: return to %s (%s): ", dev->name,
				 vfmig_v2_state_name(want), sub.code ? sub.msg : "device in ERROR");
	return ret;
}

int vfmig_v2dev_restart(struct vfmig_v2dev *dev, struct vfmig_err *err)
{
	return return_to(dev, VFIO_DEVICE_STATE_RUNNING, err);
}

int vfmig_v2dev_restore(struct vfmig_v2dev *dev, struct vfmig_err *err)
{
	return return_to(dev, dev->was_running ? VFIO_DEVICE_STATE_RUNNING : VFIO_DEVICE_STATE_STOP,
			 err);
}

int vfmig_v2dev_stop(struct vfmig_v2dev *dev, struct vfmig_err *err)
{
	close_data(dev);
	return set_state(dev, VFIO_DEVICE_STATE_STOP, "stop", err);
}

bool vfmig_v2dev_restored(struct vfmig_v2dev *dev, bool *was_running)
{
	struct vfmig_err sub = { 0 };
	uint32_t state;

	if (dev->ops->get_state(dev->opaque, &state, &sub))
		return false;
	*was_running = dev->began ? dev->was_running : state != VFIO_DEVICE_STATE_STOP;
	return state == (*was_running ? VFIO_DEVICE_STATE_RUNNING : VFIO_DEVICE_STATE_STOP);
}

static int v2dev_cleanup(void *opaque, bool failed, struct vfmig_err *err)
{
	struct vfmig_v2dev *dev = opaque;
	bool touched = dev->touched;

	dev->touched = false;
	dev->precopy = false;
	close_data(dev);
	if (!failed || !touched)
		return 0;
	return vfmig_v2dev_restore(dev, err);
}

static int v2dev_load_setup(void *opaque, struct vfmig_err *err)
{
	struct vfmig_v2dev *dev = opaque;
	int ret;

	close_data(dev);
	splice_reset(dev);
	dev->was_running = true;	/* a destination's restart is a run */
	dev->began = false;
	ret = set_state(dev, VFIO_DEVICE_STATE_RESUMING, "enter resuming", err);
	if (!ret && dev->data_fd < 0)
		ret = vfmig_err_set(err, -EPROTO, "%s: RESUMING gave no resuming file", dev->name);
	return ret;
}

static int v2dev_load_cleanup(void *opaque, bool failed, struct vfmig_err *err)
{
	struct vfmig_v2dev *dev = opaque;

	(void)err;
	/* On success the file stays until start leaves RESUMING. */
	if (failed)
		close_data(dev);
	return 0;
}

/* All of the bounce's len bytes into the resuming file; the kernel may take it in pieces. */
static int write_all(struct vfmig_v2dev *dev, struct vfmig_load_io *io, size_t len)
{
	const uint8_t *p = dev->bounce;
	ssize_t n;

	while (len) {
		n = write(dev->data_fd, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR) {
			if (vfmig_cancel_requested(io->cancel))
				return vfmig_err_set(io->err, -ECANCELED, "%s: load cancelled",
						     dev->name);
			continue;
		}
		return vfmig_err_set(io->err, n < 0 ? -errno : -EIO,
				     "%s: resuming file refused the data after %" PRIu64 " bytes: %s",
				     dev->name, dev->cnt.data_bytes + (uint64_t)(p - (uint8_t *)dev->bounce),
				     n < 0 ? strerror(errno) : "no progress");
	}
	return 0;
}

/*
 * Up to size bytes of the current DATA chunk by splice: the stream fd into
 * our pipe, the pipe into the resuming file.  1: not taken (nothing read),
 * use read/write; else 0 with the bytes moved added to cnt.data_bytes, or
 * an error.
 */
static int load_splice(struct vfmig_v2dev *dev, struct vfmig_load_io *io, uint64_t size)
{
	int in = vfmig_reader_raw_fd(io->r), ret = 0;
	size_t want, left;
	ssize_t n, k;

	if (vfmig_reader_buffered(io->r) || splice_ready(dev, in))
		return 1;
	want = size < dev->pipe.cap ? (size_t)size : dev->pipe.cap;
	n = vfmig_splice_once(in, dev->pipe.wr, want, false, io->cancel);
	if (vfmig_splice_refused(n)) {
		dev->no_splice = true;
		return 1;
	}
	if (n == -ECANCELED)
		return vfmig_err_set(io->err, -ECANCELED, "%s: load cancelled", dev->name);
	if (n < 0)
		return vfmig_err_set(io->err, (int)n, "%s: stream offset %" PRIu64 ": read: %s",
				     dev->name, vfmig_reader_offset(io->r), strerror((int)-n));
	if (!n)
		return vfmig_reader_truncated(io->r, "data", 0, size, io->err);
	vfmig_reader_moved(io->r, (uint64_t)n);
	for (left = (size_t)n; left; left -= (size_t)k) {
		k = vfmig_splice_once(dev->pipe.rd, dev->data_fd, left, false, io->cancel);
		if (vfmig_splice_refused(k)) {
			/* No splice_write (or bad data): write(2) tells which. */
			dev->no_splice = true;
			dev->cnt.data_bytes += (uint64_t)n - left;	/* spliced before */
			ret = 0;
			while (!ret && left) {
				size_t m = left < dev->bounce_len ? left : dev->bounce_len;

				k = read(dev->pipe.rd, dev->bounce, m);
				if (k <= 0) {
					ret = vfmig_err_set(io->err, k < 0 ? -errno : -EIO,
							    "%s: load data: pipe read: %s",
							    dev->name,
							    k < 0 ? strerror(errno) : "pipe empty");
					break;
				}
				ret = write_all(dev, io, (size_t)k);
				dev->cnt.data_bytes += (uint64_t)k;
				left -= (size_t)k;
			}
			if (ret)
				vfmig_pipe_close(&dev->pipe);
			return ret;
		}
		if (k == -ECANCELED || (k > 0 && (size_t)k < left && vfmig_cancel_requested(io->cancel))) {
			vfmig_pipe_close(&dev->pipe);
			return vfmig_err_set(io->err, -ECANCELED, "%s: load cancelled", dev->name);
		}
		if (k <= 0) {
			vfmig_pipe_close(&dev->pipe);
			return vfmig_err_set(io->err, k < 0 ? (int)k : -EIO,
					     "%s: resuming file refused the data after %" PRIu64
					     " bytes: %s", dev->name,
					     dev->cnt.data_bytes + (size_t)n - left,
					     k < 0 ? strerror((int)-k) : "no progress");
		}
		dev->spliced += (uint64_t)k;
	}
	dev->cnt.data_bytes += (uint64_t)n;
	return 0;
}

/* One DATA chunk of @size bytes into the resuming file: spliced or copied. */
static int load_chunk(struct vfmig_v2dev *dev, struct vfmig_load_io *io, uint64_t size)
{
	int ret;

	while (size) {
		size_t n = size < dev->bounce_len ? (size_t)size : dev->bounce_len;
		bool raw = !dev->no_splice && vfmig_reader_raw_fd(io->r) >= 0;
		size_t buffered = vfmig_reader_buffered(io->r);
		uint64_t before = dev->cnt.data_bytes;

		ret = raw ? load_splice(dev, io, size) : 1;
		if (ret < 0)
			return ret;
		if (!ret) {
			size -= dev->cnt.data_bytes - before;
			continue;
		}
		/* What the reader holds goes first; then splice may take over. */
		if (raw && !dev->no_splice && buffered && n > buffered)
			n = buffered;
		ret = vfmig_reader_get(io->r, dev->bounce, n, "data", io->err);
		if (!ret)
			ret = write_all(dev, io, n);
		if (ret)
			return ret;
		dev->cnt.data_bytes += n;
		size -= n;
	}
	dev->cnt.chunks++;
	return 0;
}

static int load_data(struct vfmig_v2dev *dev, struct vfmig_load_io *io)
{
	uint64_t size;
	int ret;

	while ((ret = vfmig_devsec_next_data(dev->name, io, &size)) > 0) {
		ret = load_chunk(dev, io, size);
		if (ret)
			return ret;
	}
	return ret;
}

static int v2dev_load_state(void *opaque, struct vfmig_load_io *io)
{
	struct vfmig_v2dev *dev = opaque;

	switch (io->sec->type) {
	case VFMIG_SECTION_START:
		return vfmig_devsec_load_start(dev->name, io);
	case VFMIG_SECTION_FULL:
		return vfmig_devsec_load_config(dev->config, dev->name, io);
	default:
		if (dev->data_fd < 0)
			return vfmig_err_set(io->err, -EBADF, "%s: no resuming file", dev->name);
		return load_data(dev, io);
	}
}

int vfmig_v2dev_start(struct vfmig_v2dev *dev, struct vfmig_err *err)
{
	/* RESUMING -> STOP checks the END record; then the file is done. */
	int ret = set_state(dev, VFIO_DEVICE_STATE_RUNNING, "start device", err);

	close_data(dev);
	return ret;
}

static const char *v2dev_name(void *opaque)
{
	const struct vfmig_v2dev *dev = opaque;

	return dev->name;
}

const struct vfmig_savevm_handlers vfmig_v2dev_handlers = {
	.setup = v2dev_setup,
	.pending = v2dev_pending,
	.iterate = v2dev_iterate,
	.complete = v2dev_complete,
	.save_config = v2dev_save_config,
	.cleanup = v2dev_cleanup,
	.load_setup = v2dev_load_setup,
	.load_state = v2dev_load_state,
	.load_cleanup = v2dev_load_cleanup,
	.name = v2dev_name,
};

int vfmig_v2dev_register(struct vfmig_savevm *sv, struct vfmig_v2dev *dev,
			 const char *idstr, uint32_t instance, struct vfmig_err *err)
{
	return vfmig_savevm_register_versions(sv, idstr, instance, VFMIG_V2DEV_VERSION,
					      VFMIG_DEVICE_LOAD_VERSION, &vfmig_v2dev_handlers,
					      dev, err);
}
