// SPDX-License-Identifier: GPL-2.0
/*
 * Module management with libkmod: the same library modprobe uses, so
 * dependency resolution, compressed modules and error codes behave like the
 * system's own tools.  It is opened on first use (libkmod_lazy.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kmod.h"
#include "libkmod_lazy.h"

#define VFMIG_KMOD_NAME "vfmig"

/* We report failures ourselves, with context; keep libkmod quiet. */
static struct kmod_ctx *quiet_ctx(const struct vfmig_libkmod *k)
{
	struct kmod_ctx *ctx = k->kmod_new(NULL, NULL);

	if (ctx)
		k->kmod_set_log_priority(ctx, LOG_CRIT);
	return ctx;
}

/*
 * Load a module by name, as modprobe would (deps, softdeps, aliases), with
 * @params (may be NULL).
 */
static int load_by_name(const struct vfmig_libkmod *k, struct kmod_ctx *ctx, const char *name,
			const char *params, struct vfmig_err *err)
{
	struct kmod_list *list = NULL, *l;
	int ret;

	ret = k->kmod_module_new_from_lookup(ctx, name, &list);
	if (ret < 0 || !list)
		return vfmig_err_set(err, ret < 0 ? ret : -ENOENT,
				     "module %s: not found in the module index of this kernel",
				     name);
	for (l = list; l; l = k->kmod_list_next(list, l)) {
		struct kmod_module *m = k->kmod_module_get_module(l);

		ret = k->kmod_module_probe_insert_module(m, 0, params, NULL, NULL, NULL);
		k->kmod_module_unref(m);
		if (ret < 0 && ret != -EEXIST) {
			vfmig_err_set(err, ret, "module %s: load failed: %s",
				      name, strerror(-ret));
			break;
		}
		ret = 0;
	}
	k->kmod_module_unref_list(list);
	return ret;
}

/* Load what vfmig.ko declares it needs: "depends=" and "softdep=pre: ...". */
static int load_dependencies(const struct vfmig_libkmod *k, struct kmod_ctx *ctx,
			     struct kmod_module *mod, struct vfmig_err *err)
{
	struct kmod_list *info = NULL, *l;
	int ret;

	ret = k->kmod_module_get_info(mod, &info);
	if (ret < 0)
		return vfmig_err_set(err, ret, "cannot read modinfo of %s: %s",
				     k->kmod_module_get_path(mod), strerror(-ret));
	ret = 0;
	for (l = info; l; l = k->kmod_list_next(info, l)) {
		const char *key = k->kmod_module_info_get_key(l);
		const char *val = k->kmod_module_info_get_value(l);
		char buf[512], *tok, *save = NULL;
		const char *sep;

		if (!val)
			continue;
		if (!strcmp(key, "depends"))
			sep = ",";
		else if (!strcmp(key, "softdep") && !strncmp(val, "pre:", 4))
			sep = " ";
		else
			continue;
		snprintf(buf, sizeof(buf), "%s",
			 strcmp(key, "softdep") ? val : val + 4);
		for (tok = strtok_r(buf, sep, &save); tok && !ret;
		     tok = strtok_r(NULL, sep, &save)) {
			if (!strcmp(tok, "post:"))
				break;	/* post-softdeps come after us */
			ret = load_by_name(k, ctx, tok, NULL, err);
		}
		if (ret)
			break;
	}
	k->kmod_module_info_free_list(info);
	return ret;
}

bool vfmig_module_is_loaded(void)
{
	return access("/sys/module/" VFMIG_KMOD_NAME "/initstate", F_OK) == 0;
}

int vfmig_module_load(struct vfmig_ctx *vctx, const char *path, const char *params,
		      bool *was_loaded)
{
	struct vfmig_err *err = vfmig_ctx_begin(vctx);
	const struct vfmig_libkmod *k;
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret;

	if (was_loaded)
		*was_loaded = vfmig_module_is_loaded();
	if (vfmig_module_is_loaded())
		return 0;

	k = vfmig_libkmod(err);
	if (!k) {
		vfmig_err_prefix(err, "module load: ");
		return -ENOSYS;
	}
	ctx = quiet_ctx(k);
	if (!ctx)
		return vfmig_err_set(err, -ENOMEM, "module load: cannot create a libkmod context");

	/* No file: the one installed in this kernel's module tree (make install). */
	if (!path) {
		ret = load_by_name(k, ctx, VFMIG_KMOD_NAME, params, err);
		k->kmod_unref(ctx);
		return ret;
	}
	ret = k->kmod_module_new_from_path(ctx, path, &mod);
	if (ret < 0) {
		vfmig_err_set(err, ret, "module load: %s: %s", path, strerror(-ret));
		goto out;
	}
	ret = load_dependencies(k, ctx, mod, err);
	if (ret)
		goto out;
	ret = k->kmod_module_insert_module(mod, 0, params);
	if (ret == -EEXIST) {
		if (was_loaded)
			*was_loaded = true;
		ret = 0;
	} else if (ret < 0) {
		vfmig_err_set(err, ret, "module load: insert %s%s%s: %s", path,
			      params ? " with " : "", params ? params : "",
			      ret == -ENOEXEC ? "not built for this kernel (exec format error)" :
			      strerror(-ret));
	}
out:
	k->kmod_module_unref(mod);
	k->kmod_unref(ctx);
	return ret;
}

int vfmig_module_unload(struct vfmig_ctx *vctx)
{
	struct vfmig_err *err = vfmig_ctx_begin(vctx);
	const struct vfmig_libkmod *k;
	struct kmod_module *mod = NULL;
	struct kmod_ctx *ctx;
	int ret;

	if (!vfmig_module_is_loaded())
		return 0;
	k = vfmig_libkmod(err);
	if (!k) {
		vfmig_err_prefix(err, "module unload: ");
		return -ENOSYS;
	}
	ctx = quiet_ctx(k);
	if (!ctx)
		return vfmig_err_set(err, -ENOMEM, "module unload: cannot create a libkmod context");
	ret = k->kmod_module_new_from_name(ctx, VFMIG_KMOD_NAME, &mod);
	if (ret == 0) {
		ret = k->kmod_module_remove_module(mod, 0);
		/* libkmod never waits: a module in use answers EAGAIN. */
		if (ret == -EAGAIN)
			ret = -EBUSY;
		if (ret < 0)
			vfmig_err_set(err, ret, "module unload: %s%s", strerror(-ret),
				      ret == -EBUSY ? " (a vfmig device is still open)" : "");
	} else {
		vfmig_err_set(err, ret, "module unload: %s", strerror(-ret));
	}
	k->kmod_module_unref(mod);
	k->kmod_unref(ctx);
	return ret;
}

int vfmig_module_default_path(char *buf, size_t len)
{
	const char *env = getenv("VFMIG_MODULE");
	char exe[PATH_MAX], *slash;
	struct utsname u;
	ssize_t n;
	int i;

	if (env && *env) {
		if ((size_t)snprintf(buf, len, "%s", env) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0 || uname(&u))
		return -errno;
	exe[n] = '\0';
	/* The CLI lives in <top>/user/build/vfmig: <top> is three levels up. */
	for (i = 0; i < 3; i++) {
		slash = strrchr(exe, '/');
		if (!slash)
			return -ENOENT;
		*slash = '\0';
	}
	if ((size_t)snprintf(buf, len, "%s/build/%s/vfmig.ko", exe, u.release) >= len)
		return -ENAMETOOLONG;
	return access(buf, R_OK) ? -ENOENT : 0;
}
