// SPDX-License-Identifier: GPL-2.0
/* Save into and resume from a file descriptor or a file; inspect a stream. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "offload.h"
#include "session.h"

/* A failed save has restarted the devices: say so. */
static int save_failed(int ret, struct vfmig_err *err)
{
	if (ret)
		vfmig_err_prefix(err, "save %s, devices running again: ",
				 ret == -ECANCELED ? "cancelled" : "failed");
	return ret;
}

static int load_failed(int ret, struct vfmig_err *err)
{
	if (ret)
		vfmig_err_prefix(err, "resume failed (devices reset): ");
	return ret;
}

/* The save into @fd, its devices' hashes offloaded where that pays (offload.c). */
static int save_fd(struct vfmig_session *src, int fd, struct vfmig_err *err)
{
	struct vfmig_offload o;
	int ret;

	vfmig_offload_begin(src, fd, &o);
	ret = vfmig_session_save_to(src, &(struct vfmig_endpoint){ .fd = fd }, err);
	vfmig_offload_end(src, &o);
	return ret;
}

static int load_fd(struct vfmig_session *dst, int fd, struct vfmig_err *err)
{
	struct vfmig_offload o;
	int ret;

	vfmig_offload_begin(dst, fd, &o);
	ret = vfmig_session_load_from(dst, &(struct vfmig_endpoint){ .fd = fd },
				      &dst->ctx->cancel, err);
	vfmig_offload_end(dst, &o);
	return ret;
}

int vfmig_save(struct vfmig_session *src, int fd)
{
	struct vfmig_err *err = vfmig_ctx_begin(src->ctx);

	return save_failed(save_fd(src, fd, err), err);
}

int vfmig_save_file(struct vfmig_session *src, const char *path)
{
	struct vfmig_err *err = vfmig_ctx_begin(src->ctx);
	bool saved;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return vfmig_err_set(err, -errno, "save: cannot create %s: %s", path,
				     strerror(errno));
	ret = save_fd(src, fd, err);
	saved = !ret;
	/* EINVAL: a special file (e.g. /dev/null) that cannot be synced. */
	if (!ret && fsync(fd) && errno != EINVAL)
		ret = vfmig_err_set(err, -errno, "save: %s: fsync: %s", path, strerror(errno));
	if (close(fd) && !ret)
		ret = vfmig_err_set(err, -errno, "save: %s: close: %s", path, strerror(errno));
	if (ret)
		unlink(path);	/* no half-written stream that looks like a save */
	if (ret && saved) {
		/* The devices stopped, but their state never made it to disk. */
		vfmig_session_mark_failed(src, err);
		vfmig_session_restart_err(src, err);
	}
	return save_failed(ret, err);
}

int vfmig_resume(struct vfmig_session *dst, int fd)
{
	struct vfmig_err *err = vfmig_ctx_begin(dst->ctx);

	return load_failed(load_fd(dst, fd, err), err);
}

int vfmig_resume_file(struct vfmig_session *dst, const char *path)
{
	struct vfmig_err *err = vfmig_ctx_begin(dst->ctx);
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return vfmig_err_set(err, -errno, "resume: cannot open %s: %s", path,
				     strerror(errno));
	ret = load_fd(dst, fd, err);
	close(fd);
	return load_failed(ret, err);
}

int vfmig_inspect(struct vfmig_ctx *ctx, int fd, FILE *out)
{
	return vfmig_stream_inspect(fd, out, NULL, vfmig_ctx_begin(ctx));
}
