// SPDX-License-Identifier: GPL-2.0
/* libkmod opened with dlopen() on first use; see libkmod_lazy.h. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#include "libkmod_lazy.h"

static struct vfmig_libkmod api;
static char load_error[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

#define SYM(name) { #name, offsetof(struct vfmig_libkmod, name) }

static const struct {
	const char *name;
	size_t offset;
} syms[] = {
	SYM(kmod_new),
	SYM(kmod_unref),
	SYM(kmod_set_log_priority),
	SYM(kmod_list_next),
	SYM(kmod_module_new_from_lookup),
	SYM(kmod_module_new_from_name),
	SYM(kmod_module_new_from_path),
	SYM(kmod_module_get_module),
	SYM(kmod_module_get_path),
	SYM(kmod_module_get_info),
	SYM(kmod_module_info_get_key),
	SYM(kmod_module_info_get_value),
	SYM(kmod_module_info_free_list),
	SYM(kmod_module_probe_insert_module),
	SYM(kmod_module_insert_module),
	SYM(kmod_module_remove_module),
	SYM(kmod_module_unref),
	SYM(kmod_module_unref_list),
};

static void load(void)
{
	/* Never closed: the process keeps it, as if it were linked. */
	void *h = dlopen(VFMIG_LIBKMOD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(load_error, sizeof(load_error), "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h, syms[i].name);

		if (!f) {
			snprintf(load_error, sizeof(load_error), "%s: no symbol %s",
				 VFMIG_LIBKMOD_SONAME, syms[i].name);
			return;
		}
		/* POSIX guarantees a function pointer survives the round trip via void *. */
		*(void **)((char *)&api + syms[i].offset) = f;
	}
	loaded = 1;
}

const struct vfmig_libkmod *vfmig_libkmod(struct vfmig_err *err)
{
	pthread_once(&once, load);
	if (loaded)
		return &api;
	vfmig_err_set(err, -ENOSYS, "cannot use libkmod: %s", load_error);
	return NULL;
}
