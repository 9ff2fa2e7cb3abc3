// SPDX-License-Identifier: GPL-2.0
/* Save into and resume from a file descriptor or a file; inspect a stream. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offload.h"
#include "session.h"

/* A failed save has restarted the devices: say so. */
static int save_failed(struct vfmig_session *src, int ret, struct vfmig_err *err)
{
	if (ret)
		vfmig_err_prefix(err, "save %s, devices %s: ",
				 ret == -ECANCELED ? "cancelled" : "failed",
				 vfmig_session_after_failure(src));
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

	return save_failed(src, save_fd(src, fd, err), err);
}

/*
 * Where a save to a path writes.  A regular file, or none yet, is written
 * beside the file under a name of its own and renamed over it once synced:
 * a failed save leaves whatever the path held (an earlier save) and no
 * half-written stream.  Anything else (/dev/null, a FIFO, a terminal) is
 * written in place and never removed.
 */
struct save_target {
	char final[PATH_MAX];	/* the file a rename replaces (symlinks followed) */
	char tmp[PATH_MAX];	/* what is written; "" when written in place */
};

static int open_in_place(const char *path, struct vfmig_err *err)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return vfmig_err_set(err, -errno, "save: cannot open %s: %s", path,
				     strerror(errno));
	return fd;
}

static int open_target(const char *path, struct save_target *t, struct vfmig_err *err)
{
	struct stat st;
	bool exists = !stat(path, &st);
	int fd = -1;

	t->tmp[0] = '\0';
	if (exists && !S_ISREG(st.st_mode))
		return open_in_place(path, err);
	if (!realpath(path, t->final) &&
	    (errno != ENOENT || snprintf(t->final, sizeof(t->final), "%s", path) >= PATH_MAX))
		return vfmig_err_set(err, errno == ENOENT ? -ENAMETOOLONG : -errno,
				     "save: %s: %s", path,
				     strerror(errno == ENOENT ? ENAMETOOLONG : errno));
	for (unsigned int i = 0; fd < 0 && i < 100; i++) {
		if (snprintf(t->tmp, sizeof(t->tmp), "%s.vfmig-%ld-%u", t->final, (long)getpid(),
			     i) >= (int)sizeof(t->tmp)) {
			errno = ENAMETOOLONG;
			break;
		}
		fd = open(t->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		t->tmp[0] = '\0';
		return vfmig_err_set(err, -errno, "save: cannot create a file beside %s: %s", path,
				     strerror(errno));
	}
	if (exists)
		(void)fchmod(fd, st.st_mode & 07777);	/* the file replaced keeps its mode */
	return fd;
}

/* The stream is complete and synced: put it in place, durably if the directory syncs. */
static int commit_target(const char *path, struct save_target *t, struct vfmig_err *err)
{
	char dir[PATH_MAX];
	int dfd;

	if (!t->tmp[0])
		return 0;
	if (rename(t->tmp, t->final))
		return vfmig_err_set(err, -errno, "save: %s: rename: %s", path, strerror(errno));
	t->tmp[0] = '\0';
	snprintf(dir, sizeof(dir), "%s", t->final);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		/* The save is there either way; only the rename's durability is at stake. */
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
}

int vfmig_save_file(struct vfmig_session *src, const char *path)
{
	struct vfmig_err *err = vfmig_ctx_begin(src->ctx);
	struct save_target t;
	bool saved;
	int fd, ret;

	fd = open_target(path, &t, err);
	if (fd < 0)
		return fd;
	ret = save_fd(src, fd, err);
	saved = !ret;
	/* EINVAL: a special file (e.g. /dev/null) that cannot be synced. */
	if (!ret && fsync(fd) && errno != EINVAL)
		ret = vfmig_err_set(err, -errno, "save: %s: fsync: %s", path, strerror(errno));
	if (close(fd) && !ret)
		ret = vfmig_err_set(err, -errno, "save: %s: close: %s", path, strerror(errno));
	if (!ret)
		ret = commit_target(path, &t, err);
	if (ret && t.tmp[0])
		unlink(t.tmp);	/* no half-written stream that looks like a save */
	if (ret && saved) {
		/* The devices stopped, but their state never made it to disk. */
		vfmig_session_mark_failed(src, err);
		vfmig_session_restore_err(src, err);
	}
	return save_failed(src, ret, err);
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
