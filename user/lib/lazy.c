// SPDX-License-Identifier: GPL-2.0
/* Shared libraries opened on first use (see lazy.h). */
#include <dlfcn.h>
#include <stdio.h>

#include "lazy.h"

static void lazy_load(struct vfmig_lazy *l)
{
	/* Never closed: the process keeps it, as if it were linked. */
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		snprintf(l->error, sizeof(l->error), "%s", dlerror());
		return;
	}
	for (size_t i = 0; i < l->nsyms; i++) {
		void *f = dlsym(h, l->syms[i].name);

		if (!f) {
			snprintf(l->error, sizeof(l->error), "%s: no symbol %s", l->soname,
				 l->syms[i].name);
			return;
		}
		/* POSIX guarantees a function pointer survives the round trip via void *. */
		*(void **)((char *)l->table + l->syms[i].offset) = f;
	}
	l->loaded = 1;
}

const void *vfmig_lazy_get(struct vfmig_lazy *l)
{
	int loaded;

	pthread_mutex_lock(&l->lock);
	if (!l->tried) {
		l->tried = 1;
		lazy_load(l);
	}
	loaded = l->loaded;
	pthread_mutex_unlock(&l->lock);
	return loaded ? l->table : NULL;
}
