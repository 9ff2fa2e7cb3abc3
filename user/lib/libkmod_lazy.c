// SPDX-License-Identifier: GPL-2.0
/* libkmod opened with dlopen() on first use; see libkmod_lazy.h. */
#include <errno.h>

#include "lazy.h"
#include "libkmod_lazy.h"

static struct vfmig_libkmod api;

#define SYM(name) VFMIG_LAZY_SYM(struct vfmig_libkmod, name)

static const struct vfmig_lazy_sym syms[] = {
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

static struct vfmig_lazy lib = VFMIG_LAZY_INIT(VFMIG_LIBKMOD_SONAME, syms, &api);

const struct vfmig_libkmod *vfmig_libkmod(struct vfmig_err *err)
{
	const struct vfmig_libkmod *k = vfmig_lazy_get(&lib);

	if (!k)
		vfmig_err_set(err, -ENOSYS, "cannot use libkmod: %s", lib.error);
	return k;
}
