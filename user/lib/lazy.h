/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A shared library opened with dlopen() on first use instead of linked:
 * every library a process links costs its start under TCG (libzstd and
 * liblz4 together ~30 ms of a 40 ms empty process, libkmod's dependencies
 * ~70 ms), and most commands need none of them.  The caller describes a
 * table of function pointers; vfmig_lazy_get() fills it once.
 */
#ifndef VFMIG_LAZY_H
#define VFMIG_LAZY_H

#include <pthread.h>
#include <stddef.h>

struct vfmig_lazy_sym {
	const char *name;
	size_t offset;		/* of its pointer in the table */
};

struct vfmig_lazy {
	const char *soname;
	const struct vfmig_lazy_sym *syms;
	size_t nsyms;
	void *table;
	/* Set on the first call, under lock. */
	pthread_mutex_t lock;
	int tried, loaded;
	char error[256];
};

#define VFMIG_LAZY_SYM(type, name)	{ #name, offsetof(type, name) }
#define VFMIG_LAZY_INIT(so, s, t) { \
	.soname = (so), .syms = (s), .nsyms = sizeof(s) / sizeof((s)[0]), .table = (t), \
	.lock = PTHREAD_MUTEX_INITIALIZER }

/* The filled table, or NULL with the reason (dlerror's, or a missing symbol) in l->error. */
const void *vfmig_lazy_get(struct vfmig_lazy *l);

#endif /* VFMIG_LAZY_H */
