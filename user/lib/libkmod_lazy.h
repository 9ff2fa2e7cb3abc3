/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libkmod, opened on first use instead of linked.  Its dependencies
 * (libcrypto, libzstd, liblzma on Debian) cost every process start ~70 ms
 * under TCG, and only `vfmig module load|unload` needs them: a migration
 * should not pay for them.  The entry points keep libkmod's names.
 */
#ifndef VFMIG_LIBKMOD_LAZY_H
#define VFMIG_LIBKMOD_LAZY_H

#include <libkmod.h>

#include "errbuf.h"

#define VFMIG_LIBKMOD_SONAME	"libkmod.so.2"

struct vfmig_libkmod {
	__typeof__(kmod_new) *kmod_new;
	__typeof__(kmod_unref) *kmod_unref;
	__typeof__(kmod_set_log_priority) *kmod_set_log_priority;
	__typeof__(kmod_list_next) *kmod_list_next;
	__typeof__(kmod_module_new_from_lookup) *kmod_module_new_from_lookup;
	__typeof__(kmod_module_new_from_name) *kmod_module_new_from_name;
	__typeof__(kmod_module_new_from_path) *kmod_module_new_from_path;
	__typeof__(kmod_module_get_module) *kmod_module_get_module;
	__typeof__(kmod_module_get_path) *kmod_module_get_path;
	__typeof__(kmod_module_get_info) *kmod_module_get_info;
	__typeof__(kmod_module_info_get_key) *kmod_module_info_get_key;
	__typeof__(kmod_module_info_get_value) *kmod_module_info_get_value;
	__typeof__(kmod_module_info_free_list) *kmod_module_info_free_list;
	__typeof__(kmod_module_probe_insert_module) *kmod_module_probe_insert_module;
	__typeof__(kmod_module_insert_module) *kmod_module_insert_module;
	__typeof__(kmod_module_remove_module) *kmod_module_remove_module;
	__typeof__(kmod_module_unref) *kmod_module_unref;
	__typeof__(kmod_module_unref_list) *kmod_module_unref_list;
};

/* libkmod's entry points, or NULL with the reason in err. */
const struct vfmig_libkmod *vfmig_libkmod(struct vfmig_err *err);

#endif /* VFMIG_LIBKMOD_LAZY_H */
